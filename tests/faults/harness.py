"""The fault suite's harness: the tiny project, commands run in their own process group, and the checks that a
recovered run matches the uninterrupted one.

Fault injection, for real: signals to real processes, files altered on disk, a real tmpfs, real `dvc`.

Every test works on its own copy of a tiny single-experiment project (tests/dvc_repo.py) taken at one of four
points of one reproduction, so that each fault costs only the stages it is about:

- ``fresh``:      nothing run yet (the prepare stage's faults);
- ``prepared``:   `dvc repro prepare` done (the training faults);
- ``trained``:    `dvc repro train` done (the analysis faults);
- ``reference``:  `dvc repro analyze` done: the uninterrupted run every recovered run must match bit for bit.

Each point is a copy of the one before, and a copy's DVC cache holds the run-cache entries of the stages run
so far only, so a copy reruns its next stage for real instead of restoring it.

The data: a few hundred random 28x28 images in Fashion-MNIST's IDX format (tests/fake_datasets.py), ResNet-14,
2 epochs of 4 steps. ``Launched`` starts `dvc repro` in its own process group, as a terminal or a batch
system would, so that a signal can go to the group (Ctrl-C, SLURM) or to one process.
"""
import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import torch
import yaml

from dvc_repo import DvcRepo, dvc_env, merged_params

TRAIN_IMAGES, TEST_IMAGES, BATCH = 128, 32, 32
# Wall-clock figures that differ between any two runs; everything else a stage writes must match exactly.
TIMING_METRICS = ('train_seconds', 'images_per_second')
TIMING_COLUMNS = ('epoch_seconds', 'images_per_second')
# A generous bound for one tiny stage on a loaded 2-core machine (torch's import alone takes seconds).
PATIENCE = 240


def tiny_params(raw: Path) -> dict:
    params = merged_params()
    params.update(dataset='fashion_mnist', arch='cifar_resnet14', trainable='all', seed=0)
    params['data'].update(root=str(raw), verify_checksums=False)
    params['train'].update(epochs=2, batch_size=BATCH, milestones=[1], eval_batch_size=64, examples=None)
    params['analyze'].update(thresholds=[0.1])
    return params


