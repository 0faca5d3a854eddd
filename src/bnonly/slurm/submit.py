"""`python -m bnonly.slurm submit`: one SLURM array for the grid cells DVC has not got (submitit).

Plans the cells (``cells.plan``), refuses when the workspace has uncommitted changes to anything they
depend on (the tasks check out the commit, so they would train other code), snapshots the grid files,
and submits one array task per missing cell (``task.CellTask``), preceded by a preparation job when the
shared stages (``grid_recipe``, ``grid_prepare``) are not known yet, and followed, with ``--then-repro``,
by a ``dvc repro`` job in the workspace that runs once every task succeeded (``afterok``).
"""
from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bnonly.slurm import cells as planner
from bnonly.slurm.records import WorkDir, write_json
from bnonly.slurm.task import STOP_WAIT_S, CellTask, TaskSettings

JOB_NAME = 'bnonly-grid'
PREPARE = planner.Cell('grid_prepare', ('grid_prepare',))


class SubmitError(RuntimeError):
    pass


def minutes(text: str) -> int:
    """A SLURM time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS) in whole minutes."""
    match = re.fullmatch(r'(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?', text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f'not a SLURM time limit: {text!r} (e.g. 90, 4:00:00, 1-12:00:00)')
    days, a, b, c = match.groups()
    if days is not None:                       # D-HH[:MM[:SS]]
        seconds = int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0)
    elif c is not None:                        # HH:MM:SS
        seconds = int(a) * 3600 + int(b) * 60 + int(c)
    else:                                      # MM[:SS]
        seconds = int(a) * 60 + int(b or 0)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f'time limit must be positive: {text!r}')
    return math.ceil(seconds / 60)


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError(f'--sbatch takes KEY=VALUE (e.g. qos=high), not {text!r}')
    return key.strip().lstrip('-'), value


def workspace_root(path: Path) -> Path:
    out = subprocess.run(['git', 'rev-parse', '--show-toplevel'], cwd=path, capture_output=True, text=True)
    if out.returncode != 0:
        raise SubmitError(f'{path} is not inside a git repository')
    return Path(out.stdout.strip()).resolve()


def git(root: Path, *args: str) -> str:
    return subprocess.run(['git', *args], cwd=root, check=True, capture_output=True, text=True).stdout


def dirty_sources(root: Path, sources: list[str], grid_files: list[str]) -> list[str]:
    """The cells' git-side dependencies with uncommitted changes; the grid files travel, so they may differ."""
    out = git(root, 'status', '--porcelain', '--untracked-files=all', '--', *sources)
    paths = sorted({line[3:].split(' -> ')[-1] for line in out.splitlines() if line.strip()})
    return [path for path in paths if path not in grid_files]


def release_locks(root: Path, stages: set[str]) -> None:
    """Drop the dvc.lock entries of ``stages``: those of the cells DVC has only in its run-cache or not at all.
    Such an entry records outputs that the cache lacks, and DVC restores a stage from its run-cache only where
    the lock does not record other outputs: with the entry kept, the workspace's `dvc repro` after the array
    would train the cell again, as it would every cell trained on other hardware than the committed lock's (a
    timing in metrics.json alone makes the outputs differ)."""
    from dvc.utils.serialize import modify_yaml

    lock = root / 'dvc.lock'
    if not lock.exists():
        return
    with modify_yaml(lock) as data:
        recorded = data.get('stages') or {}
        for name in stages & set(recorded):
            del recorded[name]


def dvc_cache_dir(root: Path) -> Path:
    dvc = Path(sys.executable).parent / 'dvc'
    out = subprocess.run([str(dvc), 'cache', 'dir'], cwd=root, check=True, capture_output=True, text=True)
    return Path(root, out.stdout.strip()).resolve()


