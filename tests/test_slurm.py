"""The grid on a real SLURM cluster through `python -m bnonly.slurm` (docs/pipeline.md, "Scaling out").

Needs `sbatch` and a running cluster: `scripts/slurm/start-local-slurm.sh` starts a one-node one on this
machine (.ci/run does before `make test`). Without `sbatch` the slurm tests skip, except under CI=true, where
they fail.

One tiny grid (ResNet-14 bn_only, trained and analysed, and Figure 1's all_but_bn; seeds 0 and 1; 4,096 images, two
epochs) is submitted once; while it runs, one task is requeued with `scontrol requeue` after its first epoch, and
another is sent SIGUSR2 as before a time limit (submitit requeues it). Then: every cell equals a local `dvc repro`
of the same cell in a clone with its own cache; the requeued tasks resumed (their logs say from where) and ended
bit-identical; the workspace's `dvc repro` restores every cell and trains none, also when its lock records another
run of the cells; a second submit submits nothing; a run with bad params fails alone and `status` shows its error,
the `dvc repro` job of --then-repro is cancelled, and the next submit plans exactly the failed cells. A dry run
plans the paper's CIFAR-10 grid in seconds. The parts that need no cluster are tests/test_slurm_units.py's.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dvc_repo import DvcRepo, dvc_env, merged_params
from fake_datasets import write_fashion_mnist
from test_paper_pipeline import tiny_params

from bnonly.slurm.cells import grid_cells
from bnonly.slurm.records import WorkDir
from bnonly.slurm.status import collect

TIMING = ('train_seconds', 'images_per_second')
GOOD = ['grid_train@cifar_resnet14-bn_only-0', 'grid_train@cifar_resnet14-bn_only-1',
        'grid_train@cifar_resnet14-all_but_bn-fixed-0', 'grid_train@cifar_resnet14-all_but_bn-fixed-1']
# Stopped after their first epoch, then requeued: as on preemption (SIGTERM, SLURM requeues), and as before
# the time limit (SIGUSR2 through submitit's checkpoint, which requeues).
STOPS = {'grid_train@cifar_resnet14-bn_only-0': ['scontrol', 'requeue'],
         'grid_train@cifar_resnet14-bn_only-1': ['scancel', '--signal=USR2']}
STOP_MARKS = ('DUE TO JOB REQUEUE', 'Caught signal SIGUSR2', 'train: stopped by')
BAD_RUN = 'cifar_resnet14-random_k-k100000'        # random_k with more entries than a channel has: fails in training
TRAIN_EXAMPLES = 4096
SUBMIT = ('--cpus-per-task', '1', '--time', '15', '--signal-delay', '60')


def _require_slurm() -> None:
    problem = None
    if shutil.which('sbatch') is None:
        problem = 'sbatch is not on PATH'
    elif subprocess.run(['sinfo', '--noheader'], capture_output=True, timeout=30).returncode != 0:
        problem = 'sinfo cannot reach slurmctld'
    if problem:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'{problem}: CI must start SLURM first (bash scripts/slurm/start-local-slurm.sh)')
        pytest.skip(f'no SLURM cluster: {problem} (bash scripts/slurm/start-local-slurm.sh starts one)')


def slurm(repo: DvcRepo, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return repo.run(sys.executable, '-m', 'bnonly.slurm', *args, check=check)


def wait_until(condition, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')


def wait_for_cells(work: WorkDir, names, timeout: float = 300) -> dict:
    def finished():
        states = {s.cell: s for s in collect(work) if s.cell in names}
        return states if len(states) == len(names) and all(s.finished for s in states.values()) else None
    return wait_until(finished, timeout, f'cells {sorted(names)} to end', poll=1.0)


def job_state(job: str) -> str:
    return subprocess.run(['scontrol', 'show', 'job', job], capture_output=True, text=True).stdout


def requeue_state(job: str) -> str:
    """'running' before any requeue, 'requeueing' while SLURM ends the attempt, 'held' while the requeued job
    waits for its begin time, 'restarted' once it runs (or ran) again."""
    text = job_state(job)
    restarts = re.search(r'\bRestarts=(\d+)', text)
    if not restarts or restarts.group(1) == '0':
        return 'running'
    if 'Reason=BeginTime' in text:
        return 'held'
    return 'requeueing' if re.search(r'JobState=(PENDING|COMPLETING|REQUEUE)', text) else 'restarted'


def latest_submission(work: WorkDir) -> dict:
    return work.submissions()[-1]


def cell_metrics(root: Path, stage: str) -> dict:
    """A cell's train and analysis metrics without their timings, and its model's md5 from dvc.lock."""
    item = stage.split('@')[1]
    folder = root / 'results/grid' / item
    train = json.loads((folder / 'train' / 'metrics.json').read_text())
    metrics = {'train': {k: v for k, v in train.items() if k not in TIMING}}
    if (folder / 'analyze' / 'metrics.json').is_file():
        metrics['analyze'] = json.loads((folder / 'analyze' / 'metrics.json').read_text())
    lock = yaml.safe_load((root / 'dvc.lock').read_text())['stages'][stage]
    metrics['model_md5'] = {out['path']: out['md5'] for out in lock['outs'] if out['path'].endswith('model.pt')}
    return metrics


def tiny_slurm_params(raw: Path) -> dict:
    params = tiny_params(raw)
    grid = params['grid']
    grid.update(runs=['cifar_resnet14-bn_only', 'cifar_resnet14-all_but_bn-fixed'],
                analyze_runs=['cifar_resnet14-bn_only'], seeds=[0, 1])
    # The second epoch (about 10 s on a 2-core machine) outlasts a stop's way through SLURM (a few seconds, more
    # under load), so the stop sent when the first epoch ends lands in the second, never after the last.
    grid['train'].update(epochs=2, examples=TRAIN_EXAMPLES, batch_size=32)
    return params


@pytest.fixture(scope='module')
def submitted(tmp_path_factory):
    """The tiny grid submitted once, two tasks stopped after their first epoch and requeued, every task ended."""
    _require_slurm()
    base = tmp_path_factory.mktemp('slurm')
    write_fashion_mnist(base / 'raw', train=TRAIN_EXAMPLES, test=64)
    repo = DvcRepo.create(base / 'workspace', tiny_slurm_params(base / 'raw'))
    local = repo.copy(base / 'local')          # the same commit with its own (empty) cache
    work = WorkDir(repo.root / '.slurm')

    out = slurm(repo, 'submit', *SUBMIT).stdout
    assert '4 grid cells: 0 in DVC already, 4 to run' in out, out
    # The same cells reproduced locally, side by side with the array: a clone with its own cache.
    names = repo.run('dvc', 'stage', 'list', '--name-only').stdout.split()
    local_stages = [stage for cell in grid_cells(names) if cell.name in GOOD for stage in cell.stages]
    local_run = subprocess.Popen(['dvc', 'repro', *local_stages], cwd=local.root, env=dvc_env(local.root),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    submission = latest_submission(work)
    assert submission['prepare'] is not None        # grid_prepare ran nowhere yet: one preparation job first
    jobs = {cell['name']: cell['job_id'] for cell in submission['cells']}
    logs = {cell['name']: Path(cell['log']) for cell in submission['cells']}
    # Each stop is started, not awaited: scancel signals the task at once but retries a request slurmctld
    # refuses ("try again later", while the job changes state) for minutes, and the other job's stop must not
    # wait for it. A stop is sent again only when the last one ended and the task's log shows no effect.
    waiting, sending, seen = dict(STOPS), {}, {}
    deadline = time.monotonic() + 300
    while waiting and time.monotonic() < deadline:
        for name in list(waiting):
            text = logs[name].read_text() if logs[name].is_file() else ''
            last = sending.get(name)
            if any(mark in text for mark in STOP_MARKS):
                del waiting[name]
            elif re.search(r'^epoch 1/2', text, re.M) and \
                    (last is None or (last[0].poll() is not None and time.monotonic() - last[1] > 5)):
                seen.setdefault('running', {s.cell: s for s in collect(work)}[name])
                sending[name] = (subprocess.Popen([*waiting[name], jobs[name]], stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL), time.monotonic())
        time.sleep(0.2)
    for process, _ in sending.values():
        process.kill()
        process.wait()
    assert not waiting, f'could not stop {sorted(waiting)} after its first epoch'
    # SLURM holds a requeued batch job for two minutes before it may start again; the test does not wait, and
    # follows both jobs at once (one after the other, the second's hold could end before the test looked).
    requeueing = set(STOPS)
    deadline = time.monotonic() + 300
    while requeueing and time.monotonic() < deadline:
        for name in sorted(requeueing):
            state = requeue_state(jobs[name])
            if state == 'held':
                seen.setdefault('requeued', {s.cell: s for s in collect(work)}[name])
                # An update sent while SLURM still finishes the requeue can be overwritten: sent until it holds.
                subprocess.run(['scontrol', 'update', f'JobId={jobs[name]}', 'StartTime=now'], capture_output=True)
            elif state == 'restarted':
                requeueing.discard(name)
        time.sleep(0.5)
    assert not requeueing, '\n\n'.join(f'{name} was not requeued and restarted:\n{job_state(jobs[name])}\n'
                                         f'{logs[name].read_text()[-3000:] if logs[name].is_file() else ""}'
                                         for name in sorted(requeueing))
    statuses = wait_for_cells(work, set(GOOD))

    local_out, _ = local_run.communicate(timeout=600)
    assert local_run.returncode == 0, local_out
    assert {line.split("'")[1] for line in local_out.splitlines() if line.startswith("Running stage '")} >= \
        set(local_stages)
    return dict(repo=repo, local=local, work=work, statuses=statuses, logs=logs, submission=submission,
                seen=seen)


@pytest.mark.slow
@pytest.mark.slurm
def test_every_cell_matches_a_local_repro(submitted):
    repo, local = submitted['repo'], submitted['local']
    assert {name: s.state for name, s in submitted['statuses'].items()} == {name: 'done' for name in GOOD}
    # No task wrote to the workspace: its results, lock file and git status are as the commit left them.
    assert not (repo.root / 'dvc.lock').exists() and not (repo.root / 'results').exists()
    assert repo.run('git', 'status', '--porcelain').stdout == ''
    ran = repo.repro('claims')
    assert not {name for name in ran if '@' in name}, ran        # every cell restored from the run-cache
    for stage in GOOD:
        assert cell_metrics(repo.root, stage) == cell_metrics(local.root, stage), stage
    work = submitted['work']
    assert not any(work.clone(cell['slug']).exists() for cell in submitted['submission']['cells'])
    assert not any((work.root / 'scratch').glob('*/train/*/last.pt'))       # scratch gone once cached


@pytest.mark.slow
@pytest.mark.slurm
def test_a_lock_from_another_run_is_released_and_the_cells_restored(submitted):
    """The workspace's lock records the local clone's run of the same cells: the same models, other timings in
    metrics.json, outputs this cache lacks (as a lock committed from another machine's run). submit finds the
    cells in the run-cache, submits nothing and drops those entries, so `dvc repro` restores every cell."""
    repo, local = submitted['repo'], submitted['local']
    ours = yaml.safe_load((repo.root / 'dvc.lock').read_text())
    theirs = yaml.safe_load((local.root / 'dvc.lock').read_text())['stages']
    for stage in GOOD:
        assert theirs[stage] != ours['stages'][stage], stage
        ours['stages'][stage] = theirs[stage]
    (repo.root / 'dvc.lock').write_text(yaml.safe_dump(ours, sort_keys=False))
    out = slurm(repo, 'submit', *SUBMIT).stdout
    assert '4 in DVC already, 0 to run' in out and 'nothing to submit' in out, out
    assert not set(GOOD) & set(yaml.safe_load((repo.root / 'dvc.lock').read_text())['stages'])
    ran = repo.repro('claims')
    assert not {name for name in ran if '@' in name}, ran
    assert len(submitted['work'].submissions()) == 1


@pytest.mark.slow
@pytest.mark.slurm
def test_status_follows_a_task_through_its_requeue(submitted):
    running, requeued = submitted['seen']['running'], submitted['seen']['requeued']
    assert (running.state, running.detail) == ('running', 'epoch 1 of 2'), running
    assert (requeued.state, requeued.detail) == ('requeued', '1 time, pending'), requeued


@pytest.mark.slow
@pytest.mark.slurm
@pytest.mark.parametrize('cell', sorted(STOPS))
def test_requeued_task_resumes_and_ends_bit_identical(submitted, cell):
    text = submitted['logs'][cell].read_text()
    signal = 'SIGUSR2' if STOPS[cell][0] == 'scancel' else 'SIGTERM'
    assert 'DUE TO JOB REQUEUE' in text and f'train: stopped by {signal}' in text, text[-3000:]
    resumed = re.search(r'^resuming from \S+ after (epoch 1|step \d+ of epoch 2)$', text, re.M)
    assert resumed, text[-3000:]
    status = submitted['statuses'][cell]
    assert status.state == 'done' and status.detail == 'requeued 1 time'
    assert cell_metrics(submitted['repo'].root, cell) == cell_metrics(submitted['local'].root, cell)


@pytest.mark.slow
@pytest.mark.slurm
def test_second_submit_submits_nothing(submitted):
    out = slurm(submitted['repo'], 'submit', *SUBMIT).stdout
    assert '4 in DVC already, 0 to run' in out and 'nothing to submit' in out, out
    assert len(submitted['work'].submissions()) == 1


@pytest.mark.slow
@pytest.mark.slurm
def test_submit_refuses_uncommitted_code(submitted):
    repo = submitted['repo']
    source = repo.root / 'stages' / 'train.py'
    original = source.read_text()
    source.write_text(original + '\n# an uncommitted edit\n')
    try:
        result = slurm(repo, 'submit', *SUBMIT, check=False)
    finally:
        source.write_text(original)
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0
    assert 'uncommitted changes to stages/train.py' in result.stderr


@pytest.mark.slow
@pytest.mark.slurm
def test_bad_cell_fails_alone_and_status_shows_why(submitted):
    repo, work = submitted['repo'], submitted['work']
    grid_file = repo.root / 'grid.yaml'
    original = grid_file.read_text()
    params = merged_params(repo.root)
    params['grid']['runs'] = [*params['grid']['runs'], BAD_RUN]
    repo.write_params(params)                        # grid.yaml changed, not committed: the tasks take it along
    try:
        waited = slurm(repo, 'submit', '--wait', '--then-repro', *SUBMIT, check=False)
        bad = [f'grid_train@{BAD_RUN}-0', f'grid_train@{BAD_RUN}-1']
        assert '6 grid cells: 4 in DVC already, 2 to run' in waited.stdout, waited.stdout
        submission = latest_submission(work)
        assert [cell['name'] for cell in submission['cells']] == bad
        assert waited.returncode == 1 and '2/2' in waited.stderr        # --wait: the bar ran to the end
        # --then-repro's `dvc repro` waits for every task to succeed: with failed tasks SLURM cancels it.
        wait_until(lambda: 'JobState=CANCELLED' in job_state(submission['repro_job_id']), 60,
                   'the dvc repro job to be cancelled')
        statuses = {s.cell: s for s in collect(work)}
        for name in bad:
            assert statuses[name].state == 'failed'
            assert work.clone(statuses[name].cell.replace('@', '.')).is_dir()     # kept for a look
        for name in GOOD:
            assert statuses[name].state == 'done'
        shown = slurm(repo, 'status').stdout
        for name in bad:
            assert re.search(rf'^{re.escape(name)}  failed \(dvc repro exited with \d+\)$', shown, re.M), shown
        assert 'random_k needs 1 <= k' in shown
        assert 'kept clone: ' in shown
        again = slurm(repo, 'submit', '--dry-run', *SUBMIT).stdout
        assert '6 grid cells: 4 in DVC already, 2 to run' in again
        assert sorted(line.strip() for line in again.splitlines() if line.startswith('  grid_')) == bad
    finally:
        grid_file.write_text(original)


@pytest.mark.slow
def test_dry_run_plans_the_paper_cifar10_grid_in_seconds(tmp_path):
    params = merged_params()
    params['grid'] = yaml.safe_load((Path(__file__).parents[1] / 'params' / 'paper_cifar10.yaml').read_text())['grid']
    repo = DvcRepo.create(tmp_path / 'workspace', params)
    names = repo.run('dvc', 'stage', 'list', '--name-only').stdout.split()
    expected = grid_cells(names)
    started = time.monotonic()
    out = slurm(repo, 'submit', '--dry-run').stdout
    seconds = time.monotonic() - started
    planned = [line.strip().split(' + ')[0] for line in out.splitlines() if line.startswith('  grid_')]
    grid = params['grid']
    assert len(expected) == len(grid['runs']) * len(grid['seeds'])
    assert planned == [cell.name for cell in expected]
    assert f'#SBATCH --array=0-{len(planned) - 1}%{len(planned)}' in out
    assert seconds < 60, seconds
    assert not (repo.root / '.slurm').exists()          # a dry run writes nothing
