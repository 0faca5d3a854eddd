"""Table 1 of the paper: the parameter census of every network it trains."""
import pandas as pd
import torch

from bnonly.census import census
from bnonly.models import create_model

# (family, label, architecture, num_classes) in the paper's order.
TABLE1_NETWORKS = (
    [('CIFAR-10 deep', f'ResNet-{d}', f'cifar_resnet{d}', 10) for d in (14, 32, 56, 110, 218, 434, 866)]
    + [('CIFAR-10 wide', f'WRN-14-{k}', f'cifar_wide_resnet14_{k}', 10) for k in (1, 2, 4, 8, 16, 32)]
    + [('ImageNet', f'ResNet-{d}', f'resnet{d}', 1000) for d in (18, 34, 50, 101, 200)])


def table1() -> pd.DataFrame:
    rows = []
    for family, label, arch, num_classes in TABLE1_NETWORKS:
        # The meta device gives shapes without allocating or initialising 177M-parameter nets.
        with torch.device('meta'):
            counts = census(create_model(arch, num_classes=num_classes, seed=0))
        rows.append({'family': family, 'network': label, 'arch': arch, 'total': counts['total'],
                     'batchnorm': counts['batchnorm'], 'output': counts['output'], 'shortcut': counts['shortcut']})
    table = pd.DataFrame(rows)
    for category in ('batchnorm', 'output', 'shortcut'):
        table[f'{category}_pct'] = (100 * table[category] / table['total']).round(2)
    return table


def to_markdown(table: pd.DataFrame) -> str:
    """The paper's layout: counts exact, each category's share of the total in percent to two decimals."""
    lines = ['| Family | Network | Total | BatchNorm | Output | Shortcut |', '|---|---|---:|---:|---:|---:|']
    for row in table.itertuples():
        lines.append(f'| {row.family} | {row.network} | {row.total:,} | {row.batchnorm:,} ({row.batchnorm_pct:.2f}%) '
                     f'| {row.output:,} ({row.output_pct:.2f}%) | {row.shortcut:,} ({row.shortcut_pct:.2f}%) |')
    return '\n'.join(lines) + '\n'
