"""What a normalisation layer is, and the share of its small γ: the one definition the census, the trainable
sets, the initialisation, training's history and the analysis all read.

- ``is_affine_norm``: a normalisation with a learned scale γ: BatchNorm, InstanceNorm, GroupNorm, LayerNorm,
  RMSNorm with affine parameters, and timm's norms (its subclasses of these, e.g. ``LayerNorm2d``, and its
  RMS/simple norms that subclass none).
- ``norm_layers`` every such layer, ``batchnorm_layers`` the affine BatchNorms only, each with its qualified
  name in ``model.named_modules()`` order (forward order for our ResNets and timm's).
- ``fraction_abs_below``: the fraction of values with |value| < t, strict and decided in the values' own dtype
  (the threshold is rounded to it), the convention of every small-|γ| number (history columns, analysis
  metrics and tables, clamping).

It sits below both ``bnonly.training`` and ``bnonly.analysis`` and imports neither, so that an edit to the
analysis reruns no training stage and the other way round.
"""
import functools

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase

# timm's norms that do not subclass a torch norm (the others, LayerNorm2d, GroupNorm1 ..., do).
_TIMM_NORM_NAMES = ('RmsNorm', 'RmsNorm2d', 'RmsNormFp32', 'RmsNorm2dFp32', 'SimpleNorm', 'SimpleNorm2d',
                    'SimpleNormFp32', 'SimpleNorm2dFp32')


@functools.cache
def _norm_types() -> tuple[type, ...]:
    # _NormBase covers BatchNorm and InstanceNorm. timm is imported here, not at module load, because this
    # module is imported by code that never builds a model.
    import timm.layers
    timm_norms = tuple(getattr(timm.layers, name) for name in _TIMM_NORM_NAMES if hasattr(timm.layers, name))
    return (_NormBase, nn.GroupNorm, nn.LayerNorm, nn.RMSNorm) + timm_norms


def is_affine_norm(module: nn.Module) -> bool:
    """A normalisation layer with a learned scale γ (its ``weight``); β (``bias``) may be absent (RMSNorm)."""
    return isinstance(module, _norm_types()) and getattr(module, 'weight', None) is not None


def norm_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every affine normalisation layer (BatchNorm included), with its qualified name, in module order."""
    return [(name, module) for name, module in model.named_modules() if is_affine_norm(module)]


def batchnorm_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """Every BatchNorm with affine parameters, with its qualified name, in module order."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, _BatchNorm) and module.affine]


def fraction_abs_below(values: torch.Tensor, thresholds: list[float]) -> list[float]:
    """For each threshold t, the fraction of ``values`` with |value| < t (strict, in ``values``' dtype)."""
    if values.numel() == 0:
        raise ValueError('no values to count')
    magnitudes = values.detach().abs().flatten().sort().values
    # searchsorted(side='left') on sorted |values| counts the entries strictly below each threshold.
    below = torch.searchsorted(magnitudes, torch.tensor(thresholds, dtype=magnitudes.dtype), side='left')
    return (below.double() / magnitudes.numel()).tolist()
