"""How long the grid in grid.yaml takes on our 2-core CPU: cells x images / measured images per second.

    python -m bnonly.paper.cost                      # grid.yaml
    python -m bnonly.paper.cost --params params/paper_cifar10.yaml

The training speeds are the default grid's own, measured by its cells in the `dvc repro` of 2026-11-25 on an
idle machine (``images_per_second`` in reports/grid_summary.csv, mean of the 2 seeds, rounded: fp32, batch 128,
2 threads, 28x28 Fashion-MNIST, the engine keeping freed memory in malloc's heap). Where a pair (network,
trainable set) was not measured, it is scaled from a measured one, and the table marks it ``~``:

- other networks: ResNet-14's speed divided by their cost relative to ResNet-14, taken as the ratio of
  conv work, (D - 2) / 12 x W^2 (ResNet-20: 1.5, measured 1.4; ResNet-32: 2.5, measured 2.2; WRN-14-2: 4,
  measured 3.1);
- all_but_bn as all (measured: within 5% in the Figure-1 cells); bn_output as bn_only; random_k_output at 0.78x
  all (random_k's measured 0.75-0.84x: the same backward pass through every conv, plus the scatter of the k
  chosen weights in every forward); output_only at 3.0x all (measured 2.9-3.2x: no backward pass through the
  network).
- test evaluation: 6,900 images/s for ResNet-14 at batch 128, scaled the same way. Training evaluates the
  whole test set after every epoch (or once, with ``train.eval_every_epoch: false``); an analysis makes 1
  hooked pass + 2 passes per threshold (the clamp and its random control).
- fixed cost per stage: 6 s for training (python + torch + timm import, data, DVC's bookkeeping), 16 s
  for an analysis (it also writes 8 tables and draws 5 plots), 4 s for each of the other stages; analysis
  passes run at 1/1.1 of the evaluation speed (the hooked pass). The last two were fitted to a ResNet-14 and
  a ResNet-32 analysis timed when the grid was first built (24 s and 36 s with 4 thresholds).
- CIFAR-10's 3x32x32 images cost 1.45x Fashion-MNIST's 1x28x28 (measured 1.3-1.6x). ImageNet is not
  estimated (no CPU profile makes sense there).
"""
import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bnonly.paper.grid import analysed_cells, arch_info, train_cells

MEASURED_TRAIN = {
    ('cifar_resnet14', 'all'): 2080, ('cifar_resnet14', 'bn_only'): 2700, ('cifar_resnet14', 'random_k'): 1640,
    ('cifar_resnet14', 'output_only'): 6370, ('cifar_resnet20', 'all'): 1480, ('cifar_resnet20', 'bn_only'): 1940,
    ('cifar_resnet20', 'random_k'): 1110, ('cifar_resnet20', 'output_only'): 4320, ('cifar_resnet32', 'all'): 930,
    ('cifar_resnet32', 'bn_only'): 1190, ('cifar_resnet32', 'random_k'): 720, ('cifar_resnet32', 'output_only'): 2730,
    ('cifar_wide_resnet14_2', 'all'): 680, ('cifar_wide_resnet14_2', 'bn_only'): 960,
    ('cifar_wide_resnet14_2', 'random_k'): 570, ('cifar_wide_resnet14_2', 'output_only'): 2140}
RELATIVE = {'all_but_bn': ('all', 1.0), 'bn_output': ('bn_only', 1.0), 'random_k': ('all', 0.78),
            'random_k_output': ('all', 0.78), 'output_only': ('all', 3.0)}
EVAL_RESNET14 = 6900
TRAIN_START, ANALYZE_START, OTHER_START = 6.0, 16.0, 4.0
ANALYSIS_SLOWDOWN = 1.1
OTHER_STAGES = 12  # grid_recipe, grid_prepare, grid_aggregate, figure@1-8, claims
IMAGE_COST = {'fashion_mnist': 1.0, 'cifar10': 1.45}
DATASET_SIZES = {'fashion_mnist': (60000, 10000), 'cifar10': (50000, 10000)}


def relative_cost(arch: str) -> float:
    """Conv work per image relative to ResNet-14."""
    info = arch_info(arch)
    if info.family == 'imagenet':
        raise ValueError(f'{arch}: ImageNet networks are not estimated on the CPU')
    return (info.depth - 2) / 12 * info.width ** 2


def train_speed(arch: str, trainable: str) -> tuple[float, bool]:
    """(images per second, measured?) for Fashion-MNIST-sized images."""
    if (arch, trainable) in MEASURED_TRAIN:
        return MEASURED_TRAIN[arch, trainable], True
    if trainable in RELATIVE:
        base, factor = RELATIVE[trainable]
        return train_speed(arch, base)[0] * factor, False
    return MEASURED_TRAIN['cifar_resnet14', trainable] / relative_cost(arch), False


