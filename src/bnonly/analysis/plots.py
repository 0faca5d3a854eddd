"""The per-run analysis plots (results/analyze/plots), drawn from an ``Analysis`` with matplotlib's Agg.

Each figure draws on its own ``Figure`` with an explicit Agg canvas (no pyplot): no global figure state, no
display needed, and the same PNG on every machine. The cross-run versions of the paper's figures (BN-only vs
all, across depth and width) are built elsewhere from the CSV tables; these show one run.

- ``gamma_histogram.png`` / ``beta_histogram.png``: Figure 4 and its β appendix, all normalisation layers
  together (labelled "BatchNorm" on the paper's networks, "normalisation" and the layer kind otherwise).
- ``gamma_thresholds.png``: Figure 5, fraction of γ with |γ| < t against t.
- ``clamping_accuracy.png``: Figure 6, test accuracy with γ zeroed where |γ| < t, against t.
- ``dead_relu_per_layer.png``: Figure 7, dead fraction of every ReLU module in module order, by site.
  On a network without ReLU modules (the ViT) it says that the dead-ReLU analysis does not apply, and why.
"""
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bnonly import atomic
from bnonly.analysis.dead_relu import SITES
from bnonly.analysis.run import Analysis

_SITE_COLOURS = dict(zip(SITES, ('tab:green', 'tab:blue', 'tab:orange')))
_DPI = 120


def _new_figure(width: float = 6.4, height: float = 4.0) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), layout='constrained')
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _message(axes: Axes, text: str) -> None:
    """A figure that says, in words, why there is nothing to plot."""
    axes.text(0.5, 0.5, text, ha='center', va='center', transform=axes.transAxes, wrap=True, color='0.3')
    axes.set_xticks([])
    axes.set_yticks([])


def histogram_figure(analysis: Analysis, parameter: str) -> Figure:
    symbol = {'gamma': 'γ', 'beta': 'β'}[parameter]
    hist = analysis.histograms[parameter]
    edges = hist.edges.numpy()
    affine = analysis.affine
    figure, axes = _new_figure()
    if hist.overall.sum().item() == 0:  # β of a network whose norms have none (RMSNorm)
        _message(axes, f'no {symbol}: no normalisation layer of this network has one')
        return figure
    axes.bar(edges[:-1], hist.overall.numpy(), width=edges[1:] - edges[:-1], align='edge', color='tab:blue')
    axes.axvline(0.0, color='black', linewidth=0.8)
    axes.set_xlabel(symbol)
    # The paper's networks keep the paper's wording; other networks name their normalisation's kind.
    axes.set_ylabel('BatchNorm channels' if affine.batchnorm_only
                    else f'normalisation {symbol} values (channels or features)')
    kinds = '' if affine.batchnorm_only else f'{", ".join(affine.kind_names)}; '
    axes.set_title(f'{symbol} over all {len(affine.layers)} {affine.label} layers '
                   f'({kinds}{hist.overall.sum().item()} values)')
    return figure


def threshold_figure(analysis: Analysis) -> Figure:
    thresholds = analysis.settings.thresholds
    figure, axes = _new_figure()
    axes.plot(thresholds, analysis.gamma_below, marker='o')
    axes.set_xscale('log')
    axes.set_ylim(0, 1)
    axes.set_xlabel('threshold t')
    axes.set_ylabel('fraction of γ with |γ| < t')
    axes.grid(True, which='both', alpha=0.3)
    axes.set_title('Small γ (Figure 5)')
    return figure


def clamping_figure(analysis: Analysis) -> Figure:
    figure, axes = _new_figure()
    axes.plot([r.threshold for r in analysis.clamping], [r.test_accuracy for r in analysis.clamping],
              marker='o', label='γ set to 0 where |γ| < t')
    axes.plot([r.threshold for r in analysis.clamping_random],
              [r.test_accuracy for r in analysis.clamping_random],
              marker='s', linestyle=':', label='as many random γ set to 0 (control)')
    axes.axhline(analysis.test_accuracy, color='black', linestyle='--', linewidth=1, label='unclamped')
    axes.set_xscale('log')
    axes.set_ylim(0, 1)
    axes.set_xlabel('threshold t')
    axes.set_ylabel('test accuracy')
    axes.grid(True, which='both', alpha=0.3)
    axes.legend()
    axes.set_title('Clamping small γ to zero (Figure 6)')
    return figure


def dead_relu_figure(analysis: Analysis) -> Figure:
    dead = analysis.dead_reported
    if not dead.applicable:
        figure, axes = _new_figure()
        _message(axes, f'Dead ReLUs: not applicable.\n{dead.reason}')
        return figure
    modules = dead.per_module
    figure, axes = _new_figure(width=max(6.4, 0.06 * len(modules) + 2))
    for site in SITES:
        indices = [i for i, m in enumerate(modules) if m.site == site]
        if indices:
            axes.bar(indices, [modules[i].fraction for i in indices], width=0.9, color=_SITE_COLOURS[site],
                     label=f'{site} ({dead.per_site[site].fraction:.1%} dead)')
    axes.set_ylim(0, 1)
    axes.set_xlabel('ReLU module (forward order)')
    axes.set_ylabel('dead fraction')
    axes.legend()
    axes.set_title(f'Dead ReLU units: Pr[output = 0] > {dead.probability:g}, per {dead.granularity.replace("_", "-")}'
                   f' ({dead.overall.fraction:.1%} overall)')
    return figure


FIGURES = {'gamma_histogram': lambda a: histogram_figure(a, 'gamma'),
           'beta_histogram': lambda a: histogram_figure(a, 'beta'),
           'gamma_thresholds': threshold_figure,
           'clamping_accuracy': clamping_figure,
           'dead_relu_per_layer': dead_relu_figure}


def write_figures(analysis: Analysis, directory: str | Path) -> list[Path]:
    """Draw every figure as ``<name>.png`` under ``directory``; returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in FIGURES.items():
        path = directory / f'{name}.png'
        with atomic.replacing(path) as temporary:
            draw(analysis).savefig(temporary, dpi=_DPI)
        paths.append(path)
    return paths
