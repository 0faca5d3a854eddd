"""The grid's per-seed cells as the claims read them, and the selectors that say which cells a claim compares.

Every cell is found by its run, exactly as grid.yaml spells it (``ARCH-TRAINABLE[-VARIANT]...``,
bnonly.vocabulary.parse_run), the aggregated tables' ``run`` column: a variant run (Figure 1's
``cifar_resnet14-all-fixed``) is another experiment than its paper run (``cifar_resnet14-all``), never pooled with
it. A selector names what it compares on each network by the run less its network, its *setup*: a trainable set
and any variant tokens (``'bn_only'``, ``'all-fixed'``). A selector is declared with its claim
(bnonly.paper.paper_claims) and asked for its comparisons here; a metric spelled with '{t}' is read at the
threshold key the claims table tests (bnonly.paper.names). ``seed_values`` and ``summary_row`` are the same
lookups on a bare table, for the extensions (bnonly.extensions.runs).
"""
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from bnonly.paper.grid import arch_info
from bnonly.paper.names import dataset_label, key_threshold
from bnonly.vocabulary import parse_run


def run_of(arch: str, setup: str) -> str:
    """The run of ``setup`` (a trainable set and any variant tokens) on the network ``arch``."""
    return f'{arch}-{setup}'


class Side(NamedTuple):
    """One run's metric over seeds."""
    run: str
    metric: str
    source: str = 'train'

    @property
    def arch(self) -> str:
        return parse_run(self.run)[0]

    @property
    def trainable(self) -> str:
        return parse_run(self.run)[1]

    @property
    def setup(self) -> str:
        """The run less its network: its trainable set and variant tokens."""
        return self.run.split('-', 1)[1]

    def on(self, arch: str) -> 'Side':
        """The same setup and metric on another network."""
        return self._replace(run=run_of(arch, self.setup))


class Comparison(NamedTuple):
    """a - b, labelled as the row prints it; ``b`` is None for a cell tested on its own."""
    label: str
    a: Side
    b: Side | None


