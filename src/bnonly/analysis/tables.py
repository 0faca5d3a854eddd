"""The CSV files behind the analysis figures (results/analyze/tables), long format, one row per value.

Rows with ``layer == 'all'`` (or ``site == 'all'``) are the whole network; the other rows are one
normalisation layer (a BatchNorm on the paper's networks; a GroupNorm or LayerNorm on the extensions) or one
ReLU module by qualified name, in module order. The ``bn_`` file names are kept whatever the normalisation,
because the grid's aggregation reads ``bn_values.csv`` by that name.

- ``bn_values.csv``: layer, channel, gamma, beta: every trained value, for re-binning across runs. A
  ``channel`` is a LayerNorm's feature; a layer without β (RMSNorm) has beta empty (NaN). Such a layer has no
  β rows in the two tables below.
- ``bn_summary.csv``: parameter, layer, count, mean, std, min, max, frac_negative.
- ``bn_histogram.csv``: parameter, layer, bin, bin_left, bin_right, count (edges shared by all layers).
- ``gamma_thresholds.csv``: layer, threshold, frac_abs_below.
- ``clamping.csv``: threshold, test_accuracy, delta, gammas_zeroed, gammas_total, frac_zeroed,
  random_test_accuracy, random_delta (the control: as many γ zeroed at random; ``clamping``); the row with
  threshold 0 is the unclamped model (|γ| < 0 holds for no γ, and the control then zeroes none).
- ``dead_relu_modules.csv``: granularity, index, module, site, units, dead, dead_fraction,
  mean_zero_probability: both granularities, from the same pass.
- ``dead_relu_sites.csv``: granularity, site, units, dead, dead_fraction.
- ``relu_channel_zero_probability.csv``: module, site, channel, zero_probability (for other cut-offs).

On a network without ReLU modules (the ViT) the three dead-ReLU tables hold one row, columns ``applicable``
(False) and ``reason``, instead of counts: the analysis does not apply there (``dead_relu``), and an empty
table or zeros would read as "no dead units".
"""
import math
from pathlib import Path

import pandas as pd
import torch

from bnonly import atomic
from bnonly.analysis.batchnorm import PARAMETERS, summary
from bnonly.analysis.run import Analysis
from bnonly.norms import fraction_abs_below

ALL = 'all'


def bn_values(analysis: Analysis) -> pd.DataFrame:
    affine = analysis.affine
    # A layer without β fills its rows with NaN, so each row stays one (layer, channel); on every network
    # whose layers all have β this is exactly affine.values('beta').
    beta = torch.cat([b if b.numel() == g.numel() else torch.full((g.numel(),), math.nan, dtype=g.dtype)
                      for g, b in zip(affine.gamma, affine.beta)])
    return pd.DataFrame({
        'layer': [name for name, gamma in zip(affine.layers, affine.gamma) for _ in range(gamma.numel())],
        'channel': [channel for gamma in affine.gamma for channel in range(gamma.numel())],
        'gamma': affine.values('gamma').double().numpy(),
        'beta': beta.double().numpy()})


def bn_summary(analysis: Analysis) -> pd.DataFrame:
    affine = analysis.affine
    rows = []
    for parameter in PARAMETERS:
        if not affine.values(parameter).numel():  # β of a network whose norms have none
            continue
        rows.append({'parameter': parameter, 'layer': ALL, **summary(affine.values(parameter))})
        rows += [{'parameter': parameter, 'layer': layer, **summary(values)}
                 for layer, values in zip(affine.layers, affine.per_layer(parameter)) if values.numel()]
    return pd.DataFrame(rows)


def bn_histogram(analysis: Analysis) -> pd.DataFrame:
    frames = []
    for parameter, hist in analysis.histograms.items():
        values = analysis.affine.per_layer(parameter)
        if not sum(layer.numel() for layer in values):
            continue
        layers = (ALL,) + analysis.affine.layers
        present = (True,) + tuple(layer.numel() > 0 for layer in values)  # no rows for a layer without β
        for layer, counts, has_values in zip(layers, (hist.overall,) + hist.per_layer, present):
            if not has_values:
                continue
            frames.append(pd.DataFrame({'parameter': parameter, 'layer': layer, 'bin': range(counts.numel()),
                                        'bin_left': hist.edges[:-1].numpy(), 'bin_right': hist.edges[1:].numpy(),
                                        'count': counts.numpy()}))
    return pd.concat(frames, ignore_index=True)