def executor_parameters(args: argparse.Namespace, count: int) -> dict:
    """submitit's SlurmExecutor parameters for the array (``slurm_`` prefixes dropped)."""
    # A task whose dependency failed (the preparation job, or a task before --then-repro) leaves the queue
    # instead of waiting forever.
    extra = {'kill-on-invalid-dep': 'yes', **dict(args.sbatch)}
    params = dict(job_name=JOB_NAME, time=args.time, cpus_per_task=args.cpus_per_task,
                  signal_delay_s=args.signal_delay, stderr_to_stdout=True,
                  array_parallelism=args.max_parallel or max(count, 1), additional_parameters=extra)
    if args.partition:
        params['partition'] = args.partition
    if args.account:
        params['account'] = args.account
    if args.mem:
        params['mem'] = args.mem
    if args.gpus_per_task:
        params['gpus_per_task'] = args.gpus_per_task
    return params


def _executor(folder: Path, params: dict, max_requeues: int):
    import submitit
    executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=max_requeues)
    executor.update_parameters(**params)
    return executor


def sbatch_text(params: dict, folder: Path, count: int) -> str:
    """The #SBATCH header submitit writes for this array (without submitting)."""
    from submitit.slurm.slurm import _make_sbatch_string
    text = _make_sbatch_string(command='python -u -m submitit.core._submit <folder>', folder=folder,
                               map_count=count, **params)
    return '\n'.join(line for line in text.splitlines() if line.startswith('#SBATCH'))


def _new_id(work: WorkDir, commit: str) -> str:
    stamp = time.strftime('%Y%m%d-%H%M%S')
    ident, n = f'{stamp}-{commit[:7]}', 1
    while work.submission(ident).exists():
        n += 1
        ident = f'{stamp}-{commit[:7]}-{n}'
    return ident


def repro_workspace(workspace: str) -> None:
    """The --then-repro job: `dvc repro` in the workspace (restores every finished cell, then aggregates)."""
    dvc = Path(sys.executable).parent / 'dvc'
    subprocess.run([str(dvc), 'repro'], cwd=workspace, check=True)


