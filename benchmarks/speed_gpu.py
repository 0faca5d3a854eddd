"""Benchmark: the engine on a GPU against the targets named below, and against open_lth's loop (needs CUDA).

Parts (``--parts``, comma-separated; default ``headline``; run the others as separate commands):

- ``headline``: ResNet-110 BN-only and WRN-14-16 (all parameters) on CIFAR-10-shaped data. (a) open_lth's
  loop (benchmarks/open_lth_reference.py: per-image PIL transforms on the host, num_workers=0, fp32 with
  PyTorch's default TF32 convolutions, evaluation at batch 128) and (b) our engine in each ``--variants``
  (data resident on the GPU, channels_last, cudnn.benchmark, fused SGD, evaluation at batch 1000; bf16
  autocast; torch.compile, ``-graphs`` = mode reduce-overhead, i.e. CUDA graphs). Reported: img/s, s per
  CIFAR-10 epoch (50,000 + 10,000 images), b/a, ResNet-110 BN-only's projected 160-epoch run (target
  <= 5 min), WRN-14-16's share of the card's dense bf16 peak (target >= 35%).
- ``grid``: per-epoch time of every network of params/paper_cifar10.yaml in three cost classes (``all``,
  which also stands for all_but_bn and random_k*, whose parametrization computes the full weight gradient;
  ``bn_only`` for bn_only and bn_output; ``output_only``), with ``--grid-variant``, and the whole grid (its
  trained cells and Figure 1's) projected from them (target <= 30 h). Measured on a subset per epoch and
  scaled; compilation is charged once per run (the full data's last, 80-image batch compiles once more: not
  included). With a compiled variant expect minutes of compilation for the deepest nets: split the grid over
  several calls with ``--grid-archs`` (each file then projects its networks only, and says so).
- ``full``: really train ResNet-110 BN-only for 160 epochs (``--full-variant``) and time it end to end.

Timings: per-epoch figures are steady state (the first epoch, which holds compilation and cuDNN's
autotuning, is left out); end-to-end figures include everything; each epoch ends in a device
synchronisation. Data: random uint8 CIFAR-10-shaped images (dense kernels cost the same whatever the
pixels) unless ``--prepared`` names a prepared CIFAR-10.

    .venv/bin/python benchmarks/speed_gpu.py                           # headline (a few minutes, compiling)
    .venv/bin/python benchmarks/speed_gpu.py --parts grid --out benchmarks/results/speed_gpu_grid.md
    .venv/bin/python benchmarks/speed_gpu.py --parts full --out benchmarks/results/speed_gpu_full.md
    .venv/bin/python benchmarks/speed_gpu.py --quick --device cpu     # smoke run of the code paths, no GPU

Results go to benchmarks/results/speed_gpu.md (and the raw numbers to speed_gpu.json). Never compare
numbers from different GPU kinds (an H100 and an H200 differ); the file names the card.
"""
import argparse
import dataclasses
import datetime
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import open_lth_reference  # noqa: E402
import speed_env  # noqa: E402

from bnonly.config import load_params  # noqa: E402
from bnonly.data.prepared import load_meta, load_tensors  # noqa: E402
from bnonly.flops import arch_flops  # noqa: E402
from bnonly.models import create_model  # noqa: E402
from bnonly.paper.grid import train_cells  # noqa: E402
from bnonly.trainable import set_trainable  # noqa: E402
from bnonly.training import RunSpec  # noqa: E402

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # open_lth's CIFAR-10 normalisation
CIFAR_TRAIN, CIFAR_TEST = 50_000, 10_000
# Dense bf16 tensor-core peaks from NVIDIA's data sheets (no sparsity), matched against the device name in
# this order. An H100 without "PCIe"/"NVL" in its name is the SXM5 part.
SPEC_BF16_TFLOPS = (('H200 NVL', 835.5), ('H200', 989.4), ('H100 NVL', 835.5), ('H100 PCIe', 756.5),
                    ('H100', 989.4), ('A100', 312.0), ('L40S', 362.1))
GPU_VARIANTS = dict(speed_env.ENGINE_VARIANTS,
                    **{'fp32-graphs': ('fp32', 'channels_last', 'reduce-overhead'),
                       'bf16-graphs': ('bf16', 'channels_last', 'reduce-overhead')})
speed_env.ENGINE_VARIANTS.update(GPU_VARIANTS)  # so speed_env.with_variant knows the -graphs variants
COST_CLASSES = {'all': 'all', 'all_but_bn': 'all', 'random_k': 'all', 'random_k_output': 'all',
                'bn_only': 'bn_only', 'bn_output': 'bn_only', 'output_only': 'output_only'}


