"""The runs of extensions/grid.yaml that the figures and claims read, and one run's numbers in the tables.

A run is ``ARCH-TRAINABLE[-VARIANT]`` exactly as grid.yaml spells it; the aggregated tables carry it in their
``run`` column. Selecting on that one column, rather than on arch, trainable and each model setting, keeps
two cells that differ only in a variant (norm_only-groupnorm, norm_only-layernorm) apart whatever the other
columns hold for a network that has no BatchNorm. A claim's cells are a ``RunPair`` (bnonly.extensions.claims).
"""
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from bnonly.paper.results import Comparison, Side, seed_values, summary_row

RESNET, VIT = 'cifar_resnet14', 'vit_fmnist_tiny'

# E1, X1-X4, X13-X15: γ, β or both on the BatchNorm ResNet-14, the random baselines with both's count (k = 2)
# and with γ's or β's alone (k = 1), and the output layer alone.
BN_ONLY = f'{RESNET}-bn_only'
GAMMA_ONLY = f'{RESNET}-gamma_only'
BETA_ONLY = f'{RESNET}-beta_only'
RANDOM_K = f'{RESNET}-random_k'
RANDOM_K1 = f'{RESNET}-random_k-k1'
OUTPUT_ONLY = f'{RESNET}-output_only'

# E2, X4-X6: per normalisation, (norm-only run, its equal-count random_k run). On BatchNorm norm_only is
# bn_only, and the grid trains it once under that name.
NORMS = {'BatchNorm': (BN_ONLY, RANDOM_K),
         'GroupNorm': (f'{RESNET}-norm_only-groupnorm', f'{RESNET}-random_k-groupnorm'),
         'LayerNorm': (f'{RESNET}-norm_only-layernorm', f'{RESNET}-random_k-layernorm')}

# E3, X7-X9: the ViT, whose normalisations are LayerNorms.
VIT_NORM_ONLY, VIT_RANDOM_K = f'{VIT}-norm_only', f'{VIT}-random_k'
VIT_OUTPUT_ONLY, VIT_ALL = f'{VIT}-output_only', f'{VIT}-all'

# E4, X10-X12: BN-only under other inits; bn_only (γ ~ U[0, 1), Kaiming-normal weights) is the reference of
# both groups. (label, run), reference first.
GAMMA_INITS = (('γ ~ U[0, 1)', BN_ONLY), ('γ = 1', f'{BN_ONLY}-fixed'),
               ('γ ~ U[−1, 1)', f'{BN_ONLY}-positivenegative'))
WEIGHT_INITS = (('Kaiming normal', BN_ONLY), ('orthogonal', f'{BN_ONLY}-orthogonal'),
                ('binary ±σ', f'{BN_ONLY}-binary'))

ALL_RUNS = tuple(dict.fromkeys(
    [BN_ONLY, GAMMA_ONLY, BETA_ONLY, RANDOM_K, RANDOM_K1, OUTPUT_ONLY,
     *(run for pair in NORMS.values() for run in pair),
     VIT_NORM_ONLY, VIT_RANDOM_K, VIT_OUTPUT_ONLY, VIT_ALL, *(run for _, run in GAMMA_INITS + WEIGHT_INITS)]))


class Stat(NamedTuple):
    """A mean over seeds with the half-width of its 95% t interval (NaN when n < 2)."""
    mean: float
    ci95: float
    n: int


def per_seed(cells: pd.DataFrame, run: str, metric: str, source: str = 'train') -> pd.Series:
    """A run's metric per seed (reports/grid_cells.csv), indexed by seed; empty when the run is absent."""
    return seed_values(cells, Side(run, metric, source))


def summary_stat(summary: pd.DataFrame, run: str, metric: str, source: str = 'train') -> Stat | None:
    """A run's mean and 95% half-width over seeds (reports/grid_summary.csv); None when absent."""
    row = summary_row(summary, Side(run, metric, source))
    return None if row is None else Stat(float(row['mean']), float(row['ci95']), int(row['n']))


def random_k_of(summary: pd.DataFrame, run: str) -> int | None:
    """The k a random_k run trained with, from the summary's ``k`` column (model.k) when it has one."""
    rows = summary[summary['run'] == run]
    if 'k' not in rows or rows['k'].dropna().empty:
        return None
    return int(rows['k'].dropna().iloc[0])


# ------------------------------------------------------------------------------- the claims' cells, by run
@dataclass(frozen=True)
class RunPair:
    """A claim's cells: run ``a`` against run ``b`` of one network (``label``, as the row prints it), on
    ``metric``, read by bnonly.paper.results.Results as the paper's cells are."""
    label: str
    a: str
    b: str
    metric: str = 'test_accuracy'

    def comparisons(self, results, key: str) -> list[Comparison]:
        return [Comparison(self.label, Side(self.a, self.metric), Side(self.b, self.metric))]
