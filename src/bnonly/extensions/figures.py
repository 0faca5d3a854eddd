"""Figures E1-E4 of the extensions grid, drawn from its aggregated tables (bnonly.paper.aggregate).

Every bar is a run's mean over seeds and its error bar the 95% confidence interval of that mean (Student's t,
n - 1 degrees of freedom: the summary's ``ci95``); captions and axis labels say so. A run the tables lack
leaves its bar out and says "not run".

- E1: γ only vs β only vs both (bn_only) on ResNet-14, beside the random baselines with both's count (k = 2) and
  with γ's or β's alone (k = 1), and the output layer alone.
- E2: per normalisation (BatchNorm, GroupNorm, LayerNorm ResNet-14): norm-only vs its equal-count random_k.
- E3: the ViT: LayerNorm only vs random_k (equal count), output layer only, all parameters.
- E4: BN-only per initialisation (γ: U[0, 1), 1, U[-1, 1); frozen weights: Kaiming normal, orthogonal,
  binary): test accuracy, and the share of |γ| < 0.1 after the last epoch (results/grid_history.csv).
"""
import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bnonly.extensions import runs
from bnonly.extensions.runs import Stat, summary_stat
from bnonly.paper import plotting
from bnonly.paper.figure_data import HISTORY_GAMMA, caption_text
from bnonly.paper.figures import DEFAULTS
from bnonly.paper.names import threshold_key
from bnonly.paper.plotting import FigureSet
from bnonly.reporting.intervals import t_half_width

ACCURACY = 'test accuracy (%)\nmean over seeds, bars: 95% t-interval'
SMALL_GAMMA = 0.1   # E4: the claims' primary |γ| threshold (bnonly.paper.paper_claims.PRIMARY_THRESHOLD)
SMALL_GAMMA_COLUMN = HISTORY_GAMMA + threshold_key(SMALL_GAMMA)   # its column in the training history (Figure 8's)


class Bar(NamedTuple):
    label: str
    stat: Stat | None
    colour: str | None


def _accuracy(summary: pd.DataFrame, run: str) -> Stat | None:
    return summary_stat(summary, run, 'test_accuracy')


def _random_k_label(summary: pd.DataFrame, run: str) -> str:
    return plotting.trainable_label('random_k', runs.random_k_of(summary, run))


def _draw_bars(axis: Axes, positions, bars: list[Bar], width: float, *, scale: float = 100, label=False) -> None:
    """Bars at ``positions`` with their 95% half-widths; an absent run gets no bar and a 'not run' note."""
    for x, bar in zip(positions, bars):
        if bar.stat is None:
            axis.text(x, 0, 'not run', rotation=90, ha='center', va='bottom', fontsize=7, color='0.4')
            continue
        half = bar.stat.ci95 if bar.stat.n > 1 and np.isfinite(bar.stat.ci95) else None
        axis.bar(x, scale * bar.stat.mean, width, yerr=None if half is None else scale * half, capsize=3,
                 color=bar.colour, label=bar.label if label else None)


def labelled_bars(axis: Axes, bars: list[Bar], *, gaps: tuple[int, ...] = (), scale: float = 100) -> None:
    """One bar per entry, each with its own tick label; ``gaps``: indices before which a cluster starts."""
    positions = np.arange(len(bars)) + np.searchsorted(np.asarray(gaps, dtype=int), np.arange(len(bars)),
                                                       side='right') * 0.6
    _draw_bars(axis, positions, bars, 0.7, scale=scale)
    axis.set_xticks(positions, [bar.label for bar in bars], rotation=25, ha='right', rotation_mode='anchor',
                    fontsize=8)


def clustered_bars(axis: Axes, clusters: dict[str, list[Bar]], *, scale: float = 100) -> None:
    """Clusters side by side, the bars of a cluster next to each other; the legend names the bars of the first."""
    per_cluster = max(len(bars) for bars in clusters.values())
    width = 0.8 / per_cluster
    for index in range(per_cluster):
        positions = np.arange(len(clusters)) + (index - (per_cluster - 1) / 2) * width
        column = [bars[index] for bars in clusters.values()]
        _draw_bars(axis, positions, column, width, scale=scale, label=True)
    axis.set_xticks(np.arange(len(clusters)), list(clusters))
    handles, labels = axis.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axis.legend(unique.values(), unique.keys(), fontsize=8)


