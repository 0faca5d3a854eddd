"""What every speed benchmark reports besides its timings: the machine, whether it was idle, the
hardware's reference rate (a large matmul), and a subset of the prepared data (FLOP counts: ``bnonly.flops``).

Shared by speed_cpu.py, speed_gpu.py and speed_bf16_validation.py; not a benchmark itself.
"""
import csv
import dataclasses
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from bnonly.data.prepared import load_meta, load_tensors
from environment import cpu_busy, machine  # noqa: F401  (the speed scripts report both through this module)
from bnonly.training import RunSpec, train_run
from bnonly.training import loop as engine_loop

RESULTS = Path(__file__).resolve().parent / 'results'
# Engine variants the benchmarks compare: name -> params train.(precision, memory_format, compile).
ENGINE_VARIANTS = {'fp32': ('fp32', 'channels_last', False), 'fp32-nchw': ('fp32', 'contiguous', False),
                   'bf16': ('bf16', 'channels_last', False), 'compile': ('fp32', 'channels_last', True),
                   'bf16-compile': ('bf16', 'channels_last', True)}
IDLE_BUSY = 0.05      # machine-wide share of CPU time busy while we sleep; above it the machine is not idle
IDLE_LOAD = 0.5       # 1-minute load average before we start
PROBE_DRIFT = 0.10    # the matmul probe before and after may differ this much on a steady machine


# ------------------------------------------------------------------------------------------- idle or not

def matmul_gflops(size: int, *, dtype=torch.float32, device=torch.device('cpu'), repeats: int = 3) -> float:
    """Best-of-``repeats`` rate of one ``size`` x ``size`` matmul: the machine's practical peak for dense
    fp32 (or ``dtype``) arithmetic with the threads torch uses, against which the nets' rates are put."""
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, generator=generator, device=device).to(dtype)
    b = torch.randn(size, size, generator=generator, device=device).to(dtype)
    a @ b  # warm-up (library initialisation, page faults)
    best = float('inf')
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def conv_gflops(*, dtype=torch.float32, device=torch.device('cpu'), batch: int = 64, channels: int = 256,
                size: int = 32, repeats: int = 3) -> float:
    """Best rate of one large 3x3 convolution (channels_last, ``channels`` in and out): what the convolution
    library (oneDNN on the CPU, cuDNN on a GPU) reaches on dense work. On AMD CPUs it is the better reference:
    MKL's sgemm behind ``torch.matmul`` takes its AVX2 path there (about half of what oneDNN's AVX-512
    kernels reach on the same cores: 230 against 500 GFLOP/s measured on our 2-core EPYC)."""
    generator = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=generator, device=device).to(dtype)
    w = torch.randn(channels, channels, 3, 3, generator=generator, device=device).to(dtype)
    x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        F.conv2d(x, w, padding=1)
        best = float('inf')
        for _ in range(repeats):
            sync(device)
            start = time.perf_counter()
            F.conv2d(x, w, padding=1)
            sync(device)
            best = min(best, time.perf_counter() - start)
    return 2 * batch * size * size * channels * channels * 9 / best / 1e9


def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class IdleCheck:
    """Machine-wide CPU use and load average before and after, and a short matmul probe at both ends (a
    machine that slowed down or sped up during the run shows as drift)."""

    def __init__(self, device: torch.device, probe_size: int, settle_seconds: float = 180):
        self.device, self.probe_size = device, probe_size
        # The 1-minute load average trails the last job by a minute or two (our own previous command included):
        # give it time to fall before judging the machine busy.
        deadline = time.monotonic() + settle_seconds
        while os.getloadavg()[0] > IDLE_LOAD and time.monotonic() < deadline:
            time.sleep(5)
        self.load_before = os.getloadavg()[0]
        self.busy_before = cpu_busy()
        self.probe_before = matmul_gflops(probe_size, device=device)

    def finish(self) -> None:
        self.probe_after = matmul_gflops(self.probe_size, device=self.device)
        self.busy_after = cpu_busy()
        self.load_after = os.getloadavg()[0]
        self.drift = abs(self.probe_after / self.probe_before - 1)
        self.idle = (max(self.busy_before, self.busy_after) <= IDLE_BUSY and self.load_before <= IDLE_LOAD
                     and self.drift <= PROBE_DRIFT)

    def lines(self) -> list[str]:
        verdict = 'yes' if self.idle else 'NO: the timings below are not trustworthy'
        return [f'Machine idle: **{verdict}** (machine-wide CPU busy {self.busy_before:.1%} before, '
                f'{self.busy_after:.1%} after, limit {IDLE_BUSY:.0%}; 1-minute load average {self.load_before:.2f} '
                f'before, {self.load_after:.2f} after, limit {IDLE_LOAD}; {self.probe_size}² fp32 matmul probe '
                f'{self.probe_before:,.0f} GFLOP/s before, {self.probe_after:,.0f} after, drift {self.drift:.1%}, '
                f'limit {PROBE_DRIFT:.0%}).']

    def warning(self) -> str | None:
        if self.idle:
            return None
        return ('WARNING: the machine was not idle (or its speed drifted): these timings are not trustworthy; '
                'rerun on an idle machine')


