"""Figures 1 to 7 of the paper, and Figure 8 of ours, drawn from the aggregated grid (bnonly.paper.aggregate);
what each plots, and its caption, is selected by bnonly.paper.figure_data.

Each ``figureN(summary, bn_values, profile, settings)`` returns a matplotlib ``Figure`` (Figure 8 also takes
``history``); ``draw`` saves it as PNG and PDF. ``summary`` is reports/grid_summary.csv, ``bn_values``
results/grid_bn_values.csv (Figures 4 and 5), ``history`` results/grid_history.csv (Figure 8); ``profile`` is
the ``profile`` block of results/grid_summary.json, ``settings`` the ``figures`` section of grid.yaml. Accuracies and fractions are plotted in percent; every
point is the mean over seeds, and its error bar the 95% confidence interval of that mean (Student's t, n - 1
degrees of freedom) wherever n > 1; Figure 4's bands are ±1 standard deviation over seeds, and say so.

1. all vs all_but_bn (γ = 1, β = 0 at init) across depth and width (and ImageNet depth).
2. every trainable set across depth and width (ImageNet: top-1 and top-5).
3. BN-only accuracy against the number of BatchNorm parameters, deep family vs wide family.
4. distribution of γ and β, BN-only vs all, per network.
5. fraction of |γ| below each threshold, per network.
6. change in test accuracy when every γ with |γ| below a threshold is set to 0.
7. fraction of dead ReLU channels (Pr[output = 0] > p over the test set), BN-only vs all.
8. (ours) the share of small |γ| after every epoch of training: how BN-only training pushes γ towards 0.
"""
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bnonly.paper import plotting
from bnonly.paper.plotting import FigureSet
from bnonly.paper.figure_data import (TRACED, arch_order, caption_text, clamping_table, compared_first,
                                      family_panels, fixed_rows, gamma_fractions, gamma_history, random_k, rows,
                                      trainable_order)
from bnonly.paper.grid import arch_info, paper_runs
from bnonly.settings import FiguresSettings

# What a grid file without a `figures` section, or without one of its keys, draws with.
DEFAULTS = FiguresSettings()


# ---------------------------------------------------------------------------------------------- figures
def _accuracy_panels(figure_title: str, data: pd.DataFrame, trainables: list[str], profile: dict, k,
                     metrics: tuple[tuple[str, str], ...], chance: float | None) -> Figure:
    """Accuracy against depth/width: one panel per family (and per metric for ImageNet), one line per set."""
    panels = []
    for metric, metric_label in metrics:
        for title, xlabel, panel in family_panels(data[data.metric == metric]):
            if metric != 'test_accuracy' and panel.family.iloc[0] != 'imagenet':
                continue
            panels.append((f'{title} ({metric_label})', xlabel, panel))
    figure, axes = plotting.new_figure(max(1, len(panels)))
    if not panels:
        plotting.no_data(axes[0, 0], 'no cells of this kind in the grid')
    for axis, (title, xlabel, panel) in zip(axes[0], panels):
        for trainable in trainables:
            line = panel[panel.trainable == trainable].sort_values('x')
            if line.empty:
                continue
            plotting.errorbar(axis, line.x, 100 * line['mean'], 100 * line['ci95'],
                              label=plotting.trainable_label(trainable, k),
                              color=plotting.TRAINABLE_COLOURS.get(trainable))
        if chance is not None:
            axis.axhline(100 * chance, color='0.5', linestyle=':', linewidth=1, label='chance')
        plotting.log_ticks(axis, panel.x)
        plotting.percent(axis)
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.set_ylabel('test accuracy (%)')
        axis.grid(alpha=0.3)
    if panels:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: labels[i] == 'chance')  # chance last
        axes[0, 0].legend([handles[i] for i in order], [labels[i] for i in order], fontsize=8)
    figure.suptitle(figure_title)
    plotting.caption(figure, caption_text(profile, data['n']))
    return figure


def _chance(profile: dict) -> float:
    return 1 / 1000 if profile.get('dataset') == 'imagenet' else 1 / 10


def figure1(summary, bn_values, profile, settings) -> Figure:
    data = fixed_rows(summary, 'train')
    return _accuracy_panels('Figure 1: all parameters vs all but BatchNorm (γ = 1, β = 0 at init)', data,
                            trainable_order(data.trainable), profile, None,
                            (('test_accuracy', 'top-1'), ('test_top5_accuracy', 'top-5')), None)