def spec_peak(device: torch.device) -> tuple[float | None, str]:
    if device.type != 'cuda':
        return None, 'no GPU'
    name = torch.cuda.get_device_name(device)
    for key, tflops in SPEC_BF16_TFLOPS:
        if key in name:
            return tflops * 1e12, f'{key} data sheet, dense bf16 {tflops} TFLOP/s'
    return None, f'unknown for {name!r}: add it to SPEC_BF16_TFLOPS'


@dataclasses.dataclass
class Measured:
    arch: str
    trainable: str
    loop: str
    train_rate: float            # img/s, steady state
    epoch_seconds: float         # projected full CIFAR-10 epoch: training + evaluation + checkpoint
    first_extra: float           # seconds the first epoch cost beyond a steady one (compilation, autotuning)
    end_to_end: float
    train_flops: float           # per image

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def recipe(base: dict, arch: str, trainable: str, epochs: int, seed: int = 0, milestones: list | None = None,
           eval_batch: int = 1000) -> dict:
    """params.yaml's recipe for one CIFAR-10 run; evaluation at batch 1000 (the paper grid's GPU setting:
    eval mode uses the running statistics, so the batch size changes nothing but speed)."""
    milestones = [max(1, epochs - 1)] if milestones is None else milestones
    train = dict(base['train'], epochs=epochs, milestones=milestones, examples=None, eval_batch_size=eval_batch)
    return dict(dataset='cifar10', arch=arch, trainable=trainable, seed=seed, model=dict(base['model']),
                train=train)


def measure_engine(base, arch, trainable, variant, subset: Path, work: Path, device, epochs, flops) -> Measured:
    spec = RunSpec.from_params(speed_env.with_variant(recipe(base, arch, trainable, epochs), variant))
    folder = work / f'{arch}-{trainable}-{variant}'
    timing = speed_env.timed_train_run(spec, subset, folder, scratch=work / 'scratch', device=device)
    meta = load_meta(subset)
    steady_train = statistics.fmean(timing.train_seconds[1:] or timing.train_seconds)
    steady_boundary = statistics.fmean(timing.boundary_seconds[1:] or timing.boundary_seconds)
    # The test set is whole in the subset, so only the training part is scaled to 50,000 images.
    epoch = steady_train * CIFAR_TRAIN / meta['train_size'] + steady_boundary * CIFAR_TEST / meta['test_size']
    first_extra = (timing.train_seconds[0] + timing.boundary_seconds[0]) - (steady_train + steady_boundary)
    return Measured(arch, trainable, f'(b) engine {variant}', meta['train_size'] / steady_train, epoch,
                    max(0.0, first_extra), timing.end_to_end, flops)


def measure_open_lth(base, arch, trainable, subset: Path, work: Path, device, epochs, flops) -> Measured:
    start = time.perf_counter()
    torch.manual_seed(0)
    meta = load_meta(subset)
    sets = {split: open_lth_reference.PerImageDataset(*load_tensors(subset, split, meta), mean=meta['mean'],
                                                      std=meta['std'], augment=split == 'train')
            for split in ('train', 'test')}
    model = create_model(arch, num_classes=10, in_chans=meta['in_chans'], seed=0,
                         norm_init=base['model'].get('norm_init', 'uniform'),
                         weight_init=base['model']['weight_init'])
    set_trainable(model, trainable)
    t = base['train']
    rows = open_lth_reference.train(
        model, sets['train'], sets['test'], epochs=epochs, batch_size=t['batch_size'], lr=t['lr'],
        momentum=t['momentum'], weight_decay=t['weight_decay'], milestones=[max(1, epochs - 1)], gamma=t['gamma'],
        warmup_epochs=0, data_order_seed=0, device=device, output=work / 'open_lth')
    steady = rows[1:] or rows
    train_s = statistics.fmean(r['train_seconds'] for r in steady)
    boundary = statistics.fmean(r['eval_seconds'] + r['checkpoint_seconds'] for r in steady)
    epoch = train_s * CIFAR_TRAIN / meta['train_size'] + boundary * CIFAR_TEST / meta['test_size']
    return Measured(arch, trainable, '(a) open_lth', meta['train_size'] / train_s, epoch, 0.0,
                    time.perf_counter() - start, flops)