def _with_run(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its ``run`` column; a table written before runs had variants holds the paper's runs only."""
    return table if 'run' in table else table.assign(run=table.arch + '-' + table.trainable)


def _rows(table: pd.DataFrame, side: Side) -> pd.DataFrame:
    return table[(table.run == side.run) & (table.source == side.source) & (table.metric == side.metric)]


def seed_values(cells: pd.DataFrame, side: Side) -> pd.Series:
    """The metric per seed (indexed by seed) in a per-seed cells table; empty when the run has none."""
    return _rows(cells, side).groupby('seed')['value'].first().astype(float)


def summary_row(summary: pd.DataFrame, side: Side) -> pd.Series | None:
    """The summary's row (mean, ci95, n ...) of the run's metric, None when absent."""
    match = _rows(summary, side)
    return None if match.empty else match.iloc[0]


class Results:
    """Per-seed cell values (results/grid_cells.csv), their summary (reports/grid_summary.csv) and profile."""

    def __init__(self, summary: pd.DataFrame, profile: dict, cells: pd.DataFrame):
        self.summary = _with_run(summary)
        self.profile = profile
        self.cells = _with_run(cells)
        self.dataset = profile.get('dataset')

    @property
    def dataset_label(self) -> str:
        return dataset_label(self.dataset)

    def values(self, side: Side) -> pd.Series:
        """The metric per seed (indexed by seed); empty when the cell is absent."""
        return seed_values(self.cells, side)

    def has(self, side: Side) -> bool:
        return not self.values(side).empty

    def get(self, run: str, metric: str, *, source: str = 'train') -> float | None:
        """The mean over seeds from the summary (counts such as batchnorm_params), None when absent."""
        row = summary_row(self.summary, Side(run, metric, source))
        return None if row is None else float(row['mean'])

    def batchnorm_count(self, run: str) -> float | None:
        return self.get(run, 'batchnorm_params')

    def archs(self, setup: str, *, metric: str = 'test_accuracy', source: str = 'train',
              family: str | None = None) -> list[str]:
        """Networks with cells of the run ``<arch>-<setup>`` and the metric, by family, depth, width; optionally
        one family only."""
        c = self.cells
        c = c[(c.run == c.arch + '-' + setup) & (c.source == source) & (c.metric == metric)]
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
    """Every network with both cells: setup ``a`` against ``b`` (metric ``b_metric`` when given); only the
    networks ``archs`` when given (a registered scope: another network's cells never enter the test)."""
    a: str
    b: str
    metric: str = 'test_accuracy'
    b_metric: str | None = None
    source: str = 'train'
    archs: tuple[str, ...] = ()

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        metric = self.metric.format(t=key)
        b_metric = (self.b_metric or self.metric).format(t=key)
        found = []
        for arch in results.archs(self.a, metric=metric, source=self.source):
            if self.archs and arch not in self.archs:
                continue
            a = Side(run_of(arch, self.a), metric, self.source)
            b = Side(run_of(arch, self.b), b_metric, self.source)
            if results.has(b):
                found.append(Comparison(label(arch), a, b))
        return found


@dataclass(frozen=True)
class EachNetwork:
    """Every network with the cell, each tested on its own."""
    setup: str
    metric: str
    source: str = 'train'

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        metric = self.metric.format(t=key)
        return [Comparison(label(arch), Side(run_of(arch, self.setup), metric, self.source), None)
                for arch in results.archs(self.setup, metric=metric, source=self.source)]


@dataclass(frozen=True)
class FamilyEnds:
    """The largest vs the smallest BN-only network of a family (by depth, or by width): none if under two."""
    family: str
    metric: str = 'test_accuracy'
    source: str = 'train'

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        metric = self.metric.format(t=key)
        archs = results.archs('bn_only', metric=metric, source=self.source, family=self.family)
        if self.family == 'width' and 'cifar_wide_resnet14_1' in archs and 'cifar_resnet14' in archs:
            archs.remove('cifar_resnet14')  # the same network twice
        size = (lambda a: arch_info(a).width) if self.family == 'width' else (lambda a: arch_info(a).depth)
        archs = sorted(archs, key=size)
        if len(archs) < 2 or size(archs[0]) == size(archs[-1]):
            return []
        big, small = archs[-1], archs[0]
        return [Comparison(f'{label(big)} − {label(small)}', Side(run_of(big, 'bn_only'), metric, self.source),
                           Side(run_of(small, 'bn_only'), metric, self.source))]


@dataclass(frozen=True)
class EqualBatchNorm:
    """Each wide BN-only network against the deep one closest in BatchNorm count, if within ``tolerance`` (a
    fraction of the wide one's count)."""
    tolerance: float

    def comparisons(self, results: Results, key: str) -> list[Comparison]:
        deep = results.archs('bn_only', family='deep')
        count = lambda arch: results.batchnorm_count(run_of(arch, 'bn_only'))  # noqa: E731
        found = []
        for wide in results.archs('bn_only', family='wide'):
            bn_wide = count(wide)
            if arch_info(wide).width == 1 or not bn_wide:
                continue
            close = [(abs(count(d) / bn_wide - 1), d) for d in deep if count(d)]
            close = [c for c in close if c[0] <= self.tolerance]
            if close:
                d = min(close)[1]
                text = f'{label(d)} ({count(d):,.0f} BN) − {label(wide)} ({bn_wide:,.0f} BN)'
                found.append(Comparison(text, Side(run_of(d, 'bn_only'), 'test_accuracy'),
                                        Side(run_of(wide, 'bn_only'), 'test_accuracy')))
        return found


@dataclass(frozen=True)
class Targets:
    """Numbers the paper reports for cells of a grid run on ``dataset``: (cell, the paper's value) pairs."""
    dataset: str
    targets: tuple[tuple[Side, float], ...]
