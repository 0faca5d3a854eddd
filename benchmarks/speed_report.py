"""speed_cpu.py's Markdown report: the run's data and command, the idle check, the reference rates, the
timings of every loop, the ratios between the loops, what frozen weights save, and the machine.

Not a benchmark itself: speed_cpu.py measures and calls ``report`` with what it measured.
"""
import datetime

import torch

import speed_env

# Fashion-MNIST's training and test set sizes: the benchmark's subsets keep their proportion, and the report
# scales a measured epoch to the full training set.
FULL_TRAIN, FULL_TEST = 60_000, 10_000
# The bare loops without the engine's process settings, by the labels the loops run under and the ratios read.
C1, C0 = '(c1) bare fp32 channels_last, default malloc', '(c0) bare fp32 NCHW, default malloc'


def report(args, command: str, results: dict, flops: dict, peaks: dict, references: dict, check, sizes,
           elapsed: float) -> list[str]:
    train_n, test_n = sizes
    scale = FULL_TRAIN / train_n
    title = '# CPU training speed: our engine vs open_lth\'s loop vs a bare loop'
    if args.quick:
        title += ' (QUICK SMOKE RUN: not a measurement)'
    lines = [title, '', f'{datetime.datetime.now().isoformat(timespec="seconds")}; command:', '',
             f'    {command}', '',
             f'Data: a fixed subset of the prepared Fashion-MNIST (1x28x28), {train_n:,} training and {test_n:,} '
             f'test images, {args.epochs} epochs per loop, batch 128, SGD lr 0.1 (x0.1 after epoch '
             f'{max(1, args.epochs - 1)}), momentum 0.9, weight decay 1e-4; every loop starts from the same '
             f'initialisation (seed 0). (a) and (b) evaluate the test subset at batch 128 once per epoch and '
             f'write a checkpoint / resume state per epoch. Each loop ran in a fresh process, {args.repeats} '
             f'time(s), the loops in a rotated order each round; figures are medians over the runs. Whole '
             f'benchmark: {elapsed / 60:.1f} min.', '']
    lines += check.lines()
    lines += ['', 'Reference rates on this machine, same threads (the larger of the two per precision is the '
              '"peak" the nets\' rates are put against): '
              + '; '.join(f'{precision}: {args.matmul}² matmul {references[precision, "matmul"]:,.0f} GFLOP/s, '
                          f'large 3x3 conv (channels_last) {references[precision, "conv"]:,.0f} GFLOP/s'
                          for precision in peaks)
              + '. On AMD CPUs torch.matmul (MKL sgemm) runs an AVX2 path; oneDNN\'s convolutions use AVX-512.', '']
    rows = []
    for (arch, trainable), timings in results.items():
        train_flops = flops[arch, trainable]
        for timing in timings:
            peak = peaks['bf16' if 'bf16' in timing.loop else 'fp32']
            rate_gf = train_flops * timing.train_rate / 1e9
            rows.append([arch, trainable, timing.loop, f'{timing.train_rate:,.0f}', timing.rate_range,
                         f'{timing.epoch_seconds:.2f}',
                         f'{timing.boundary:.2f}' if timing.boundary_seconds else '-',
                         f'{timing.epoch_seconds * scale:.1f}',
                         f'{timing.end_to_end:.1f}' if timing.end_to_end else '-',
                         f'{rate_gf:,.0f} ({rate_gf / peak:.0%})',
                         f'{timing.test_accuracy:.3f}' if timing.test_accuracy is not None else '-'])
    lines += ['## Timings', '', 'train img/s: the training phase only (for (a) and (b) it includes their data '
              'pipeline). s/epoch: training + evaluation + checkpoint. Both are steady state: with more than one '
              'epoch the first is left out (it holds compilation, if any); end-to-end seconds include everything. '
              'All are medians over the runs; "range over runs" is the lowest and highest train img/s. '
              's per full epoch: s/epoch scaled to 60,000 + 10,000 images. GFLOP/s: training-step FLOPs x train '
              'img/s (in brackets: share of the reference rate of the same precision). Test accuracy after a few '
              'hundred steps only shows that the loops learn alike.', '']
    lines += speed_env.table(['net', 'trainable', 'loop', 'train img/s', 'range over runs', 's/epoch',
                              'eval+ckpt s/epoch', 's per full epoch', 'end-to-end s', 'train GFLOP/s', 'test acc'],
                             rows, 'lllrrrrrrrr')
    lines += ['', '## Ratios', '', 'b/a: throughput of our engine over open_lth\'s (end to end; training phase). '
              'b/c: our training phase over the bare loop with the same numerics and process settings (1.00 = no '
              'overhead). c/c1: the bare loop with malloc keeping freed memory over glibc\'s default (the same '
              'loop otherwise). c1/c0: the bare loop in channels_last over NCHW, both with the default malloc. '
              'Targets (fp32): b/a >= 1.25 end to end; b/c >= 0.90.', '']
    ratio_rows = []
    for (arch, trainable), timings in results.items():
        by_name = {t.loop: t for t in timings}
        open_lth = by_name['(a) open_lth']
        default_malloc, plain = by_name[C1], by_name[C0]
        for timing in timings:
            if not timing.loop.startswith('(b)'):
                continue
            variant = timing.loop.split()[-1]
            precision, layout, _ = speed_env.ENGINE_VARIANTS[variant]
            bare = by_name[f'(c) bare {precision} {layout}']
            ratio_rows.append([arch, trainable, variant, f'{open_lth.end_to_end / timing.end_to_end:.2f}',
                               f'{timing.train_rate / open_lth.train_rate:.2f}',
                               f'{timing.train_rate / bare.train_rate:.2f}',
                               f'{bare.train_rate / default_malloc.train_rate:.2f}'
                               if (precision, layout) == ('fp32', 'channels_last') else '-',  # c1's numerics only
                               f'{default_malloc.train_rate / plain.train_rate:.2f}'])
    lines += speed_env.table(['net', 'trainable', 'engine variant', 'b/a end to end', 'b/a training',
                              'b/c training', 'c/c1', 'c1/c0'], ratio_rows, 'lllrrrrr')
    lines += ['', '## Frozen weights skip their gradient work', '',
              'Training-step FLOPs per image (FlopCounterMode, as autograd runs the step) and the engine\'s '
              'training throughput relative to `all` for the same net and variant.', '']
    frozen_rows = []
    for (arch, trainable), timings in results.items():
        forward = flops[arch, 'forward']
        engine = [t for t in timings if t.loop.startswith('(b)')]
        reference = [t for t in results.get((arch, 'all'), []) if t.loop.startswith('(b)')]
        relative = ', '.join(f'{t.loop.split()[-1]} {t.train_rate / r.train_rate:.2f}x'
                             for t, r in zip(engine, reference)) if reference else '-'
        frozen_rows.append([arch, trainable, f'{flops[arch, trainable] / 1e6:,.1f}',
                            f'{flops[arch, trainable] / forward:.2f}', relative])
    lines += speed_env.table(['net', 'trainable', 'train MFLOP/img', 'x forward', 'img/s vs all'], frozen_rows,
                             'llrrl')
    lines += ['', '`random_k` (not timed here) trains k entries per conv channel through a parametrization that '
              'asks autograd for the full weight gradient, so its step costs what `all` costs.', '',
              '## Machine', '']
    machine = speed_env.machine(torch.device('cpu'))
    lines += speed_env.table(['', ''], [[key, value] for key, value in machine.items()], 'll')
    warning = check.warning()
    if warning:
        lines += ['', f'**{warning}**']
    return lines