def figure2(summary, bn_values, profile, settings) -> Figure:
    data = rows(summary, 'train')
    return _accuracy_panels('Figure 2: accuracy of each trainable set across depth and width', data,
                            trainable_order(data.trainable), profile, random_k(summary),
                            (('test_accuracy', 'top-1'), ('test_top5_accuracy', 'top-5')), _chance(profile))


def figure3(summary, bn_values, profile, settings) -> Figure:
    data = rows(summary, 'train', 'test_accuracy')
    data = data[(data.trainable == 'bn_only') & (data.family != 'imagenet')]
    figure, axes = plotting.new_figure(width=6.4, height=4.2)
    axis = axes[0, 0]
    families = (('deep', 'deeper (ResNet-D)', 'tab:red', 'o'), ('wide', 'wider (WRN-14-W)', 'tab:blue', 's'))
    drawn = []
    for family, label, colour, marker in families:
        if family == 'deep':
            line = data[data.family == 'deep']
        else:
            line = data[(data.family == 'wide') | ((data.family == 'deep') & (data.depth == 14))]
            if not (line.family == 'wide').any():
                continue
        line = line.sort_values('batchnorm_params')
        if line.empty:
            continue
        plotting.errorbar(axis, line.batchnorm_params, 100 * line['mean'], 100 * line['ci95'], label=label,
                          color=colour, marker=marker)
        for row in line.itertuples():
            axis.annotate(row.label, (row.batchnorm_params, 100 * row.mean), textcoords='offset points',
                          xytext=(4, -10 if family == 'wide' else 5), fontsize=7, color=colour)
        drawn.append(line)
    if not drawn:
        plotting.no_data(axis, 'no BN-only CIFAR-style cells in the grid')
    else:
        plotting.log_ticks(axis, pd.concat(drawn).batchnorm_params)
        plotting.percent(axis)
        axis.set_xlabel('BatchNorm parameters (γ and β; log scale)')
        axis.set_ylabel('test accuracy, BatchNorm only (%)')
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
        axis.tick_params(axis='x', labelrotation=30)
    figure.suptitle('Figure 3: BatchNorm-only accuracy vs BatchNorm parameter count')
    plotting.caption(figure, caption_text(profile, data['n']))
    return figure


def _analysed(bn_values: pd.DataFrame) -> tuple[list[str], list[str]]:
    return arch_order(bn_values.arch), compared_first(bn_values.trainable)


def figure4(summary, bn_values, profile, settings) -> Figure:
    archs, trainables = _analysed(bn_values)
    bins = int(settings.get('histogram_bins', DEFAULTS.histogram_bins))
    figure, axes = plotting.new_figure(max(1, len(archs)), 2, width=3.6, height=3.0)
    if not archs:
        plotting.no_data(axes[0, 0], 'no analysed cells in the grid')
    seeds = bn_values.groupby(['arch', 'trainable'])['seed'].nunique() if archs else pd.Series(dtype=int)
    for row, (parameter, symbol, meaning) in enumerate((('gamma', 'γ', 'scale'), ('beta', 'β', 'shift'))):
        if not archs:
            break
        edges = np.linspace(bn_values[parameter].min(), bn_values[parameter].max(), bins + 1)
        for column, arch in enumerate(archs):
            axis = axes[row, column]
            for trainable in trainables:
                values = bn_values[(bn_values.arch == arch) & (bn_values.trainable == trainable)]
                if values.empty:
                    continue
                per_seed = np.array([np.histogram(rows[parameter], bins=edges)[0] / len(rows)
                                     for _, rows in values.groupby('seed')])
                mean, std = 100 * per_seed.mean(axis=0), 100 * (per_seed.std(axis=0, ddof=1)
                                                               if len(per_seed) > 1 else np.zeros(bins))
                colour = plotting.TRAINABLE_COLOURS.get(trainable)
                axis.stairs(mean, edges, color=colour, linewidth=1.4, label=plotting.trainable_label(trainable))
                if len(per_seed) > 1:
                    axis.stairs(mean + std, edges, baseline=np.clip(mean - std, 0, None), fill=True, alpha=0.25,
                                color=colour)
            axis.axvline(0, color='black', linewidth=0.6)
            axis.set_xlabel(f'{symbol} (BatchNorm {meaning})')
            if column == 0:
                axis.set_ylabel('share of BN channels (%)')
            axis.set_title(arch_info(arch).label, fontsize=10)
            axis.grid(alpha=0.3)
    if archs:
        axes[0, 0].legend(fontsize=8)
    figure.suptitle('Figure 4: distribution of the trained γ (top) and β (bottom), BatchNorm only vs all')
    plotting.caption(figure, caption_text(profile, seeds.values, f'{bins} bins shared by the panels of a row',
                                          spread='bands: ±1 std over seeds'))
    return figure