def _caption(figure: Figure, profile: dict, n_values, extra: str) -> None:
    """The paper figures' caption (bnonly.paper.figure_data.caption_text), wrapped to the figure's width."""
    width = int(figure.get_figwidth() * 12)   # characters of the 8-point caption per inch, with a margin
    plotting.caption(figure, textwrap.fill(caption_text(profile, n_values, extra), width))


def _finish(axis: Axes, ylabel: str) -> None:
    plotting.percent(axis)
    axis.set_ylabel(ylabel)
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3, axis='y')


def _n_values(*clusters: list[Bar]) -> list[int]:
    return [bar.stat.n for bars in clusters for bar in bars if bar.stat is not None]


def _empty(axes, *clusters: list[Bar]) -> bool:
    if _n_values(*clusters):
        return False
    for axis in np.ravel(axes):
        plotting.no_data(axis, 'none of these runs is in the aggregated tables')
    return True


def _accuracy_bars(bars: list[Bar], profile: dict, title: str, note: str) -> Figure:
    """One panel of labelled test-accuracy bars (E1, E3), with its title and caption."""
    figure, axes = plotting.new_figure(width=5.6, height=4.0)
    if not _empty(axes, bars):
        labelled_bars(axes[0, 0], bars)
        _finish(axes[0, 0], ACCURACY)
    figure.suptitle(title)
    _caption(figure, profile, _n_values(bars), note)
    return figure


def figure_e1(summary: pd.DataFrame, history: pd.DataFrame, profile: dict) -> Figure:
    bars = [Bar(plotting.trainable_label(name), _accuracy(summary, run), plotting.TRAINABLE_COLOURS[name])
            for name, run in (('gamma_only', runs.GAMMA_ONLY), ('beta_only', runs.BETA_ONLY),
                              ('bn_only', runs.BN_ONLY))]
    bars += [Bar(_random_k_label(summary, run), _accuracy(summary, run), plotting.TRAINABLE_COLOURS['random_k'])
             for run in (runs.RANDOM_K, runs.RANDOM_K1)]
    bars.append(Bar(plotting.trainable_label('output_only'), _accuracy(summary, runs.OUTPUT_ONLY),
                    plotting.TRAINABLE_COLOURS['output_only']))
    return _accuracy_bars(bars, profile, 'E1: γ only vs β only vs both (BatchNorm only), ResNet-14',
                          'Random k per channel: k = 2 matches the count of γ and β together, k = 1 that of γ '
                          'only or β only')


def figure_e2(summary: pd.DataFrame, history: pd.DataFrame, profile: dict) -> Figure:
    clusters = {norm: [Bar(plotting.trainable_label('norm_only'), _accuracy(summary, norm_run),
                         plotting.TRAINABLE_COLOURS['norm_only']),
                     Bar(_random_k_label(summary, random_run), _accuracy(summary, random_run),
                         plotting.TRAINABLE_COLOURS['random_k'])]
              for norm, (norm_run, random_run) in runs.NORMS.items()}
    figure, axes = plotting.new_figure(width=6.0, height=4.0)
    if not _empty(axes, *clusters.values()):
        clustered_bars(axes[0, 0], clusters)
        axes[0, 0].set_xlabel('normalisation of ResNet-14')
        _finish(axes[0, 0], ACCURACY)
    figure.suptitle('E2: normalisation only vs as many random weights, by normalisation')
    _caption(figure, profile, _n_values(*clusters.values()), 'On BatchNorm, normalisation only is bn_only; random k '
                                                           'per channel trains as many weights as γ and β')
    return figure


def figure_e3(summary: pd.DataFrame, history: pd.DataFrame, profile: dict) -> Figure:
    bars = [Bar('LayerNorm only (γ and β)', _accuracy(summary, runs.VIT_NORM_ONLY),
                plotting.TRAINABLE_COLOURS['norm_only']),
            Bar(_random_k_label(summary, runs.VIT_RANDOM_K), _accuracy(summary, runs.VIT_RANDOM_K),
                plotting.TRAINABLE_COLOURS['random_k']),
            Bar(plotting.trainable_label('output_only'), _accuracy(summary, runs.VIT_OUTPUT_ONLY),
                plotting.TRAINABLE_COLOURS['output_only']),
            Bar(plotting.trainable_label('all'), _accuracy(summary, runs.VIT_ALL), plotting.TRAINABLE_COLOURS['all'])]
    return _accuracy_bars(bars, profile, 'E3: a ViT (vit_fmnist_tiny): LayerNorm only and its baselines',
                          'Random k per channel: k weights per output channel of the layers that write to the '
                          'residual stream, as many as the LayerNorms\' γ and β')


