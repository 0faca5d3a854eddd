"""What a history row (history.csv, one row per epoch) holds beyond the training sums: the test columns, and
the share of small γ at the end of the epoch.

Test columns. With ``train.eval_every_epoch: false`` only the last epoch is evaluated; earlier rows still
have the test columns, empty (None, an empty CSV cell), so every row has the same fields and the last row,
from which metrics.json is taken, is complete either way.

γ columns. ``gamma_frac_abs_below_<t>`` is the fraction of the γ of every affine normalisation layer of the
network (``bnonly.norms.norm_layers``: BatchNorm, GroupNorm, LayerNorm ..., so a GroupNorm ResNet or a ViT is
measured as a BatchNorm network is, and on a BatchNorm network these are its BN γ) with |γ| < t (strict, in
γ's dtype: ``bnonly.norms.fraction_abs_below``, the analysis' convention), measured on the model at the
end of the epoch. The thresholds are fixed here, not taken from params, because the history must be comparable across runs
and across changes of ``analyze.thresholds``: a figure of the share of small γ growing with training reads
the same columns from every run. A network without an affine normalisation gets the columns too, as NaN.
"""
import math

import torch
from torch import nn

from bnonly.norms import fraction_abs_below, norm_layers
from bnonly.vocabulary import threshold_key

GAMMA_THRESHOLDS = (0.01, 0.05, 0.1, 0.2)


def gamma_column(threshold: float) -> str:
    """0.01 -> 'gamma_frac_abs_below_t0p01' (the analysis metrics' threshold keys, joined with '_')."""
    return 'gamma_frac_abs_below_' + threshold_key(threshold)


GAMMA_COLUMNS = tuple(gamma_column(t) for t in GAMMA_THRESHOLDS)


def gamma_columns(model: nn.Module) -> dict[str, float]:
    """The γ columns of a history row for ``model`` as it is now (reads γ only; one small copy to the host)."""
    layers = norm_layers(model)
    if not layers:
        return dict.fromkeys(GAMMA_COLUMNS, math.nan)
    values = torch.cat([module.weight.detach().flatten() for _, module in layers]).cpu()
    return dict(zip(GAMMA_COLUMNS, fraction_abs_below(values, list(GAMMA_THRESHOLDS))))


def evaluates(spec, epoch: int) -> bool:
    """Whether epoch ``epoch`` (0-based) ends with a test evaluation: every epoch, or only the last."""
    return spec.eval_every_epoch or epoch == spec.epochs - 1


def test_columns(result: dict[str, float] | None, *, top5: bool) -> dict[str, float | None]:
    """``evaluate``'s result as history columns; None (an empty cell) for each column when not evaluated."""
    if result is not None:
        return {f'test_{key}': value for key, value in result.items()}
    keys = ('loss', 'accuracy', 'top5_accuracy') if top5 else ('loss', 'accuracy')
    return {f'test_{key}': None for key in keys}
