"""Benchmark: the analyze stage's cost against one plain evaluation pass: the analysis must cost few passes.

Times, on random test-shaped data (the cost does not depend on the pixel values):
- one plain evaluation pass (``bnonly.analysis.evaluation.accuracy``), the reference;
- the hooked ReLU pass alone (``relu_zero_pass``): the price of counting zeros on every ReLU;
- the whole analysis (``analyze_model``): γ/β statistics, the hooked pass and one pass per clamping threshold.
Expected: analysis / plain ≈ (hooked / plain) + number of thresholds; anything well above that means some
pass is doing more than it should.

The numbers are only meaningful on an idle machine (another busy process on our 2 cores slows torch several
times over), so the script samples the machine's CPU use before and after and says whether it was idle.

    .venv/bin/python benchmarks/analysis.py            # ResNet-110, 10,000 CIFAR-shaped images (minutes)
    .venv/bin/python benchmarks/analysis.py --quick    # smoke run: ResNet-14, 256 images, 2 thresholds
"""
import argparse
import dataclasses
import datetime
import os
import statistics
import time
from pathlib import Path

import torch

from bnonly.analysis import AnalysisSettings, analyze_model
from bnonly.analysis.dead_relu import relu_zero_pass
from bnonly.analysis.evaluation import accuracy
from bnonly.config import load_params
from bnonly.models import create_model
from environment import cpu_busy, machine, write_report

RESULTS = Path(__file__).resolve().parent / 'results'
SHAPES = {'cifar10': (3, 32, 32), 'fashion_mnist': (1, 28, 28)}
IDLE_BUSY_FRACTION = 0.05  # machine-wide CPU use (all cores) above this while we sleep: not idle


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='smoke run: ResNet-14, 256 images, 2 thresholds')
    parser.add_argument('--arch', default=None, help='default cifar_resnet110 (quick: cifar_resnet14)')
    parser.add_argument('--images', type=int, default=None, help='default 10000 (quick: 256)')
    parser.add_argument('--shape', choices=tuple(SHAPES), default='cifar10')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--repeats', type=int, default=None, help='plain passes timed (default 3, quick 1)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'), help='for the analyze settings')
    parser.add_argument('--out', type=Path, default=None,
                        help='default benchmarks/results/analysis.md (quick: analysis-quick.md)')
    args = parser.parse_args()
    arch = args.arch or ('cifar_resnet14' if args.quick else 'cifar_resnet110')
    images = args.images or (256 if args.quick else 10_000)
    repeats = args.repeats or (1 if args.quick else 3)
    out = args.out or RESULTS / ('analysis-quick.md' if args.quick else 'analysis.md')
    settings = AnalysisSettings.from_params(load_params(args.params))
    if args.quick:
        settings = dataclasses.replace(settings, thresholds=settings.thresholds[:2])
    thresholds = settings.thresholds

    busy_before = cpu_busy()
    device = torch.device(args.device)
    channels, height, width = SHAPES[args.shape]
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(images, channels, height, width, generator=generator).to(device)
    labels = torch.randint(0, 10, (images,), generator=generator).to(device)
    batches = list(zip(inputs.split(args.batch_size), labels.split(args.batch_size)))
    model = create_model(arch, num_classes=10, in_chans=channels, seed=0).to(device).eval()

    accuracy(model, batches[:2], show_progress=False)  # warm-up: allocator, kernels, caches
    plain = [timed(lambda: accuracy(model, batches, show_progress=False))[0] for _ in range(repeats)]
    hooked, _ = timed(lambda: relu_zero_pass(model, batches, show_progress=False))
    total, _ = timed(lambda: analyze_model(model, batches, settings, show_progress=False))
    busy_after = cpu_busy()

    reference = statistics.median(plain)
    idle = max(busy_before, busy_after) <= IDLE_BUSY_FRACTION
    rows = [('plain evaluation pass (median of %d)' % repeats, reference),
            ('hooked ReLU pass (dead-ReLU counts + accuracy)', hooked),
            (f'whole analysis (hooked pass + {len(thresholds)} clamping passes + γ/β statistics)', total)]
    lines = [f'# Analysis benchmark{" (QUICK SMOKE RUN: not a measurement)" if args.quick else ""}', '',
             f'{datetime.datetime.now().isoformat(timespec="seconds")}: `{arch}`, {images:,} random '
             f'{channels}x{height}x{width} images, batch {args.batch_size}, device `{device}`, '
             f'{len(thresholds)} thresholds, granularity `{settings.dead_relu_granularity}`.', '',
             f'Machine idle: **{"yes" if idle else "NO: the timings below are not trustworthy"}** '
             f'(machine-wide CPU busy {busy_before:.1%} before, {busy_after:.1%} after; limit '
             f'{IDLE_BUSY_FRACTION:.0%}; load average {os.getloadavg()[0]:.2f}).', '',
             '| what | seconds | images/s | ratio to plain pass |', '|---|---:|---:|---:|']
    passes = {0: 1, 1: 1, 2: 1 + len(thresholds)}
    lines += [f'| {name} | {seconds:.2f} | {images * passes[i] / seconds:,.0f} | {seconds / reference:.2f} |'
              for i, (name, seconds) in enumerate(rows)]
    lines += ['', f'Expected whole-analysis ratio: hooked ratio + thresholds = '
                  f'{hooked / reference + len(thresholds):.2f}; measured {total / reference:.2f}. '
                  f'Plain passes: {", ".join(f"{s:.2f}" for s in plain)} s.', '', '| machine | |', '|---|---|']
    lines += [f'| {key} | {value} |' for key, value in machine(torch.device("cpu")).items()]
    write_report(lines, out)


if __name__ == '__main__':
    main()
