"""Stopping and resuming a run: a stop mid-epoch or at an epoch's end, then a resume, ends bit-identical to a
run never stopped; states that do not belong are set aside; divergence leaves nothing claiming success; the
stage's exit code and one-line messages, with a real SIGTERM."""
import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bnonly.checkpoint import load_model
from bnonly.config import load_params
from bnonly.training import (STOPPED_EXIT_CODE, RunSpec, StopRequest, TrainingDiverged, TrainingStopped, stopped,
                             train_run)
from bnonly.training import resume
from bnonly.training.step import TrainStep

from tiny_data import tiny_spec, write_prepared

pytestmark = pytest.mark.usefixtures('single_thread')

REPO = Path(__file__).resolve().parents[1]
CPU = torch.device('cpu')
TIMING = ('train_seconds', 'images_per_second', 'epoch_seconds')
TRAIN = 160  # 5 steps of 32 per epoch


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    return write_prepared(tmp_path_factory.mktemp('data') / 'prepared', train=TRAIN, test=40)


def run(spec, prepared, tmp_path, name, *, scratch='scratch', stop=None, log=None):
    return train_run(spec, prepared, tmp_path / name, scratch_root=tmp_path / scratch, device=CPU, progress=False,
                     log=log or (lambda line: None), stop=stop)


def stop_at(spec, prepared, tmp_path, name, at, *, scratch='scratch') -> str:
    with pytest.raises(TrainingStopped) as caught:
        run(spec, prepared, tmp_path, name, scratch=scratch, stop=StopRequest(at=at))
    return str(caught.value)


def state_file(tmp_path, scratch='scratch') -> Path:
    [path] = (tmp_path / scratch / 'train').glob('*/last.pt')
    return path