def gamma_thresholds(analysis: Analysis) -> pd.DataFrame:
    thresholds = list(analysis.settings.thresholds)
    affine = analysis.affine
    rows = [{'layer': ALL, 'threshold': t, 'frac_abs_below': f} for t, f in zip(thresholds, analysis.gamma_below)]
    for layer, gamma in zip(affine.layers, affine.gamma):
        rows += [{'layer': layer, 'threshold': t, 'frac_abs_below': f}
                 for t, f in zip(thresholds, fraction_abs_below(gamma, thresholds))]
    return pd.DataFrame(rows)


def clamping(analysis: Analysis) -> pd.DataFrame:
    total = analysis.affine.values('gamma').numel()
    rows = [{'threshold': 0.0, 'test_accuracy': analysis.test_accuracy, 'delta': 0.0, 'gammas_zeroed': 0,
             'gammas_total': total, 'frac_zeroed': 0.0, 'random_test_accuracy': analysis.test_accuracy,
             'random_delta': 0.0}]
    rows += [{'threshold': r.threshold, 'test_accuracy': r.test_accuracy, 'delta': r.delta,
              'gammas_zeroed': r.gammas_zeroed, 'gammas_total': r.gammas_total, 'frac_zeroed': r.fraction_zeroed,
              'random_test_accuracy': random.test_accuracy, 'random_delta': random.delta}
             for r, random in zip(analysis.clamping, analysis.clamping_random)]
    return pd.DataFrame(rows)


def not_applicable(analysis: Analysis) -> pd.DataFrame | None:
    """The one-row table that replaces a dead-ReLU table on a network without ReLUs; None where it applies."""
    dead = analysis.dead_reported
    return None if dead.applicable else pd.DataFrame([{'applicable': False, 'reason': dead.reason}])


def dead_relu_modules(analysis: Analysis) -> pd.DataFrame:
    if (note := not_applicable(analysis)) is not None:
        return note
    return pd.DataFrame([{'granularity': granularity, 'index': index, 'module': m.name, 'site': m.site,
                          'units': m.units, 'dead': m.dead, 'dead_fraction': m.fraction,
                          'mean_zero_probability': m.mean_zero_probability}
                         for granularity, dead in analysis.dead.items()
                         for index, m in enumerate(dead.per_module)])


def dead_relu_sites(analysis: Analysis) -> pd.DataFrame:
    if (note := not_applicable(analysis)) is not None:
        return note
    return pd.DataFrame([{'granularity': granularity, 'site': site, 'units': count.units, 'dead': count.dead,
                          'dead_fraction': count.fraction}
                         for granularity, dead in analysis.dead.items()
                         for site, count in {ALL: dead.overall, **dead.per_site}.items()])


def relu_channel_zero_probability(analysis: Analysis) -> pd.DataFrame:
    if (note := not_applicable(analysis)) is not None:
        return note
    relus = analysis.relu_pass.relus
    probabilities = [relu.zero_probability('channel') for relu in relus]
    return pd.DataFrame({
        'module': [relu.name for relu in relus for _ in range(relu.channels)],
        'site': [relu.site for relu in relus for _ in range(relu.channels)],
        'channel': [channel for relu in relus for channel in range(relu.channels)],
        'zero_probability': torch.cat(probabilities).numpy()})


TABLES = {'bn_values': bn_values, 'bn_summary': bn_summary, 'bn_histogram': bn_histogram,
          'gamma_thresholds': gamma_thresholds, 'clamping': clamping, 'dead_relu_modules': dead_relu_modules,
          'dead_relu_sites': dead_relu_sites, 'relu_channel_zero_probability': relu_channel_zero_probability}


def write_tables(analysis: Analysis, directory: str | Path) -> list[Path]:
    """Write every table as ``<name>.csv`` under ``directory``; returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in TABLES.items():
        path = directory / f'{name}.csv'
        atomic.write_text(path, build(analysis).to_csv(index=False))
        paths.append(path)
    return paths