# ---------------------------------------------------------------------------------------- timing train_run

@dataclasses.dataclass
class EngineTiming:
    """``train_run`` timed from outside: per-epoch training seconds (its history), per-epoch evaluation and
    resume-state seconds (its own ``evaluate`` and ``ResumeState.save``, wrapped with a clock), end to end."""
    train_seconds: list[float]
    boundary_seconds: list[float]
    end_to_end: float
    metrics: dict


def timed_train_run(spec: RunSpec, prepared: Path, out_dir: Path, *, scratch: Path,
                    device: torch.device) -> EngineTiming:
    boundary = []
    real_evaluate, real_save = engine_loop.evaluate, engine_loop.ResumeState.save

    def timed(function):
        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            result = function(*args, **kwargs)
            sync(device)
            boundary.append(time.perf_counter() - begin)
            return result
        return wrapper

    # Only to time the epoch-boundary work; the functions themselves are train_run's own.
    engine_loop.evaluate = timed(real_evaluate)
    engine_loop.ResumeState.save = timed(real_save)
    try:
        start = time.perf_counter()
        metrics = train_run(spec, prepared, out_dir, scratch_root=scratch, device=device, progress=False,
                            log=lambda line: None)
        sync(device)
        end_to_end = time.perf_counter() - start
    finally:
        engine_loop.evaluate, engine_loop.ResumeState.save = real_evaluate, real_save
    with (out_dir / 'history.csv').open() as handle:
        train_seconds = [float(row['epoch_seconds']) for row in csv.DictReader(handle)]
    # evaluate and the save alternate, one each per epoch.
    per_epoch = [boundary[i] + boundary[i + 1] for i in range(0, len(boundary), 2)]
    return EngineTiming(train_seconds, per_epoch, end_to_end, metrics)


# ------------------------------------------------------------------------------------------------- data

def prepared_source(path: Path | None, scratch: Path) -> Path:
    """The prepared Fashion-MNIST copy to benchmark on: ``path``, else data/prepared, else one written now from
    the raw files (Debian's package) into ``scratch`` (a few seconds)."""
    for candidate in (path, Path('data/prepared')):
        if candidate is not None and (candidate / 'meta.json').is_file():
            return candidate
    from bnonly.data import prepare
    from bnonly.data.integrity import RECORDED
    prepare('fashion_mnist', None, scratch, checksums=RECORDED)
    return scratch


def write_subset(source: Path, folder: Path, *, train: int | None, test: int | None, seed: int = 0) -> Path:
    """A prepared copy in ``folder`` holding a fixed random subset of ``source``'s splits (None: all of it),
    so every loop of a benchmark reads the same images the same way train_run does."""
    meta = load_meta(source)
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    for split, size in (('train', train), ('test', test)):
        images, labels = load_tensors(source, split, meta)
        if size is not None and size < len(labels):
            chosen = torch.randperm(len(labels), generator=generator)[:size].sort().values
            images, labels = images[chosen], labels[chosen]
        torch.save({'images': images.contiguous(), 'labels': labels.contiguous()}, folder / f'{split}.pt')
        meta[f'{split}_size'] = len(labels)
    (folder / 'meta.json').write_text(json.dumps(meta, indent=1) + '\n')
    return folder


def with_variant(params: dict, variant: str) -> dict:
    """``params`` (a run's, as RunSpec.from_params takes them) with the engine variant's numerics."""
    precision, layout, compile_option = ENGINE_VARIANTS[variant]
    return dict(params, train=dict(params['train'], precision=precision, memory_format=layout,
                                   compile=compile_option))


# ------------------------------------------------------------------------------------------------- output

def table(header: list[str], rows: list[list], align: str | None = None) -> list[str]:
    align = align or 'l' + 'r' * (len(header) - 1)
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---:' if a == 'r' else '---' for a in align) + '|']
    # A '|' inside a cell (|γ|) would end the cell: escape it.
    lines += ['| ' + ' | '.join(str(cell).replace('|', '\\|') for cell in row) + ' |' for row in rows]
    return lines


def write_synthetic(folder: Path, *, dataset: str, train: int, test: int, shape: tuple[int, int, int],
                    mean: list[float], std: list[float], seed: int = 0) -> Path:
    """A prepared copy of random uint8 images in ``dataset``'s layout (speed only: the cost of dense
    kernels does not depend on pixel values)."""
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    for split, count in (('train', train), ('test', test)):
        images = torch.randint(0, 256, (count, *shape), generator=generator, dtype=torch.uint8)
        labels = torch.randint(0, 10, (count,), generator=generator)
        torch.save({'images': images, 'labels': labels}, folder / f'{split}.pt')
    meta = dict(dataset=dataset, num_classes=10, in_chans=shape[0], image_size=list(shape[1:]), mean=mean,
                std=std, train_size=train, test_size=test, classes=[str(c) for c in range(10)])
    (folder / 'meta.json').write_text(json.dumps(meta, indent=1) + '\n')
    return folder
