"""Figure S1 of the budget study, drawn from its aggregated training histories (results/grid_history.csv).

- left: the share of |γ| < 0.1 in excess over init against SGD steps, per network, from the histories' share
  after every epoch, minus the network's mean share at init over the seeds (the summary's
  ``gamma_init.frac_abs_below``: every budget of a network starts from the same init per seed); solid the
  3,000-step runs, dashed the 1,000-step runs (their LR drops come earlier), each with the 95% t band over
  seeds;
- right: the depth (ResNet-32 − ResNet-14) and width (WRN-14-2 − ResNet-14) gaps in final test accuracy at
  each budget, the mean per-seed difference with its 95% t interval (the claims' B5 and B6 contrast them).
"""
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bnonly.paper import plotting
from bnonly.paper.figure_data import HISTORY_GAMMA, caption_text
from bnonly.paper.figures import DEFAULTS
from bnonly.paper.names import threshold_key
from bnonly.paper.plotting import ARCH_COLOURS, FigureSet
from bnonly.reporting.intervals import t_half_width
from bnonly.study import registration as reg

SMALL_GAMMA = 0.1   # the registration's tested |γ| threshold
NETWORKS = tuple(reg.registration()['networks']['default'])
BUDGETS = tuple(reg.registration()['budgets']['default'])
LABELS = dict(zip(NETWORKS, ('ResNet-14', 'ResNet-32', 'WRN-14-2')))


def steps_per_epoch(profile: dict) -> float:
    """SGD steps per epoch of the grid: its steps over its epochs (one value, or a mixed grid's lists)."""
    steps, epochs = profile.get('steps'), profile.get('epochs')
    steps, epochs = (min(x) if isinstance(x, list) else x for x in (steps, epochs))
    return steps / epochs


def _mean_band(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    stats = frame.groupby('epoch')[column].agg(['mean', 'std', 'count'])
    return stats.assign(half=t_half_width(stats['std'], stats['count']))


def init_share(summary: pd.DataFrame, network: str) -> float:
    rows = summary[(summary.run == network) & (summary.source == 'analysis')
                   & (summary.metric == f'gamma_init.frac_abs_below.{threshold_key(SMALL_GAMMA)}')]
    return float(rows['mean'].iloc[0]) if len(rows) else np.nan


def final_accuracy(history: pd.DataFrame, run: str) -> pd.Series:
    """Each seed's test accuracy after its last epoch, indexed by seed (empty for a history without one)."""
    if 'test_accuracy' not in history:
        return pd.Series(dtype=float)
    cells = history[history.run == run].dropna(subset=['test_accuracy'])
    return cells.sort_values('epoch').groupby('seed')['test_accuracy'].last()


def gap(history: pd.DataFrame, a: str, b: str) -> tuple[float, float, int]:
    """Mean per-seed a - b and the half-width of its 95% t interval, n."""
    a, b = final_accuracy(history, a), final_accuracy(history, b)
    shared = a.index.intersection(b.index)
    d = (a.loc[shared] - b.loc[shared]).to_numpy(dtype=float)
    if not len(d):
        return np.nan, np.nan, 0
    half = float(t_half_width(d.std(ddof=1) if len(d) > 1 else np.nan, len(d)))
    return float(d.mean()), half, len(d)


def figure_s1(summary: pd.DataFrame, history: pd.DataFrame, profile: dict) -> Figure:
    figure, axes = plotting.new_figure(2, width=5.2)
    left, right = axes[0]
    column = HISTORY_GAMMA + threshold_key(SMALL_GAMMA)
    per_epoch = steps_per_epoch(profile)
    ns = []
    for colour, network in zip(ARCH_COLOURS, NETWORKS):
        init = init_share(summary, network)
        for steps, style in zip(BUDGETS, ('--', '-')):
            cells = history[history.run == reg.run(network, steps)]
            if cells.empty or np.isnan(init):
                continue
            band = _mean_band(cells, column)
            x = band.index.to_numpy() * per_epoch
            mean = 100 * (band['mean'] - init)
            left.plot(x, mean, style, color=colour, marker='o', markersize=3,
                      label=f'{LABELS[network]}, {steps:,} steps')
            left.fill_between(x, mean - 100 * band['half'].fillna(0), mean + 100 * band['half'].fillna(0),
                              color=colour, alpha=0.15, linewidth=0)
            ns += band['count'].tolist()
    left.axhline(0, color='black', linewidth=0.6)
    left.set_xlabel('SGD steps')
    left.set_ylabel(f'share of |γ| < {SMALL_GAMMA:g} minus at init (points)\nmean over seeds, band: 95% t-interval')
    left.set_title('Small γ in excess over init, during training')
    if left.lines:
        left.legend(fontsize=7)
    else:
        left.text(0.5, 0.5, 'not run', ha='center', va='center', transform=left.transAxes)
    r14, r32, wrn = NETWORKS
    for offset, (other, name, colour) in enumerate(((r32, 'depth: ResNet-32 − ResNet-14', ARCH_COLOURS[1]),
                                                    (wrn, 'width: WRN-14-2 − ResNet-14', ARCH_COLOURS[2]))):
        found = [(steps, *gap(history, reg.run(other, steps), reg.run(r14, steps))) for steps in BUDGETS]
        found = [item for item in found if item[3]]
        if not found:
            continue
        x = np.arange(len(BUDGETS))[[BUDGETS.index(item[0]) for item in found]] + (offset - 0.5) * 0.15
        right.errorbar(x, [100 * item[1] for item in found], yerr=[100 * item[2] for item in found], fmt='o-',
                       color=colour, capsize=4, label=name)
        ns += [item[3] for item in found]
    if not right.lines:
        right.text(0.5, 0.5, 'not run', ha='center', va='center', transform=right.transAxes)
    right.axhline(0, color='black', linewidth=0.6)
    right.set_xticks(range(len(BUDGETS)), [f'{steps:,}' for steps in BUDGETS])
    right.set_xlabel('SGD steps (budget)')
    right.set_ylabel('final test accuracy gap (points)\nmean per-seed difference, bars: 95% t-interval')
    right.set_title('Depth and width accuracy gaps against budget')
    if len(right.lines) > 1:
        right.legend(fontsize=7)
    figure.suptitle('Budget study (study/registration.yaml): small γ and accuracy gaps against SGD steps',
                    fontsize=10)
    figure.text(0.01, 0.0, caption_text(profile, ns or [0], 'excess over the network\'s mean share at init'),
                fontsize=7, wrap=True, va='bottom')
    return figure


FIGURES = {'S1': figure_s1}


def draw(name: str, summary: pd.DataFrame, profile: dict, settings: dict, out_stem: str | Path, *,
         bn_values: pd.DataFrame | None = None, history: pd.DataFrame | None = None) -> list[Path]:
    """Draw figure ``name`` as ``<out_stem>.png`` and ``.pdf``; ``settings``: study/grid.yaml's figures."""
    if name not in FIGURES:
        raise ValueError(f'no figure {name}; figures: {", ".join(FIGURES)}')
    figure = FIGURES[name](summary, history, profile)
    return plotting.save(figure, out_stem, dpi=int(settings.get('dpi', DEFAULTS.dpi)))


FIGURE_SET = FigureSet('study', tuple(FIGURES), draw, needs_history=frozenset(FIGURES))
