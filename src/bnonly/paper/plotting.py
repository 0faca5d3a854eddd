"""Drawing helpers shared by every grid's figures: one style, error bars over seeds, PNG + PDF output, and what
a set of figures declares (``FigureSet``: bnonly.figure_sets names each one the figures stage can draw).

Figures are drawn on their own ``Figure`` with an explicit Agg canvas (no pyplot state, no display), and
saved without timestamps so that an unchanged figure is byte-identical from run to run.
"""
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from bnonly import atomic

TRAINABLE_LABELS = {
    'all': 'All parameters',
    'all_but_bn': 'All but BatchNorm (γ = 1, β = 0)',
    'bn_only': 'BatchNorm only',
    'output_only': 'Output layer only',
    'bn_output': 'BatchNorm + output',
    'random_k': 'Random {k} per channel',
    'random_k_output': 'Random {k} per channel + output',
    # Beyond the paper (bnonly.trainable): any affine normalisation, so the labels name no particular one.
    'norm_only': 'Normalisation only (γ and β)',
    'gamma_only': 'Normalisation γ only',
    'beta_only': 'Normalisation β only',
}
TRAINABLE_COLOURS = {'all': 'tab:blue', 'all_but_bn': 'tab:purple', 'bn_only': 'tab:red', 'output_only': 'tab:gray',
                     'bn_output': 'tab:orange', 'random_k': 'tab:green', 'random_k_output': 'tab:olive',
                     # the colours no paper set uses, so a figure may show all ten sets apart
                     'norm_only': 'tab:brown', 'gamma_only': 'tab:pink', 'beta_only': 'tab:cyan'}
TRAINABLE_ORDER = tuple(TRAINABLE_LABELS)


@dataclass(frozen=True)
class FigureSet:
    """One grid's figures: their names as the figures stage takes them (``--figure``), which of them read the
    γ/β values or the training histories besides the summary, and how one is drawn and saved:
    ``draw(name, summary, profile, settings, out_stem, *, bn_values, history)`` -> the PNG and PDF paths."""
    name: str
    figures: tuple[str, ...]
    draw: Callable[..., list[Path]]
    needs_bn_values: frozenset[str] = frozenset()   # results/grid_bn_values.csv
    needs_history: frozenset[str] = frozenset()     # results/grid_history.csv


ARCH_COLOURS = ('tab:blue', 'tab:orange', 'tab:green', 'tab:red', 'tab:purple', 'tab:brown', 'tab:pink',
                'tab:gray', 'tab:olive', 'tab:cyan')


def new_figure(columns: int = 1, rows: int = 1, *, width: float = 4.6, height: float = 3.6,
               sharey: bool = False) -> tuple[Figure, np.ndarray]:
    """A figure with a rows x columns grid of axes (always a 2-D array)."""
    figure = Figure(figsize=(width * columns, height * rows + 0.5), layout='constrained')
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False, sharey=sharey)
    return figure, axes


def trainable_label(trainable: str, k: int | None = None) -> str:
    return TRAINABLE_LABELS.get(trainable, trainable).format(k=k if k is not None else 'k')


def percent(axis: Axes, which: str = 'y') -> None:
    """Label a [0, 100] axis with a % sign."""
    target = axis.yaxis if which == 'y' else axis.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _: f'{value:g}%'))


def log_ticks(axis: Axes, values, which: str = 'x') -> None:
    """A log axis ticked exactly at ``values`` (depths, widths, parameter counts), labelled plainly."""
    values = sorted(set(values))
    set_scale, target = (axis.set_xscale, axis.xaxis) if which == 'x' else (axis.set_yscale, axis.yaxis)
    set_scale('log')
    target.set_ticks(values)
    target.set_major_formatter(FuncFormatter(lambda value, _: f'{value:,.0f}'))
    target.set_minor_formatter(NullFormatter())


def errorbar(axis: Axes, x, mean, std, **style) -> None:
    """A line through the means with ``std`` as the half-length of its bars (the caller's caption says what
    they are: the figures pass 95% confidence half-widths); no bars where every one is 0 or NaN."""
    std = np.array([0.0 if s is None or (isinstance(s, float) and math.isnan(s)) else s for s in std], dtype=float)
    style = {'marker': 'o', 'capsize': 3, 'linewidth': 1.6, 'markersize': 5, **style}
    axis.errorbar(list(x), list(mean), yerr=std if std.any() else None, **style)


def no_data(axis: Axes, message: str) -> None:
    axis.text(0.5, 0.5, message, ha='center', va='center', transform=axis.transAxes, wrap=True, color='0.4')
    axis.set_xticks([])
    axis.set_yticks([])


def caption(figure: Figure, text: str) -> None:
    figure.supxlabel(text, fontsize=8, color='0.35')


def save(figure: Figure, stem: str | Path, *, dpi: int = 150) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf``; returns both paths."""
    stem = Path(stem)
    paths = [stem.with_suffix('.png'), stem.with_suffix('.pdf')]
    with atomic.replacing(paths[0]) as temporary:
        figure.savefig(temporary, dpi=dpi, metadata={'Software': None})
    with atomic.replacing(paths[1]) as temporary:
        figure.savefig(temporary, metadata={'CreationDate': None, 'Producer': None, 'Creator': None})
    return paths