def _per_trainable_lines(title: str, table: pd.DataFrame, x: str, ylabel: str, xlabel: str, profile: dict,
                         scale: float, zero_line: bool = False, ylim=None, extra: str = '',
                         dashed: pd.DataFrame | None = None, dashed_label: str = '') -> Figure:
    """One panel per trainable set, one line per network; ``dashed`` (same columns) draws a second, dashed
    line per network (a control)."""
    trainables = compared_first(table.trainable)
    archs = arch_order(table.arch)
    figure, axes = plotting.new_figure(max(1, len(trainables)), sharey=True)
    if not trainables:
        plotting.no_data(axes[0, 0], 'no analysed cells in the grid')
    for axis, trainable in zip(axes[0], trainables):
        for index, arch in enumerate(archs):
            line = table[(table.arch == arch) & (table.trainable == trainable)].sort_values(x)
            if line.empty:
                continue
            colour = plotting.ARCH_COLOURS[index % len(plotting.ARCH_COLOURS)]
            plotting.errorbar(axis, line[x], scale * line['mean'], scale * line['ci95'], label=arch_info(arch).label,
                              color=colour)
            control = None if dashed is None else \
                dashed[(dashed.arch == arch) & (dashed.trainable == trainable)].sort_values(x)
            if control is not None and not control.empty:
                plotting.errorbar(axis, control[x], scale * control['mean'], scale * control['ci95'],
                                  label=f'{arch_info(arch).label}, {dashed_label}', color=colour, linestyle='--',
                                  marker='x')
        if zero_line:
            axis.axhline(0, color='black', linewidth=0.6)
        plotting.log_ticks(axis, table[x])
        axis.tick_params(axis='x', labelrotation=45)
        axis.xaxis.set_major_formatter(plotting.FuncFormatter(lambda value, _: f'{value:g}'))
        if ylim is not None:
            axis.set_ylim(*ylim)
        axis.set_title(plotting.trainable_label(trainable))
        axis.set_xlabel(xlabel)
        axis.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    if trainables:
        axes[0, 0].legend(fontsize=8)
    figure.suptitle(title)
    plotting.caption(figure, caption_text(profile, table['n'], extra))
    return figure


def figure5(summary, bn_values, profile, settings) -> Figure:
    thresholds = settings.get('gamma_thresholds') or list(DEFAULTS.gamma_thresholds)
    table = gamma_fractions(bn_values, thresholds)
    return _per_trainable_lines('Figure 5: fraction of γ with |γ| below a threshold', table, 'threshold',
                                'γ with |γ| < t (%)', 'threshold t (log scale)', profile, 100, ylim=(0, None))


def figure6(summary, bn_values, profile, settings) -> Figure:
    return _per_trainable_lines('Figure 6: change in test accuracy after setting every γ with |γ| < t to 0',
                                clamping_table(summary), 'threshold', 'change in test accuracy (percentage points)',
                                'threshold t (log scale)', profile, 100, zero_line=True,
                                extra='β left as trained; 0 = the unclamped network; dashed: the control, '
                                      'as many randomly chosen γ set to 0',
                                dashed=clamping_table(summary, 'clamped_random'), dashed_label='random γ')


def figure7(summary, bn_values, profile, settings) -> Figure:
    data = rows(summary, 'analysis', 'dead_relu.fraction')
    probability = rows(summary, 'analysis', 'dead_relu.probability')['mean']
    p = f'{probability.iloc[0]:g}' if not probability.empty else 'p'
    archs = arch_order(data.arch)
    trainables = compared_first(data.trainable)
    figure, axes = plotting.new_figure(width=max(5.0, 1.4 * len(archs) + 2), height=4.0)
    axis = axes[0, 0]
    if data.empty:
        plotting.no_data(axis, 'no analysed cells in the grid')
    width = 0.8 / max(1, len(trainables))
    for index, trainable in enumerate(trainables):
        bars = data[data.trainable == trainable].set_index('arch').reindex(archs)
        positions = np.arange(len(archs)) + (index - (len(trainables) - 1) / 2) * width
        std = bars['ci95'].fillna(0).to_numpy() * 100
        axis.bar(positions, 100 * bars['mean'].to_numpy(), width, yerr=std if std.any() else None, capsize=3,
                 color=plotting.TRAINABLE_COLOURS.get(trainable), label=plotting.trainable_label(trainable))
    if not data.empty:
        axis.set_xticks(np.arange(len(archs)), [arch_info(arch).label for arch in archs])
        plotting.percent(axis)
        axis.set_ylabel('dead ReLU channels (%)')
        axis.set_xlabel('network')
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3, axis='y')
    figure.suptitle(f'Figure 7: ReLU channels that output 0 with probability > {p} over the test set')
    plotting.caption(figure, caption_text(profile, data['n']))
    return figure


