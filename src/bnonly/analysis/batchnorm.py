"""The learned BatchNorm affine parameters γ (weight) and β (bias): collection, summaries, histograms and
|γ|-threshold fractions (the paper's Figures 4 and 5, and the β appendix).

Conventions, chosen once here so that every table, metric and figure agrees:
- Layers are every ``_BatchNorm`` with affine parameters, in ``model.named_modules()`` order (forward order
  for our ResNets and timm's), stem, block and projection-shortcut BNs alike, as the paper's census counts
  them (``bnonly.census``).
- "Below a threshold" is strict, ``|γ| < t``, and is decided in the parameters' own dtype (the threshold is
  rounded to it), exactly as ``clamping.clamp_gammas`` decides which γ to zero; a γ stored equal to ``t`` is
  not below it.
- ``std`` is the population standard deviation (divide by n): it describes the trained network's values, it
  does not estimate anything.
- Histograms of one parameter share one set of bin edges across layers (``bins`` equal bins from the
  smallest to the largest value of any layer), so the per-layer counts add up to the overall histogram.
"""
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

PARAMETERS = ('gamma', 'beta')


def batchnorm_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """Every BatchNorm with affine parameters, with its qualified name, in module order."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, _BatchNorm) and module.affine]


@dataclass(frozen=True)
class BatchNormAffine:
    """Detached CPU copies of every BN's γ and β, one tensor per layer, in module order."""
    layers: tuple[str, ...]
    gamma: tuple[torch.Tensor, ...]
    beta: tuple[torch.Tensor, ...]

    def per_layer(self, parameter: str) -> tuple[torch.Tensor, ...]:
        if parameter not in PARAMETERS:
            raise ValueError(f'parameter must be one of {PARAMETERS}, got {parameter!r}')
        return getattr(self, parameter)

    def values(self, parameter: str) -> torch.Tensor:
        """All layers' values of ``parameter`` in one flat tensor."""
        return torch.cat(self.per_layer(parameter))


def collect_affine(model: nn.Module) -> BatchNormAffine:
    """Copy γ and β out of ``model`` (the model itself is only read)."""
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError('the model has no BatchNorm layer with affine parameters')
    with torch.no_grad():
        return BatchNormAffine(
            layers=tuple(name for name, _ in layers),
            gamma=tuple(module.weight.detach().to('cpu', copy=True) for _, module in layers),
            beta=tuple(module.bias.detach().to('cpu', copy=True) for _, module in layers))


def summary(values: torch.Tensor) -> dict[str, float | int]:
    """count, mean, std (population), min, max and the fraction of values below zero."""
    if values.numel() == 0:
        raise ValueError('no values to summarise')
    wide = values.double()  # float64 so that sums over ~10^5 values lose nothing visible
    return {'count': wide.numel(),
            'mean': wide.mean().item(),
            'std': wide.std(correction=0).item(),
            'min': wide.min().item(),
            'max': wide.max().item(),
            'frac_negative': (wide < 0).double().mean().item()}


def fraction_abs_below(values: torch.Tensor, thresholds: list[float]) -> list[float]:
    """For each threshold t, the fraction of ``values`` with |value| < t (strict, in ``values``' dtype)."""
    if values.numel() == 0:
        raise ValueError('no values to count')
    magnitudes = values.detach().abs().flatten().sort().values
    # searchsorted(side='left') on sorted |values| counts the entries strictly below each threshold.
    below = torch.searchsorted(magnitudes, torch.tensor(thresholds, dtype=magnitudes.dtype), side='left')
    return (below.double() / magnitudes.numel()).tolist()


@dataclass(frozen=True)
class Histogram:
    """Counts of one parameter over shared bin edges: the whole network and each layer."""
    edges: torch.Tensor              # [bins + 1], float64
    overall: torch.Tensor            # [bins], int64
    per_layer: tuple[torch.Tensor, ...]  # one [bins] int64 tensor per layer


def histogram(per_layer: tuple[torch.Tensor, ...], bins: int) -> Histogram:
    """``bins`` equal bins from the smallest to the largest value of any layer (the last bin is closed)."""
    if bins < 1:
        raise ValueError(f'bins must be >= 1, got {bins}')
    values = torch.cat(per_layer).double()
    low, high = values.min().item(), values.max().item()
    if low == high:  # every value equal (e.g. γ = 1 never trained): numpy's convention, a unit-wide range
        low, high = low - 0.5, high + 0.5
    edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)
    counts = tuple(torch.histogram(layer.double(), bins=edges).hist.round().long() for layer in per_layer)
    return Histogram(edges=edges, overall=torch.stack(counts).sum(dim=0), per_layer=counts)