def saved(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_tensors(a, b, where=''):
    """Nested dicts/lists of tensors and numbers equal bit for bit."""
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_tensors(a[key], b[key], f'{where}/{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tensors(x, y, f'{where}/{i}')
    else:
        assert a == b, where


def without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def assert_same_results(out_a: Path, out_b: Path):
    model_a, info_a = load_model(out_a / 'model.pt')
    model_b, info_b = load_model(out_b / 'model.pt')
    assert info_a == info_b
    assert_same_tensors(model_a.state_dict(), model_b.state_dict())  # weights and BN running statistics
    metrics_a, metrics_b = (json.loads((out / 'metrics.json').read_text()) for out in (out_a, out_b))
    assert without_timing([metrics_a]) == without_timing([metrics_b])
    history_a, history_b = (list(csv.DictReader((out / 'history.csv').open())) for out in (out_a, out_b))
    assert without_timing(history_a) == without_timing(history_b) and len(history_a) == 2


@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_a_stop_mid_epoch_then_resume_is_bit_identical(prepared, tmp_path, precision):
    spec = tiny_spec(precision=precision)
    # Reference: one run, stopped only at epoch 2, step 3, to compare the whole state there (momentum too).
    message = stop_at(spec, prepared, tmp_path, 'reference', (1, 3), scratch='ref')
    assert message.startswith('stopped by a stop request in epoch 2 of 2 after step 3 of 5; state saved to ')
    reference = saved(state_file(tmp_path, 'ref'))
    # Stopped twice: mid-epoch 1, then at the same point as the reference.
    message = stop_at(spec, prepared, tmp_path, 'resumed', (0, 2))
    assert f'state saved to {state_file(tmp_path)}; rerun' in message and '\n' not in message
    assert saved(state_file(tmp_path))['sums']['steps'] == 2
    stop_at(spec, prepared, tmp_path, 'resumed', (1, 3))
    state = saved(state_file(tmp_path))
    # Not cpu_rng: these networks never draw from the global RNG, so it holds whatever the test process drew.
    for key in ('model', 'optimizer', 'epoch', 'fingerprint', 'code'):
        assert_same_tensors(state[key], reference[key], key)
    state['sums'].pop('seconds'), reference['sums'].pop('seconds')
    assert_same_tensors(state['sums'], reference['sums'], 'sums')  # the epoch's running loss and accuracy
    assert state['optimizer']['state'] and all('momentum_buffer' in s for s in state['optimizer']['state'].values())
    assert without_timing(state['history']) == without_timing(reference['history'])
    # Both finish.
    lines, path = [], state_file(tmp_path)
    run(spec, prepared, tmp_path, 'resumed', log=lines.append)
    assert lines[0] == f'resuming from {path} after step 3 of epoch 2'
    assert len(lines) == 2  # the resume line and epoch 2's
    run(spec, prepared, tmp_path, 'reference', scratch='ref')
    assert_same_results(tmp_path / 'resumed', tmp_path / 'reference')
    assert not list((tmp_path / 'scratch').rglob('*.pt'))  # a finished run removes its state


def test_a_stop_at_an_epoch_end_repeats_and_skips_nothing(prepared, tmp_path):
    spec = tiny_spec()
    run(spec, prepared, tmp_path, 'full', scratch='full')
    message = stop_at(spec, prepared, tmp_path, 'resumed', (0, 5))
    assert message.startswith('stopped by a stop request after epoch 1 of 2; state saved to ')
    state = saved(state_file(tmp_path))
    assert state['epoch'] == 1 and state['sums'] is None and len(state['history']) == 1
    lines = []
    run(spec, prepared, tmp_path, 'resumed', log=lines.append)
    assert lines[0].endswith('after epoch 1') and [line.split()[1] for line in lines[1:]] == ['2/2']
    assert_same_results(tmp_path / 'resumed', tmp_path / 'full')


def test_a_stop_requested_in_the_last_step_finishes_the_run(prepared, tmp_path):
    metrics = run(tiny_spec(), prepared, tmp_path, 'out', stop=StopRequest(at=(1, 5)))
    assert (tmp_path / 'out' / 'metrics.json').is_file() and metrics['epochs'] == 2


def set_aside(tmp_path) -> list[str]:
    return sorted(p.name.split('-')[0] for p in (tmp_path / 'scratch' / 'train').glob('*/last.pt.*'))


@pytest.mark.parametrize('spoil, reason', [
    ('torn', 'unreadable'), ('config', 'from another configuration'), ('code', 'from another code version'),
    ('old', 'not a resume state of this version')])
def test_a_state_that_does_not_belong_is_set_aside_in_one_line(prepared, tmp_path, monkeypatch, spoil, reason):
    spec = tiny_spec(**{'train.epochs': 1})
    run(spec, prepared, tmp_path, 'full', scratch='full')
    stop_at(spec, prepared, tmp_path, 'out', (0, 2))
    path = state_file(tmp_path)
    state = saved(path)
    if spoil == 'torn':
        path.write_bytes(path.read_bytes()[:1000])
    elif spoil == 'old':
        del state['code']
        torch.save(state, path)
    elif spoil == 'config':
        torch.save(dict(state, fingerprint='0123456789abcdef'), path)
    else:
        monkeypatch.setattr(resume, 'code_version', lambda: 'another')
    lines = []
    run(spec, prepared, tmp_path, 'out', log=lines.append)
    assert lines[0].startswith(f'resume state {path} {reason}') and lines[0].endswith('; starting afresh')
    assert not lines[1].startswith('resuming') and len(lines) == 2
    assert set_aside(tmp_path) == ['last.pt.rejected']  # kept, not deleted
    assert_same_results_one_epoch(tmp_path / 'out', tmp_path / 'full')


def assert_same_results_one_epoch(out_a, out_b):
    model_a, _ = load_model(out_a / 'model.pt')
    model_b, _ = load_model(out_b / 'model.pt')
    assert_same_tensors(model_a.state_dict(), model_b.state_dict())


def test_the_state_restores_the_rng_and_loads_with_weights_only(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = resume.ResumeState('f' * 16, tmp_path, log=lambda line: None)
    sums = resume.Sums(torch.tensor(1.5), torch.tensor(3), seen=8, steps=2, seconds=0.25)
    rng = torch.get_rng_state()
    state.save(model=model, optimizer=optimizer, progress=resume.Progress(1, [{'epoch': 1, 'x': None}], 2.0, sums))
    torch.rand(5)  # moves the global RNG on
    fresh = torch.nn.Linear(3, 2)
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    progress = state.load(model=fresh, optimizer=fresh_optimizer, device=CPU)
    assert torch.equal(torch.get_rng_state(), rng)
    assert_same_tensors(fresh.state_dict(), model.state_dict())
    assert_same_tensors(fresh_optimizer.state_dict(), optimizer.state_dict())
    assert (progress.epoch, progress.history, progress.elapsed, progress.steps) == (1, [{'epoch': 1, 'x': None}], 2.0, 2)
    assert_same_tensors(progress.sums.values(), sums.values())
    assert (progress.sums.steps, progress.sums.seconds) == (2, 0.25)
    state.clear()
    assert not state.directory.exists()  # nothing set aside there: the folder goes too


def test_the_scratch_folder_comes_from_the_environment_not_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.setenv('BNONLY_SCRATCH', str(tmp_path / 'shared'))
    monkeypatch.chdir(tmp_path)
    assert resume.scratch_dir('abc') == tmp_path / 'shared' / 'train' / 'abc'
    assert resume.scratch_dir('abc', tmp_path / 'given') == tmp_path / 'given' / 'train' / 'abc'
    monkeypatch.delenv('BNONLY_SCRATCH')
    assert resume.scratch_dir('abc') == Path('.scratch/train/abc')


def test_the_fingerprint_ignores_where_the_raw_data_are():
    meta = {'dataset': 'fashion_mnist', 'num_classes': 10, 'root': '/clone/a/data'}
    assert tiny_spec().fingerprint(meta) == tiny_spec().fingerprint(dict(meta, root='/clone/b/data'))
    assert tiny_spec().fingerprint(meta) != tiny_spec().fingerprint(dict(meta, num_classes=11))


def nan_after(monkeypatch, calls: int):
    """Make the training step's loss NaN from its ``calls``-th call on."""
    original, count = TrainStep.__call__, [0]

    def step(self, *args, **kwargs):
        count[0] += 1
        loss, logits = original(self, *args, **kwargs)
        return (loss * float('nan'), logits) if count[0] >= calls else (loss, logits)
    monkeypatch.setattr(TrainStep, '__call__', step)


@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_divergence_stops_at_its_step_and_leaves_nothing_claiming_success(prepared, tmp_path, monkeypatch,
                                                                          precision):
    spec = tiny_spec(precision=precision)
    stop_at(spec, prepared, tmp_path, 'out', (0, 5))  # a resume state after epoch 1
    nan_after(monkeypatch, 3)
    with pytest.raises(TrainingDiverged) as caught:
        run(spec, prepared, tmp_path, 'out')
    message = str(caught.value)
    assert message.startswith('training diverged at epoch 2, step 3 of 5: the loss is nan; lower train.lr (now 0.1)')
    assert ('train.precision to fp32 (now bf16)' in message) == (precision == 'bf16') and '\n' not in message
    assert not (tmp_path / 'out').exists()  # no metrics, no model
    assert set_aside(tmp_path) == ['last.pt.diverged']
    assert not list((tmp_path / 'scratch' / 'train').glob('*/last.pt'))


def test_a_real_signal_stops_in_process_and_restores_the_handlers(prepared, tmp_path):
    before = signal.getsignal(signal.SIGTERM)

    def send_sigterm(line):
        if line.startswith('epoch 1/'):
            os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(TrainingStopped, match=r'^stopped by SIGTERM after epoch 1 of 2; state saved to '):
        run(tiny_spec(), prepared, tmp_path, 'out', log=send_sigterm)
    assert signal.getsignal(signal.SIGTERM) is before
    assert stopped(STOPPED_EXIT_CODE) and not stopped(0) and not stopped(1) and STOPPED_EXIT_CODE == 75


def stage(tmp_path, prepared, out: str, **kwargs):
    command = [sys.executable, str(REPO / 'stages' / 'train.py'), '--data', str(prepared), '--out',
               str(tmp_path / out), '--params', str(tmp_path / 'params.yaml'), '--scratch', str(tmp_path / 'scratch')]
    return subprocess.Popen(command, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kwargs,
                            # one thread, as this module's in-process runs (single_thread): the same sums
                            env=dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1'))


PARAMS = '''dataset: fashion_mnist
arch: cifar_resnet14
trainable: all
seed: 0
model: {norm_init: uniform, weight_init: kaiming_normal, k: 2}
train: {epochs: 4, batch_size: 32, lr: 0.1, momentum: 0.9, weight_decay: 0.0001, milestones: [2], gamma: 0.1,
        warmup_epochs: 0, eval_batch_size: 64}
'''


@pytest.mark.slow
def test_sigterm_to_the_stage_exits_stopped_and_a_rerun_resumes_identically(prepared, tmp_path):
    (tmp_path / 'params.yaml').write_text(PARAMS)
    process = stage(tmp_path, prepared, 'out')
    for line in process.stdout:
        if line.startswith('epoch 1/'):
            process.send_signal(signal.SIGTERM)
            break
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == STOPPED_EXIT_CODE, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith('train: stopped by SIGTERM ') and line.endswith('rerun the same command (`dvc repro`) '
                                                                          'to resume'), line
    assert not (tmp_path / 'out' / 'metrics.json').exists()
    rerun = stage(tmp_path, prepared, 'out')
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert stdout.startswith('resuming from '), stdout
    spec = RunSpec.from_params(load_params(tmp_path / 'params.yaml'))
    train_run(spec, prepared, tmp_path / 'reference', scratch_root=tmp_path / 'ref', device=CPU, progress=False,
              log=lambda line: None)
    model_a, _ = load_model(tmp_path / 'out' / 'model.pt')
    model_b, _ = load_model(tmp_path / 'reference' / 'model.pt')
    assert_same_tensors(model_a.state_dict(), model_b.state_dict())
    history_a, history_b = (list(csv.DictReader((tmp_path / out / 'history.csv').open()))
                            for out in ('out', 'reference'))
    assert without_timing(history_a) == without_timing(history_b)


def load_train_stage():
    loader = importlib.util.spec_from_file_location('train_stage', REPO / 'stages' / 'train.py')
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def test_the_stage_reports_divergence_in_one_line_and_exits_1(prepared, tmp_path, capsys):
    module = load_train_stage()
    (tmp_path / 'params.yaml').write_text(PARAMS.replace('lr: 0.1', 'lr: 1.0e+12'))
    status = module.main(['--data', str(prepared), '--out', str(tmp_path / 'out'), '--params',
                          str(tmp_path / 'params.yaml'), '--scratch', str(tmp_path / 'scratch')])
    err = capsys.readouterr().err
    assert status == 1 and err.count('\n') == 1
    assert err.startswith('train: error: training diverged at epoch 1, step ') and 'train.lr (now 1e+12)' in err


@pytest.fixture
def small_tmpfs(mount_tmpfs):
    return mount_tmpfs('4m')


def test_a_full_disk_at_the_save_is_one_error_line_and_keeps_the_last_state(prepared, tmp_path, small_tmpfs,
                                                                             capsys):
    (tmp_path / 'params.yaml').write_text(PARAMS)
    spec = RunSpec.from_params(load_params(tmp_path / 'params.yaml'))
    with pytest.raises(TrainingStopped):
        train_run(spec, prepared, tmp_path / 'out', scratch_root=small_tmpfs, device=CPU, progress=False,
                  log=lambda line: None, stop=StopRequest(at=(0, 5)))
    [path] = small_tmpfs.glob('train/*/last.pt')
    with (small_tmpfs / 'filler').open('wb', buffering=0) as handle:  # leaves less than one state's size
        with pytest.raises(OSError):
            while True:
                handle.write(b'f' * 4096)
    module = load_train_stage()
    status = module.main(['--data', str(prepared), '--out', str(tmp_path / 'out'), '--params',
                          str(tmp_path / 'params.yaml'), '--scratch', str(small_tmpfs)])
    err = capsys.readouterr().err
    assert status == 1 and err.count('\n') == 1, err
    assert err.startswith(f'train: error: no space left on {path}: needed about ') and err.endswith(' free\n')
    assert saved(path)['epoch'] == 1 and not [p for p in path.parent.iterdir() if '.tmp-' in p.name]
    assert not (tmp_path / 'out' / 'metrics.json').exists()


def test_divergence_at_an_epochs_last_step_is_named_there(prepared, tmp_path, monkeypatch):
    nan_after(monkeypatch, 5)
    with pytest.raises(TrainingDiverged, match=r'^training diverged at epoch 1, step 5 of 5: the loss is nan; '):
        run(tiny_spec(), prepared, tmp_path, 'out')


def _distributed_worker(rank: int, world: int, port: int, prepared: Path, out: Path, scratch: Path,
                        at: tuple[int, int] | None):
    """One of ``world`` gloo processes training the batch-4 spec; rank 1 alone requests the stop ``at``."""
    import torch.distributed as dist
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    stop = StopRequest(at=at if rank == 1 else None)
    try:
        train_run(tiny_spec(batch_size=4), prepared, out, scratch_root=scratch, device=CPU, progress=False,
                  log=lambda line: None, stop=stop)
    except TrainingStopped as stopped_:
        (scratch / f'stopped-{rank}').write_text(str(stopped_))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def distributed_run(prepared, out, scratch, at=None, world=2):
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    scratch.mkdir(parents=True, exist_ok=True)
    mp.spawn(_distributed_worker, args=(world, port, prepared, out, scratch, at), nprocs=world)


@pytest.mark.slow
def test_processes_agree_on_a_stop_one_of_them_got_and_resume_bit_identically(prepared, tmp_path):
    """40 steps per epoch: the processes agree at step 25 (CHECK_EVERY), not where rank 1 was asked (3)."""
    distributed_run(prepared, tmp_path / 'resumed', tmp_path / 'scratch', at=(0, 3))
    messages = {rank: (tmp_path / 'scratch' / f'stopped-{rank}').read_text() for rank in (0, 1)}
    assert all(' in epoch 1 of 2 after step 25 of 40; state saved to ' in m for m in messages.values()), messages
    assert saved(state_file(tmp_path))['sums']['values'].shape == (2, 3)  # each process's own sums
    distributed_run(prepared, tmp_path / 'resumed', tmp_path / 'scratch')
    distributed_run(prepared, tmp_path / 'reference', tmp_path / 'ref')
    assert_same_results(tmp_path / 'resumed', tmp_path / 'reference')