def submit(args: argparse.Namespace) -> int:
    if args.signal_delay < STOP_WAIT_S + 5:
        raise SubmitError(f'--signal-delay {args.signal_delay} leaves a stopped training too little time to save '
                          f'(at least {STOP_WAIT_S + 5} s)')
    root = workspace_root(Path(args.workspace))
    work = WorkDir(Path(args.work_dir) if args.work_dir else root / '.slurm')
    started = time.monotonic()
    plan = planner.plan(root, args.cells)
    dirty = dirty_sources(root, plan.sources, plan.grid_files)
    if dirty:
        message = (f"uncommitted changes to {', '.join(dirty[:5])}{' …' if len(dirty) > 5 else ''}, which the "
                   f"cells depend on: commit them first (tasks run the committed code)")
        if not args.dry_run:
            raise SubmitError(message)
        print(f'warning: submit would refuse: {message}')
    have = len(plan.cells) - len(plan.missing)
    print(f'{len(plan.cells)} grid cells{f" matching {args.cells!r}" if args.cells else ""}: {have} in DVC '
          f'already, {len(plan.missing)} to run (planned in {time.monotonic() - started:.1f} s)')
    if not args.dry_run:
        release_locks(root, {name for name, state in plan.stage_state.items() if state in ('run-cache', 'missing')})
    if not plan.missing:
        print('nothing to submit')
        return 0
    commit = git(root, 'rev-parse', 'HEAD').strip()
    params = executor_parameters(args, len(plan.missing))
    if args.dry_run:
        for cell in plan.missing:
            print(f"  {' + '.join(cell.stages)}")
        if not plan.shared_ready:
            print('  (first, one preparation job: dvc repro grid_prepare)')
        print(f'one array of {len(plan.missing)} tasks at commit {commit[:10]}, '
              f'work dir {work.root}:')
        print(sbatch_text(params, work.logs('<id>'), len(plan.missing)))
        if args.then_repro:
            print('then: dvc repro in the workspace, after every task succeeded (afterok)')
        return 0

    work.create()
    ident = _new_id(work, commit)
    snapshot = work.grid_snapshot(ident)
    for name in plan.grid_files:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, snapshot / name)
    settings = TaskSettings(workspace=str(root), commit=commit, cache_dir=str(dvc_cache_dir(root)),
                            work_dir=str(work.root), submission=ident, cpus=args.cpus_per_task,
                            max_requeues=args.max_requeues)
    Path(settings.cache_dir).mkdir(parents=True, exist_ok=True)
    task = CellTask(settings)
    folder = work.logs(ident)
    record = dict(id=ident, created=time.time(), commit=commit, workspace=str(root), work_dir=str(work.root),
                  pattern=args.cells, sbatch={k: v for k, v in params.items() if k != 'additional_parameters'},
                  additional_parameters=params['additional_parameters'], max_requeues=args.max_requeues,
                  prepare=None, array_job_id=None, repro_job_id=None,
                  cells=[dict(name=cell.name, slug=cell.slug, stages=list(cell.stages)) for cell in plan.missing])

    if not plan.shared_ready:
        prepare = _executor(folder, {**params, 'job_name': f'{JOB_NAME}-prepare'}, args.max_requeues)
        job = prepare.submit(task, PREPARE)
        record['prepare'] = dict(name=PREPARE.name, slug=PREPARE.slug, stages=list(PREPARE.stages),
                                 job_id=job.job_id, log=str(job.paths.stdout))
        params['additional_parameters'] = {**params['additional_parameters'], 'dependency': f'afterok:{job.job_id}'}
    executor = _executor(folder, params, args.max_requeues)
    jobs = executor.map_array(task, plan.missing)
    record['array_job_id'] = jobs[0].job_id.split('_')[0]
    for cell, job in zip(record['cells'], jobs):
        cell['job_id'] = job.job_id
        cell['log'] = str(job.paths.stdout)
    if args.then_repro:
        repro = _executor(folder, {**params, 'job_name': f'{JOB_NAME}-repro',
                                   'additional_parameters': {**params['additional_parameters'],
                                                             'dependency': f"afterok:{record['array_job_id']}"}},
                          0)
        record['repro_job_id'] = repro.submit(repro_workspace, str(root)).job_id
    write_json(work.submission(ident), record)
    print(f"submitted array job {record['array_job_id']}: {len(jobs)} tasks (submission {ident}; "
          f"`python -m bnonly.slurm status`)")
    if args.wait:
        from bnonly.slurm.status import wait
        return wait(work, ident)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--cells', metavar='REGEX', default=None,
                        help='only the cells one of whose stage names matches (re.search); default: every cell')
    parser.add_argument('--partition', default=None, help="SLURM partition (default: the cluster's default)")
    parser.add_argument('--account', default=None, help="SLURM account (default: the user's default)")
    parser.add_argument('--time', type=minutes, default=minutes('4:00:00'), metavar='LIMIT',
                        help='time limit of each task, SLURM format (default 4:00:00); a task stopped by it '
                             'saves its state and is requeued')
    parser.add_argument('--gpus-per-task', type=int, default=0, help='GPUs per task (default 0)')
    parser.add_argument('--cpus-per-task', type=int, default=4,
                        help='CPUs per task (default 4); torch uses as many threads (OMP_NUM_THREADS)')
    parser.add_argument('--mem', default=None, help="memory per task, e.g. 16G (default: the cluster's default)")
    parser.add_argument('--max-parallel', type=int, default=0, metavar='N',
                        help='at most N tasks at once (the array %%N limit; default 0: no limit)')
    parser.add_argument('--sbatch', type=key_value, action='append', default=[], metavar='KEY=VALUE',
                        help='any other sbatch option, e.g. --sbatch qos=high (repeatable)')
    parser.add_argument('--signal-delay', type=int, default=120, metavar='SECONDS',
                        help='SIGUSR2 this long before the time limit, to save and requeue (default 120; '
                             f'at least {STOP_WAIT_S + 5})')
    parser.add_argument('--max-requeues', type=int, default=3,
                        help='requeue a stopped task at most this many times (default 3)')
    parser.add_argument('--dry-run', action='store_true', help='print the cells and the job; submit nothing')
    parser.add_argument('--wait', action='store_true', help='show a progress bar until the array ends (with --then-repro, then wait for that job)')
    parser.add_argument('--then-repro', action='store_true',
                        help='also submit `dvc repro` in the workspace, run once every task succeeded')
    parser.add_argument('--workspace', default='.', help='the DVC workspace (default: the current folder)')
    parser.add_argument('--work-dir', default=None,
                        help='shared folder for clones, logs and records (default: <workspace>/.slurm)')