def eval_speed(arch: str) -> float:
    return EVAL_RESNET14 / relative_cost(arch)


@dataclass(frozen=True)
class Estimate:
    cells: pd.DataFrame        # one row per stage: stage, seconds, measured
    train_images: int

    @property
    def seconds(self) -> float:
        return float(self.cells.seconds.sum())

    def by_part(self) -> pd.Series:
        return self.cells.groupby('part', sort=False).seconds.sum()


def analysis_passes(grid: dict) -> int:
    return 1 + 2 * len(grid['analyze']['thresholds'])


def estimate(grid: dict) -> Estimate:
    dataset = grid['dataset']
    if dataset not in IMAGE_COST:
        raise ValueError(f'{dataset}: only Fashion-MNIST and CIFAR-10 grids are estimated on the CPU')
    train_size, test_size = DATASET_SIZES[dataset]
    train = grid['train']
    images = min(train['examples'] or train_size, train_size)
    image_cost = IMAGE_COST[dataset]
    epochs = train['epochs']
    evaluations = epochs if train.get('eval_every_epoch', True) else 1
    rows = []
    for cell in train_cells(grid):
        speed, measured = train_speed(cell.arch, cell.trainable)
        rows += [dict(stage=cell.train_stage, arch=cell.arch, trainable=cell.trainable, part='training',
                      seconds=images * epochs * image_cost / speed, measured=measured),
                 dict(stage=cell.train_stage, arch=cell.arch, trainable=cell.trainable, part='test evaluation',
                      seconds=evaluations * test_size * image_cost / eval_speed(cell.arch), measured=cell.arch ==
                      'cifar_resnet14'),
                 dict(stage=cell.train_stage, arch=cell.arch, trainable=cell.trainable, part='start-up',
                      seconds=TRAIN_START, measured=False)]
    passes = analysis_passes(grid)
    for cell in analysed_cells(grid):
        rows += [dict(stage=cell.analyze_stage, arch=cell.arch, trainable=cell.trainable, part='analysis',
                      seconds=passes * test_size * image_cost * ANALYSIS_SLOWDOWN / eval_speed(cell.arch),
                      measured=cell.arch == 'cifar_resnet14'),
                 dict(stage=cell.analyze_stage, arch=cell.arch, trainable=cell.trainable, part='start-up',
                      seconds=ANALYZE_START, measured=False)]
    rows.append(dict(stage='other stages', arch='', trainable='', part='start-up',
                     seconds=OTHER_STAGES * OTHER_START, measured=False))
    return Estimate(pd.DataFrame(rows), images)


def report(grid: dict) -> str:
    result = estimate(grid)
    cells = result.cells
    trained = cells[cells.part == 'training']
    trained = trained.assign(trainable=[t if stage.startswith('grid_train@') else f'{t} (γ = 1 at init)'
                                        for t, stage in zip(trained.trainable, trained.stage)])
    table = (trained.groupby(['arch', 'trainable'], sort=False)
             .agg(cells=('stage', 'count'), seconds=('seconds', 'sum'), measured=('measured', 'all')).reset_index())
    lines = [f'{grid["dataset"]}: {len(trained)} trained cells ({result.train_images:,} images x '
             f'{grid["train"]["epochs"]} epochs each), {int((cells.part == "analysis").sum())} analysed '
             f'({analysis_passes(grid)} test passes each)', '',
             '| network | trainable | cells | img/s | training |', '|---|---|---:|---:|---:|']
    for row in table.itertuples():
        speed, measured = train_speed(row.arch, row.trainable.split(' ')[0])
        lines.append(f'| {arch_info(row.arch).label} | {row.trainable} | {row.cells} | '
                     f'{"" if measured else "~"}{speed:,.0f} | {duration(row.seconds)} |')
    lines += ['', '| part | time |', '|---|---:|']
    lines += [f'| {part} | {duration(seconds)} |' for part, seconds in result.by_part().items()]
    lines.append(f'| **total (idle 2-core CPU)** | **{duration(result.seconds)}** |')
    return '\n'.join(lines)


def duration(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f'{seconds / 60:.1f} min'
    if seconds < 3 * 86400:
        return f'{seconds / 3600:.1f} h'
    return f'{seconds / 86400:,.0f} days'


def main(argv: list[str] | None = None) -> int:
    from bnonly.config import load_params
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    args = parser.parse_args(argv)
    try:
        print(report(load_params(args.params)['grid']))
    except ValueError as error:
        print(f'cost: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