def seed_stat(values: pd.Series) -> Stat | None:
    """Mean and 95% half-width of per-seed values (the summary's ci95: bnonly.reporting.intervals); None when
    there are none."""
    values = values.dropna().astype(float)
    if values.empty:
        return None
    std = values.std(ddof=1) if len(values) > 1 else math.nan
    return Stat(float(values.mean()), float(t_half_width(std, len(values))), len(values))


def final_small_gamma(history: pd.DataFrame, run: str) -> Stat | None:
    """Mean and 95% half-width over seeds of the share of |γ| < SMALL_GAMMA after a run's last epoch."""
    if history is None or SMALL_GAMMA_COLUMN not in history or 'run' not in history:
        return None
    rows = history[history['run'] == run].dropna(subset=[SMALL_GAMMA_COLUMN])
    last = rows.sort_values('epoch').groupby('seed').tail(1)
    return seed_stat(last.set_index('seed')[SMALL_GAMMA_COLUMN])


def figure_e4(summary: pd.DataFrame, history: pd.DataFrame, profile: dict) -> Figure:
    inits = runs.GAMMA_INITS + runs.WEIGHT_INITS[1:]   # the reference (bn_only) once
    colours = ['tab:red'] + ['tab:orange'] * (len(runs.GAMMA_INITS) - 1) + ['tab:purple'] * (len(runs.WEIGHT_INITS) - 1)
    gaps = (1, len(runs.GAMMA_INITS))                    # reference | γ inits | weight inits
    labels = [label if run != runs.BN_ONLY else 'paper: γ ~ U[0, 1),\nKaiming normal' for label, run in inits]
    accuracy = [Bar(label, _accuracy(summary, run), colour) for label, (_, run), colour in zip(labels, inits, colours)]
    small = [Bar(label, final_small_gamma(history, run), colour)
             for label, (_, run), colour in zip(labels, inits, colours)]
    figure, axes = plotting.new_figure(2, width=5.0, height=4.2)
    if not _empty(axes, accuracy, small):
        labelled_bars(axes[0, 0], accuracy, gaps=gaps)
        _finish(axes[0, 0], ACCURACY)
        axes[0, 0].set_title('test accuracy, BatchNorm only')
        labelled_bars(axes[0, 1], small, gaps=gaps)
        _finish(axes[0, 1], f'share of γ with |γ| < {SMALL_GAMMA:g} (%)\nmean over seeds, bars: 95% t-interval')
        axes[0, 1].set_title(f'share of |γ| < {SMALL_GAMMA:g} after the last epoch')
    figure.suptitle('E4: BatchNorm-only ResNet-14 by initialisation (orange: γ init, purple: frozen weights\' init)')
    _caption(figure, profile, _n_values(accuracy, small),
             f'β = 0 at init throughout; at init |γ| < {SMALL_GAMMA:g} for {100 * SMALL_GAMMA:g}% of γ under U[0, 1) '
             f'and U[−1, 1), for none under γ = 1')
    return figure


FIGURES: dict[str, Callable[[pd.DataFrame, pd.DataFrame, dict], Figure]] = {
    'E1': figure_e1, 'E2': figure_e2, 'E3': figure_e3, 'E4': figure_e4}


def draw(name: str, summary: pd.DataFrame, profile: dict, settings: dict, out_stem: str | Path, *,
         bn_values: pd.DataFrame | None = None, history: pd.DataFrame | None = None) -> list[Path]:
    """Draw figure ``name`` and save it as ``<out_stem>.png`` and ``.pdf``; ``settings``: grid.yaml's figures;
    ``history``: results/grid_history.csv (E4; none of these figures reads the γ/β values)."""
    if name not in FIGURES:
        raise ValueError(f'no figure {name}; figures: {", ".join(FIGURES)}')
    figure = FIGURES[name](summary, history, profile)
    return plotting.save(figure, out_stem, dpi=int(settings.get('dpi', DEFAULTS.dpi)))


FIGURE_SET = FigureSet('extensions', tuple(FIGURES), draw, needs_history=frozenset({'E4'}))
