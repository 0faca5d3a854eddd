"""The grid's per-seed cells as the claims read them, and the selectors that say which cells a claim compares.

A selector is declared with its claim (bnonly.paper.paper_claims) and asked for its comparisons here; a
metric spelled with '{t}' is read at the threshold key the claims table tests (bnonly.paper.names).
"""
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from bnonly.paper.grid import arch_info, paper_runs
from bnonly.paper.names import dataset_label, key_threshold


class Side(NamedTuple):
    """One cell's metric over seeds."""
    arch: str
    trainable: str
    metric: str
    source: str = 'train'
    group: str = 'grid'


class Comparison(NamedTuple):
    """a - b, labelled as the row prints it; ``b`` is None for a cell tested on its own."""
    label: str
    a: Side
    b: Side | None


class Results:
    """Per-seed cell values (results/grid_cells.csv), their summary (reports/grid_summary.csv) and profile."""

    def __init__(self, summary: pd.DataFrame, profile: dict, cells: pd.DataFrame):
        self.summary = paper_runs(summary)
        self.profile = profile
        self.cells = paper_runs(cells)
        self.dataset = profile.get('dataset')

    @property
    def dataset_label(self) -> str:
        return dataset_label(self.dataset)

    def values(self, side: Side) -> pd.Series:
        """The metric per seed (indexed by seed); empty when the cell is absent."""
        c = self.cells
        match = c[(c.group == side.group) & (c.arch == side.arch) & (c.trainable == side.trainable)
                  & (c.source == side.source) & (c.metric == side.metric)]
        return match.groupby('seed')['value'].first().astype(float)

    def has(self, side: Side) -> bool:
        return not self.values(side).empty

    def get(self, arch: str, trainable: str, metric: str, *, source: str = 'train',
            group: str = 'grid') -> float | None:
        """The mean over seeds from the summary (counts such as batchnorm_params), None when absent."""
        s = self.summary
        match = s[(s.group == group) & (s.arch == arch) & (s.trainable == trainable) & (s.source == source)
                  & (s.metric == metric)]
        return None if match.empty else float(match.iloc[0]['mean'])

    def batchnorm_count(self, arch: str) -> float | None:
        s = self.summary
        match = s[(s.arch == arch) & (s.source == 'train') & (s.metric == 'batchnorm_params')]
        return None if match.empty else float(match['mean'].iloc[0])

    def archs(self, *, trainable: str, metric: str = 'test_accuracy', source: str = 'train',
              group: str = 'grid', family: str | None = None) -> list[str]:
        """Networks with cells (trainable, metric), by family, depth, width; optionally one family only."""
        c = self.cells
        c = c[(c.group == group) & (c.source == source) & (c.trainable == trainable) & (c.metric == metric)]
        archs = sorted(set(c.arch), key=_order)
        return [a for a in archs if family is None or _in_family(a, family)]

    def thresholds(self, prefix: str = 'gamma.frac_abs_below.') -> list[float]:
        metrics = self.cells.loc[self.cells.metric.str.startswith(prefix), 'metric'].unique()
        return sorted(key_threshold(m[len(prefix):]) for m in metrics)


def _order(arch: str):
    return arch_info(arch).sort_key


def _in_family(arch: str, family: str) -> bool:
    info = arch_info(arch)
    return info.in_width_family if family == 'width' else info.family == family


def label(arch: str) -> str:
    return arch_info(arch).label


# ------------------------------------------------------------------------------------------ selectors
@dataclass(frozen=True)
class PerNetwork:
    """Every network with both cells: trainable set ``a`` against ``b`` (metric ``b_metric`` when given)."""
    a: str
    b: str
    metric: str = 'test_accuracy'
    b_metric: str | None = None
    source: str = 'train'
    group: str = 'grid'

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        metric = self.metric.format(t=key)
        b_metric = (self.b_metric or self.metric).format(t=key)
        found = []
        for arch in results.archs(trainable=self.a, metric=metric, source=self.source, group=self.group):
            a = Side(arch, self.a, metric, self.source, self.group)
            b = Side(arch, self.b, b_metric, self.source, self.group)
            if results.has(b):
                found.append(Comparison(label(arch), a, b))
        return found


@dataclass(frozen=True)
class EachNetwork:
    """Every network with the cell, each tested on its own."""
    trainable: str
    metric: str
    source: str = 'train'

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        metric = self.metric.format(t=key)
        return [Comparison(label(arch), Side(arch, self.trainable, metric, self.source), None)
                for arch in results.archs(trainable=self.trainable, metric=metric, source=self.source)]


@dataclass(frozen=True)
class FamilyEnds:
    """The largest vs the smallest BN-only network of a family (by depth, or by width): none if under two."""
    family: str
    metric: str = 'test_accuracy'
    source: str = 'train'

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        metric = self.metric.format(t=key)
        archs = results.archs(trainable='bn_only', metric=metric, source=self.source, family=self.family)
        if self.family == 'width' and 'cifar_wide_resnet14_1' in archs and 'cifar_resnet14' in archs:
            archs.remove('cifar_resnet14')  # the same network twice
        size = (lambda a: arch_info(a).width) if self.family == 'width' else (lambda a: arch_info(a).depth)
        archs = sorted(archs, key=size)
        if len(archs) < 2 or size(archs[0]) == size(archs[-1]):
            return []
        big, small = archs[-1], archs[0]
        return [Comparison(f'{label(big)} − {label(small)}', Side(big, 'bn_only', metric, self.source),
                           Side(small, 'bn_only', metric, self.source))]


@dataclass(frozen=True)
class EqualBatchNorm:
    """Each wide BN-only network against the deep one closest in BatchNorm count, if within ``tolerance`` (a
    fraction of the wide one's count)."""
    tolerance: float

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        deep = results.archs(trainable='bn_only', family='deep')
        found = []
        for wide in results.archs(trainable='bn_only', family='wide'):
            bn_wide = results.batchnorm_count(wide)
            if arch_info(wide).width == 1 or not bn_wide:
                continue
            close = [(abs(results.batchnorm_count(d) / bn_wide - 1), d) for d in deep if results.batchnorm_count(d)]
            close = [c for c in close if c[0] <= self.tolerance]
            if close:
                d = min(close)[1]
                text = f'{label(d)} ({results.batchnorm_count(d):,.0f} BN) − {label(wide)} ({bn_wide:,.0f} BN)'
                found.append(Comparison(text, Side(d, 'bn_only', 'test_accuracy'),
                                        Side(wide, 'bn_only', 'test_accuracy')))
        return found


@dataclass(frozen=True)
class Targets:
    """Numbers the paper reports for cells of a grid run on ``dataset``: (cell, the paper's value) pairs."""
    dataset: str
    targets: tuple[tuple[Side, float], ...]