def figure8(summary, bn_values, profile, settings, history=None) -> Figure:
    table = gamma_history(history if history is not None else pd.DataFrame(columns=['trainable']))
    thresholds = sorted(table.threshold.unique())
    archs = arch_order(table.arch)
    figure, axes = plotting.new_figure(max(1, len(thresholds)), sharey=False)
    if table.empty:
        plotting.no_data(axes[0, 0], 'no γ history in the grid (BN-only or all cells)')
    for axis, threshold in zip(axes[0], thresholds):
        panel = table[table.threshold == threshold]
        for index, arch in enumerate(archs):
            for trainable, style in zip(TRACED, ('-', '--')):
                line = panel[(panel.arch == arch) & (panel.trainable == trainable)].sort_values('epoch')
                if line.empty:
                    continue
                # Epoch 0 is the expected share under the paper's init, γ ~ U[0, 1): exactly t.
                x = [0, *line.epoch]
                plotting.errorbar(axis, x, [100 * threshold, *(100 * line['mean'])], [0, *(100 * line['ci95'])],
                                  label=f'{arch_info(arch).label}, {plotting.trainable_label(trainable)}',
                                  color=plotting.ARCH_COLOURS[index % len(plotting.ARCH_COLOURS)], linestyle=style)
        axis.set_title(f'|γ| < {threshold:g}')
        axis.set_xlabel('epoch (0: expected at init)')
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        plotting.percent(axis)
        axis.grid(alpha=0.3)
    axes[0, 0].set_ylabel('share of γ (%)')
    if not table.empty:
        axes[0, 0].legend(fontsize=7)
    figure.suptitle('Figure 8: the share of small |γ| after each epoch of training (BN-only solid, all dashed)')
    plotting.caption(figure, caption_text(profile, table['n']))
    return figure


FIGURES: dict[int, Callable[..., Figure]] = {1: figure1, 2: figure2, 3: figure3, 4: figure4, 5: figure5,
                                             6: figure6, 7: figure7, 8: figure8}
NEEDS_BN_VALUES = {4, 5}
NEEDS_HISTORY = {8}


def draw(number: int, summary: pd.DataFrame, bn_values: pd.DataFrame | None, profile: dict, settings: dict,
         out_stem: str | Path, history: pd.DataFrame | None = None) -> list[Path]:
    if number not in FIGURES:
        raise ValueError(f'no figure {number}; figures: {", ".join(map(str, FIGURES))}')
    if number in NEEDS_BN_VALUES and bn_values is None:
        raise ValueError(f'figure {number} needs the γ/β values (results/grid_bn_values.csv)')
    # The summary is selected per figure (bnonly.paper.figure_data): Figure 1 plots variant runs.
    bn_values, history = (None if f is None else paper_runs(f) for f in (bn_values, history))
    if number in NEEDS_HISTORY:
        if history is None:
            raise ValueError(f'figure {number} needs the training histories (results/grid_history.csv)')
        figure = FIGURES[number](summary, bn_values, profile, settings, history)
    else:
        figure = FIGURES[number](summary, bn_values, profile, settings)
    return plotting.save(figure, out_stem, dpi=int(settings.get('dpi', DEFAULTS.dpi)))


def _draw_named(name: str, summary: pd.DataFrame, profile: dict, settings: dict, out_stem: str | Path, *,
                bn_values: pd.DataFrame | None = None, history: pd.DataFrame | None = None) -> list[Path]:
    return draw(int(name), summary, bn_values, profile, settings, out_stem, history)


FIGURE_SET = FigureSet('paper', tuple(str(number) for number in FIGURES), _draw_named,
                       needs_bn_values=frozenset(str(number) for number in NEEDS_BN_VALUES),
                       needs_history=frozenset(str(number) for number in NEEDS_HISTORY))
