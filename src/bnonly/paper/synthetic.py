"""Stand-in results for grid cells, in the exact files the train and analyze stages write.

For tests and for trying the aggregation, figures and claims without training anything: every number is
made up (plausible in shape, BN-only below all, rising with depth and width), never a measurement.
"""
import json
import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bnonly.paper.grid import Cell, analysed_cells, arch_info, train_cells
from bnonly.paper.names import threshold_key

BASE_ACCURACY = {'all': 0.90, 'all_but_bn': 0.885, 'bn_only': 0.70, 'output_only': 0.55, 'bn_output': 0.74,
                 'random_k': 0.45, 'random_k_output': 0.60}


def _seed(cell: Cell) -> int:
    return zlib.crc32(cell.name.encode())


def batchnorm_params(arch: str) -> int:
    """γ and β of every BN of a CIFAR ResNet (stem + 2 per block + 2 projection shortcuts), or a guess."""
    info = arch_info(arch)
    if info.family == 'imagenet':
        return 10_000 * info.depth // 18
    n = (info.depth - 2) // 6
    widths = [16 * info.width, 32 * info.width, 64 * info.width]
    channels = widths[0] + sum(2 * n * w for w in widths) + widths[1] + widths[2]
    return 2 * channels


def accuracy(cell: Cell) -> float:
    info = arch_info(cell.arch)
    growth = 0.03 * math.log2(info.depth / 14 if info.family != 'imagenet' else info.depth / 18) \
        + 0.025 * math.log2(info.width)
    scale = 1.0 if cell.trainable in ('all', 'all_but_bn') else 1.6
    return min(0.99, BASE_ACCURACY[cell.trainable] + scale * growth)


def write_cell(cell: Cell, root: Path, *, dataset: str = 'fashion_mnist', epochs: int = 2, examples: int = 500,
               thresholds=(0.01, 0.05, 0.1), rng: np.random.Generator | None = None) -> None:
    rng = rng or np.random.default_rng(_seed(cell))
    bn = batchnorm_params(cell.arch)
    train_dir = Path(root) / cell.train_dir
    train_dir.mkdir(parents=True, exist_ok=True)
    trainable_params = {'bn_only': bn, 'random_k': bn, 'output_only': 650, 'bn_output': bn + 650,
                        'random_k_output': bn + 650}.get(cell.trainable, 100 * bn)
    acc = accuracy(cell) + rng.normal(0, 0.004)
    metrics = {'test_loss': 1 - acc, 'test_accuracy': acc, 'train_loss': 1 - acc, 'train_accuracy': acc + 0.01,
               'trainable_params': trainable_params, 'total_params': 100 * bn, 'batchnorm_params': bn,
               'epochs': epochs, 'train_seconds': 10.0, 'images_per_second': 1000.0}
    if dataset == 'imagenet':
        metrics['test_top5_accuracy'] = min(0.99, acc + 0.2)
    (train_dir / 'metrics.json').write_text(json.dumps(metrics))
    config = {'run': {'dataset': dataset, 'arch': cell.arch, 'trainable': cell.trainable, 'seed': cell.seed,
                      'epochs': epochs, 'examples': examples, 'batch_size': 128,
                      **cell.variants, 'norm_init': cell.norm_init},
              'data': {'dataset': dataset, 'num_classes': 1000 if dataset == 'imagenet' else 10,
                       'train_size': 60000, 'test_size': 10000}}
    (train_dir / 'config.yaml').write_text(yaml.safe_dump(config))
    # The share of small γ after each epoch: growing under BN-only, flat where γ do not train.
    growth = 0.25 if cell.trainable in ('bn_only', 'bn_output') else 0.05 if cell.trainable == 'all' else 0.0
    history = {'epoch': list(range(1, epochs + 1)), 'train_loss': [1 - acc] * epochs}
    for t in (0.01, 0.05, 0.1, 0.2):
        history['gamma_frac_abs_below_' + threshold_key(t)] = \
            [t + growth * (epoch / epochs) + rng.normal(0, 0.002) for epoch in range(1, epochs + 1)]
    pd.DataFrame(history).to_csv(train_dir / 'history.csv', index=False)


def write_analysis(cell: Cell, root: Path, *, thresholds=(0.01, 0.05, 0.1),
                   rng: np.random.Generator | None = None) -> None:
    rng = rng or np.random.default_rng(_seed(cell) + 1)
    channels = batchnorm_params(cell.arch) // 2
    info = arch_info(cell.arch)
    if cell.trainable == 'bn_only':  # a growing share of γ pushed to about 0
        share = min(0.6, 0.15 + 0.05 * math.log2(info.depth / 14 if info.family != 'imagenet' else 1)
                    + 0.05 * math.log2(info.width))
        gamma = np.where(rng.random(channels) < share, rng.normal(0, 0.003, channels), rng.uniform(0, 1, channels))
        beta = rng.normal(-0.2, 0.3, channels)
        dead = share * 0.8
    else:
        gamma, beta, dead = rng.uniform(0, 1, channels), rng.normal(0, 0.05, channels), 0.002
    acc = accuracy(cell)
    analyze_dir = Path(root) / cell.analyze_dir
    (analyze_dir / 'tables').mkdir(parents=True, exist_ok=True)
    metrics = {
        'test_accuracy': acc, 'test_images': 10000,
        'gamma': {'count': channels, 'mean': float(gamma.mean()), 'std': float(gamma.std()),
                  'min': float(gamma.min()), 'max': float(gamma.max()), 'frac_negative': float((gamma < 0).mean()),
                  'frac_abs_below': {threshold_key(t): float((np.abs(gamma) < t).mean()) for t in thresholds}},
        'gamma_init': {'frac_abs_below': {threshold_key(t): t + float(rng.normal(0, 0.005)) for t in thresholds}},
        'beta': {'count': channels, 'mean': float(beta.mean()), 'std': float(beta.std()), 'min': float(beta.min()),
                 'max': float(beta.max()), 'frac_negative': float((beta < 0).mean())},
        'clamped': {threshold_key(t): {'test_accuracy': acc - t * 0.1, 'delta': -t * 0.1} for t in thresholds},
        'clamped_random': {threshold_key(t): {'test_accuracy': acc - t, 'delta': -t} for t in thresholds},
        'dead_relu': {'granularity': 'channel', 'probability': 0.99, 'units': channels, 'fraction': dead,
                      'site': {'stem': dead, 'block': dead, 'residual': dead}},
    }
    (analyze_dir / 'metrics.json').write_text(json.dumps(metrics))
    pd.DataFrame({'layer': 'bn', 'channel': range(channels), 'gamma': gamma, 'beta': beta}).to_csv(
        analyze_dir / 'tables' / 'bn_values.csv', index=False)


def write_grid(grid: dict, root: Path, *, dataset: str = 'fashion_mnist', seed: int = 0) -> None:
    """Stand-in results for every cell the grid section declares."""
    rng = np.random.default_rng(seed)
    thresholds = tuple(grid.get('analyze', {}).get('thresholds', (0.01, 0.05, 0.1)))
    for cell in train_cells(grid):
        write_cell(cell, root, dataset=dataset, rng=rng)
    for cell in analysed_cells(grid):
        write_analysis(cell, root, thresholds=thresholds, rng=rng)
