"""The arithmetic of training: FLOPs per image of a forward pass and of a training step, and of a whole grid.

Counted by torch's FlopCounterMode as autograd runs the step, so frozen weights count only what they cost: a
training step is about 3x the forward for ``all`` (forward, input gradients, weight gradients), 2x for
``bn_only`` (no weight gradients for the convolutions) and 1x for ``output_only`` (no backward through the
trunk). Convolutions and matmuls are counted; BatchNorm, ReLU and the residual adds are not (memory-bound, a
few per cent of the FLOPs). A grid is counted on the meta device (shapes only: instant even for WRN-14-32).

This is arithmetic, not time: how long a grid takes depends on how close a machine runs to its peak, which
the benchmarks measure (benchmarks/README.md).

    python -m bnonly.flops --params params/paper_cifar10.yaml
"""
import argparse
import sys
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bnonly.models import create_model
from bnonly.paper.grid import train_cells
from bnonly.trainable import set_trainable

# channels, image size, training and test images, classes.
DATASET_SHAPES = {'fashion_mnist': (1, 28, 60_000, 10_000, 10), 'cifar10': (3, 32, 50_000, 10_000, 10),
                  'imagenet': (3, 224, 1_281_167, 50_000, 1000)}
# random_k trains a few entries of each conv weight through a parametrization, which asks autograd for the
# whole weight gradient: its step costs what ``all``'s costs. The other sets are counted as they are.
COUNTED_AS = {'random_k': 'all', 'random_k_output': 'all'}


def step_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, train: bool) -> float:
    """FLOPs per image of one forward pass (``train=False``) or of one training step (forward, cross-entropy,
    backward). Leaves ``model``'s parameters, buffers, gradients and mode as they were."""
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    was_training = model.training
    model.train(train)
    with FlopCounterMode(display=False) as counter:
        if train:
            F.cross_entropy(model(x), y).backward()
        else:
            with torch.no_grad():
                model(x)
    for param in model.parameters():
        param.grad = None
    model.load_state_dict(state)
    model.train(was_training)
    return counter.get_total_flops() / len(x)


def arch_flops(arch: str, trainable: str, *, in_chans: int, size: int, num_classes: int = 10) -> dict:
    """{'forward': ..., 'train': ...} FLOPs per image of ``arch`` frozen to ``trainable``."""
    model = create_model(arch, num_classes=num_classes, in_chans=in_chans, seed=0)
    set_trainable(model, COUNTED_AS.get(trainable, trainable))
    model = model.to('meta')
    x = torch.empty(2, in_chans, size, size, device='meta')
    y = torch.zeros(2, dtype=torch.long, device='meta')
    return {'forward': step_flops(model, x, y, train=False), 'train': step_flops(model, x, y, train=True)}


def grid_flops(grid: dict) -> pd.DataFrame:
    """One row per trained cell of the params ``grid`` section: its training steps' and its per-epoch test
    evaluations' FLOPs (the analyses' few test passes are left out)."""
    in_chans, size, train_size, test_size, classes = DATASET_SHAPES[grid['dataset']]
    train = grid['train']
    images = min(train['examples'] or train_size, train_size)
    per_image, rows = {}, []
    for cell in train_cells(grid):
        key = cell.arch, cell.trainable
        if key not in per_image:
            per_image[key] = arch_flops(*key, in_chans=in_chans, size=size, num_classes=classes)
        rows.append(dict(stage=cell.train_stage, arch=cell.arch, trainable=cell.trainable,
                         train=per_image[key]['train'] * images * train['epochs'],
                         test=per_image[key]['forward'] * test_size * train['epochs']))
    return pd.DataFrame(rows)


def readable(flops: float) -> str:
    """1.23e17 -> '123 PFLOP'."""
    for unit, scale in (('EFLOP', 1e18), ('PFLOP', 1e15), ('TFLOP', 1e12), ('GFLOP', 1e9)):
        if flops >= scale:
            return f'{flops / scale:,.3g} {unit}'
    return f'{flops:,.0f} FLOP'


def report(grid: dict) -> str:
    cells = grid_flops(grid)
    train, test = cells.train.sum(), cells.test.sum()
    table = (cells.groupby(['arch', 'trainable'], sort=False)
             .agg(cells=('stage', 'count'), train=('train', 'sum')).reset_index())
    lines = [f'{grid["dataset"]}: {len(cells)} trained cells, {grid["train"]["epochs"]} epochs each', '',
             '| network | trainable | cells | training steps |', '|---|---|---:|---:|']
    lines += [f'| {row.arch} | {row.trainable} | {row.cells} | {readable(row.train)} |'
              for row in table.itertuples()]
    lines += ['', f'training steps: {readable(train)}; test evaluation after every epoch: {readable(test)}. At '
                  f'100% of a 1 PFLOP/s peak (about an H100\'s dense bf16) the whole would take '
                  f'{(train + test) / 1e15 / 3600:,.3g} h: a floor, not an estimate.']
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    from bnonly.config import load_params
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    args = parser.parse_args(argv)
    grid = load_params(args.params)['grid']
    if grid['dataset'] not in DATASET_SHAPES:
        print(f'flops: unknown data set {grid["dataset"]!r}', file=sys.stderr)
        return 1
    print(report(grid))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