class Launched:
    """A command (normally `dvc repro ...`) running in ``repo`` in a process group of its own, its output in a
    file (a pipe nobody reads could block it)."""

    def __init__(self, repo: DvcRepo, *command: str, env: dict | None = None):
        self.repo = repo
        self.log = repo.root.parent / f'{repo.root.name}-{time.monotonic_ns()}.log'
        with self.log.open('wb') as out:
            self.process = subprocess.Popen(command, cwd=repo.root, env={**dvc_env(repo.root), **(env or {})},
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log.read_text(errors='replace')

    def wait_for(self, condition, what: str, timeout: float = PATIENCE) -> None:
        """Poll ``condition()`` until it holds; fail naming ``what`` if the command ends or time runs out."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f'the command ended before {what}:\n{self.output}'
            assert time.monotonic() < deadline, f'no {what} within {timeout} s:\n{self.output}'
            time.sleep(0.02)

    def processes(self) -> list[psutil.Process]:
        """The live (not zombie) processes of the command's group: dvc, its shell, the stage's python."""
        alive = []
        for process in psutil.process_iter(['pid']):
            try:
                if os.getpgid(process.pid) == self.process.pid and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except (ProcessLookupError, psutil.NoSuchProcess):
                continue
        return alive

    def stage_process(self, script: str) -> psutil.Process | None:
        for process in self.processes():
            try:
                if any(part.endswith(f'stages/{script}') for part in process.cmdline()):
                    return process
            except psutil.NoSuchProcess:
                continue
        return None

    def signal_group(self, number: int) -> None:
        """As a terminal's Ctrl-C or a batch system's scancel: every process of the group."""
        os.killpg(self.process.pid, number)

    def finish(self, timeout: float = PATIENCE) -> int:
        """Wait until every process of the group has ended (a stage may outlive a killed dvc); dvc's exit code."""
        deadline = time.monotonic() + timeout
        try:
            code = self.process.wait(timeout=timeout)
            while self.processes():
                assert time.monotonic() < deadline, f'processes left after {timeout} s:\n{self.output}'
                time.sleep(0.05)
        except BaseException:
            self.kill()
            raise
        return code

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


PAUSEPOINTS = Path(__file__).resolve().parent / 'pausepoints'
STEPS_PER_EPOCH = TRAIN_IMAGES // BATCH
MID_STEP = STEPS_PER_EPOCH + STEPS_PER_EPOCH // 2   # the middle of the second (last) epoch, 0-based


class Pause:
    """A test-only pause point (pausepoints/sitecustomize.py): with ``env`` in its environment, a process
    creates ``flag`` on reaching ``phase`` and waits there until the file is removed (``release``)."""

    def __init__(self, repo: DvcRepo, phase: str):
        self.phase = phase
        self.flag = repo.root.parent / f'fault-{phase}'
        self.env = {'BNONLY_FAULT_PAUSE': phase, 'BNONLY_FAULT_FILE': str(self.flag), 'PYTHONPATH': str(PAUSEPOINTS),
                    'BNONLY_FAULT_STEP': str(MID_STEP), 'PYTHONUNBUFFERED': '1'}

    def reached(self) -> bool:
        return self.flag.exists()

    def release(self) -> None:
        self.flag.unlink(missing_ok=True)


# --- what a recovered run must match ---------------------------------------------------------------------


def model_state(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_model(path: Path, reference: Path) -> None:
    ours, theirs = model_state(path), model_state(reference)
    assert ours.keys() == theirs.keys()
    assert {k: v for k, v in ours.items() if k != 'state_dict'} == \
           {k: v for k, v in theirs.items() if k != 'state_dict'}
    assert ours['state_dict'].keys() == theirs['state_dict'].keys()
    for name, tensor in ours['state_dict'].items():
        assert torch.equal(tensor, theirs['state_dict'][name]), f'{path}: {name} differs from the uninterrupted run'


def without(record: dict, keys) -> dict:
    return {key: value for key, value in record.items() if key not in keys}


def history_rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return [without(row, TIMING_COLUMNS) for row in csv.DictReader(handle)]


def assert_same_training(repo: DvcRepo, reference: DvcRepo) -> None:
    """model.pt's tensors, metrics.json without timing, history.csv without timing, the resolved run."""
    ours, theirs = repo.root / 'results' / 'train', reference.root / 'results' / 'train'
    assert_same_model(ours / 'model.pt', theirs / 'model.pt')
    assert without(json.loads((ours / 'metrics.json').read_text()), TIMING_METRICS) == \
           without(json.loads((theirs / 'metrics.json').read_text()), TIMING_METRICS)
    assert history_rows(ours / 'history.csv') == history_rows(theirs / 'history.csv')
    assert yaml.safe_load((ours / 'config.yaml').read_text())['run'] == \
           yaml.safe_load((theirs / 'config.yaml').read_text())['run']


def assert_same_analysis(repo: DvcRepo, reference: DvcRepo) -> None:
    """metrics.json and every table, byte for byte."""
    ours, theirs = repo.root / 'results' / 'analyze', reference.root / 'results' / 'analyze'
    assert (ours / 'metrics.json').read_bytes() == (theirs / 'metrics.json').read_bytes()
    tables = sorted(p.name for p in (theirs / 'tables').iterdir())
    assert sorted(p.name for p in (ours / 'tables').iterdir()) == tables
    for name in tables:
        assert (ours / 'tables' / name).read_bytes() == (theirs / 'tables' / name).read_bytes(), name


def assert_same_prepared(repo: DvcRepo, reference: DvcRepo) -> None:
    ours, theirs = repo.root / 'data' / 'prepared', reference.root / 'data' / 'prepared'
    names = sorted(p.name for p in theirs.iterdir())
    assert sorted(p.name for p in ours.iterdir()) == names
    for name in names:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def up_to_date(repo: DvcRepo, *targets: str) -> bool:
    return 'up to date' in repo.run('dvc', 'status', *targets).stdout


# Outputs whose bytes hold wall-clock figures (metrics, history) or come from a plotting library: compared
# above field by field, or not at all.
_UNSTABLE_OUTS = ('results/train/metrics.json', 'results/train/history.csv', 'results/analyze/plots')


def assert_committed_like(repo: DvcRepo, reference: DvcRepo, stage: str) -> None:
    """dvc.lock records ``stage`` with the same dependency and output hashes as the uninterrupted run's: DVC
    finished its bookkeeping, and the next `dvc repro` would run nothing."""
    def entry(of: DvcRepo) -> dict:
        recorded = yaml.safe_load((of.root / 'dvc.lock').read_text())['stages'][stage]
        return {'deps': {d['path']: d.get('md5') for d in recorded.get('deps', [])},
                'params': recorded.get('params'),
                'outs': {o['path']: o.get('md5') for o in recorded.get('outs', []) if o['path'] not in _UNSTABLE_OUTS}}
    assert entry(repo) == entry(reference)