def grid_definition(path: Path) -> dict:
    grid = load_params(path)['grid'] if path.is_file() else None
    if grid is None:
        raise SystemExit(f'{path}: no grid section (the paper grid file of bnonly.paper)')
    cells = [(cell.arch, cell.trainable) for cell in train_cells(grid)]  # Figure 1's -fixed runs included
    return dict(cells=cells, epochs=grid['train']['epochs'], grid=grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--parts', default='headline', help='headline, grid, full (one call each: '
                        'a GPU session allows 10 minutes per command)')
    parser.add_argument('--variants', default='fp32,bf16,bf16-graphs', help=f'of {", ".join(GPU_VARIANTS)}')
    parser.add_argument('--grid-variant', default='bf16', choices=tuple(GPU_VARIANTS))
    parser.add_argument('--grid-file', type=Path, default=Path('params/paper_cifar10.yaml'))
    parser.add_argument('--grid-archs', default=None, help='measure and project only these networks of the grid')
    parser.add_argument('--full-variant', default='bf16-graphs', choices=tuple(GPU_VARIANTS))
    parser.add_argument('--batches', type=int, default=None,
                        help='training batches per measured epoch (default 60; quick 2)')
    parser.add_argument('--epochs', type=int, default=3, help='measured epochs per run (the first is warm-up)')
    parser.add_argument('--prepared', type=Path, default=None, help='a prepared CIFAR-10 instead of random data')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--quick', action='store_true', help='smoke run: tiny nets and data (works on the CPU)')
    parser.add_argument('--out', type=Path, default=None)
    args = parser.parse_args()
    command = ' '.join(['.venv/bin/python', 'benchmarks/speed_gpu.py'] + [shlex.quote(a) for a in sys.argv[1:]])
    device = torch.device(args.device)
    out = args.out or speed_env.RESULTS / ('speed_gpu-quick.md' if args.quick else 'speed_gpu.md')
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('no CUDA device: this benchmark needs a GPU (--quick --device cpu smoke-tests it)')
    if device.type != 'cuda' and not args.quick:
        raise SystemExit('the GPU benchmark on the CPU is only a smoke run: add --quick')
    parts = args.parts.split(',')
    variants = args.variants.split(',')
    for variant in variants:
        if variant not in GPU_VARIANTS:
            parser.error(f'unknown variant {variant!r}')
    batches = args.batches or (2 if args.quick else 60)
    base = load_params(Path('params.yaml'))
    headline = [('cifar_resnet14', 'bn_only'), ('cifar_wide_resnet14_2', 'all')] if args.quick else \
        [('cifar_resnet110', 'bn_only'), ('cifar_wide_resnet14_16', 'all')]
    began = time.perf_counter()
    peak, peak_source = spec_peak(device)
    measured_peak = speed_env.matmul_gflops(512 if args.quick else 8192, dtype=torch.bfloat16, device=device)
    results: list[Measured] = []
    lines = [f'# GPU training speed{" (QUICK SMOKE RUN: not a measurement)" if args.quick else ""}', '',
             f'{datetime.datetime.now().isoformat(timespec="seconds")}; command:', '', f'    {command}', '']

    with tempfile.TemporaryDirectory(prefix='bnonly-speed-gpu-') as tmp:
        work = Path(tmp)
        train_n = batches * 128
        test_n = 256 if args.quick else CIFAR_TEST
        if args.prepared:
            subset = speed_env.write_subset(args.prepared, work / 'subset', train=train_n, test=test_n)
        else:
            subset = speed_env.write_synthetic(work / 'subset', dataset='cifar10', train=train_n, test=test_n,
                                               shape=(3, 32, 32), mean=IMAGENET_MEAN, std=IMAGENET_STD)

        def flops(arch, trainable):
            return arch_flops(arch, trainable, in_chans=3, size=32)['train']

        if 'headline' in parts:
            for arch, trainable in headline:
                f = flops(arch, trainable)
                results.append(measure_open_lth(base, arch, trainable, subset, work, device, min(args.epochs, 2), f))
                for variant in variants:
                    results.append(measure_engine(base, arch, trainable, variant, subset, work, device,
                                                  args.epochs, f))
                    print(f'{arch} {trainable} {variant}: {results[-1].train_rate:,.0f} img/s', file=sys.stderr)
            rows = []
            for m in results:
                reference = next(r for r in results if r.arch == m.arch and r.trainable == m.trainable
                                 and r.loop.startswith('(a)'))
                mfu = f'{m.train_flops * m.train_rate / peak:.1%}' if peak else '-'
                rows.append([m.arch, m.trainable, m.loop, f'{m.train_rate:,.0f}', f'{m.epoch_seconds:.2f}',
                             f'{160 * m.epoch_seconds / 60 + m.first_extra / 60:.1f}', f'{m.first_extra:.0f}',
                             f'{reference.epoch_seconds / m.epoch_seconds:.2f}',
                             f'{m.train_flops * m.train_rate / 1e12:.1f}', mfu])
            lines += ['## Headline', '', f'Measured on {batches} batches per epoch (+ the whole 10,000-image '
                      f'test set), {args.epochs} epochs for the engine, 2 for open_lth; s/epoch scaled to '
                      f'CIFAR-10\'s 50,000 + 10,000. 160-epoch projection = 160 x s/epoch + the first epoch\'s '
                      f'extra cost. MFU against {peak_source}.', '']
            lines += speed_env.table(['net', 'trainable', 'loop', 'train img/s', 's/epoch', '160 epochs (min)',
                                      'first-epoch extra s', 'b/a (epoch time)', 'train TFLOP/s', 'MFU'], rows,
                                     'lllrrrrrrr')
            lines += ['', 'Targets: ResNet-110 BN-only 160 epochs <= 5 min; WRN-14-16 MFU >= 35%.', '']

        if 'grid' in parts:
            definition = grid_definition(args.grid_file)
            every = list(dict.fromkeys(arch for arch, _ in definition['cells']))
            archs = args.grid_archs.split(',') if args.grid_archs else every
            if args.quick:
                archs = ['cifar_resnet14', 'cifar_wide_resnet14_2']
            partial = '' if set(archs) >= set(every) else f' (PARTIAL: {len(archs)} of the grid\'s {len(every)} networks)'
            per_class = {}
            for arch in archs:
                for cost_class in sorted(set(COST_CLASSES.values())):
                    m = measure_engine(base, arch, cost_class, args.grid_variant, subset, work, device,
                                       args.epochs, flops(arch, cost_class))
                    per_class[arch, cost_class] = m
                    results.append(m)
                    print(f'grid {arch} {cost_class}: {m.epoch_seconds:.2f} s/epoch', file=sys.stderr)
            hours, rows = 0.0, []
            for arch in archs:
                cells = [t for a, t in definition['cells'] if a == arch]
                run_seconds = {t: definition['epochs'] * per_class[arch, COST_CLASSES[t]].epoch_seconds
                               + per_class[arch, COST_CLASSES[t]].first_extra for t in set(cells)}
                arch_hours = sum(run_seconds[t] for t in cells) / 3600
                hours += arch_hours
                rows.append([arch, len(cells)] + [f'{per_class[arch, c].epoch_seconds:.2f}'
                                                  for c in ('all', 'bn_only', 'output_only')] + [f'{arch_hours:.2f}'])
            lines += ['## Paper grid projection', '', f'{args.grid_file}: {len(definition["cells"])} training runs '
                      f'of {definition["epochs"]} epochs (trained cells and Figure 1\'s), engine variant '
                      f'`{args.grid_variant}`, one run at a time. Per-epoch seconds measured per cost class.', '']
            lines += speed_env.table(['net', 'runs', 's/epoch all', 's/epoch bn_only', 's/epoch output_only',
                                      'hours'], rows, 'lrrrrr')
            lines += ['', f'**Projected grid{partial}: {hours:.1f} h** (target <= 30 h; analyses not included).', '']

        if 'full' in parts:
            arch, trainable = headline[0]
            epochs = 2 if args.quick else 160
            spec = RunSpec.from_params(speed_env.with_variant(
                recipe(base, arch, trainable, epochs, milestones=[80, 120]), args.full_variant))
            full_data = subset if args.quick or args.prepared is None else args.prepared
            if not args.quick and args.prepared is None:
                full_data = speed_env.write_synthetic(work / 'full', dataset='cifar10', train=CIFAR_TRAIN,
                                                      test=CIFAR_TEST, shape=(3, 32, 32), mean=IMAGENET_MEAN,
                                                      std=IMAGENET_STD)
            timing = speed_env.timed_train_run(spec, full_data, work / 'full-run', scratch=work / 'scratch',
                                               device=device)
            lines += ['## Full run', '', f'{arch} {trainable}, {epochs} epochs, variant `{args.full_variant}`: '
                      f'**{timing.end_to_end / 60:.1f} min** end to end (target <= 5 min).', '']

    lines += [f'Dense bf16 reference: {512 if args.quick else 8192}² bf16 matmul measured {measured_peak / 1e3:,.1f} '
              f'TFLOP/s; spec peak: {peak_source}. Whole benchmark {(time.perf_counter() - began) / 60:.1f} min.',
              '', '## Machine', '']
    lines += speed_env.table(['', ''], [[k, v] for k, v in speed_env.machine(device).items()], 'll')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(lines) + '\n')
    out.with_suffix('.json').write_text(json.dumps([m.as_dict() for m in results], indent=1) + '\n')
    print('\n'.join(lines))
    print(f'\nwritten to {out}')


if __name__ == '__main__':
    main()
