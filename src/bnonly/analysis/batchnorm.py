"""The learned affine parameters γ (weight) and β (bias) of every normalisation layer: collection, summaries,
histograms and |γ|-threshold fractions (the paper's Figures 4 and 5, and the β appendix).

The paper's networks normalise with BatchNorm only; this package's extensions (GroupNorm and LayerNorm
ResNets, the ViT's LayerNorms) carry the same per-feature γ and β, and a γ of 0 switches a feature off in
the same way (the normalised feature is multiplied by 0, only β is left), so the analysis reads every affine
normalisation alike. On a BatchNorm network the layers are exactly its BatchNorms, so every number is the
BatchNorm-only one.

Conventions, chosen once here so that every table, metric and figure agrees:
- Layers are every affine normalisation (``bnonly.norms.norm_layers``: BatchNorm, GroupNorm, LayerNorm,
  InstanceNorm with affine parameters, RMSNorm, timm's norms) in ``model.named_modules()`` order (forward
  order for our ResNets and timm's), stem, block and projection-shortcut norms alike, as the census counts
  them and the trainable sets train them (one definition, so that all of them agree on what a
  normalisation layer is).
- Every layer's γ and β are flattened (a LayerNorm over several dimensions has a multi-dimensional γ); a
  layer without β (RMSNorm) contributes an empty β tensor, so it is in every γ statistic and in no β one.
- "Below a threshold" is strict, ``|γ| < t``, and is decided in the parameters' own dtype (the threshold is
  rounded to it): ``bnonly.norms.fraction_abs_below``, and exactly as ``clamping.clamp_gammas`` decides which
  γ to zero; a γ stored equal to ``t`` is not below it.
- ``std`` is the population standard deviation (divide by n): it describes the trained network's values, it
  does not estimate anything.
- Histograms of one parameter share one set of bin edges across layers (``bins`` equal bins from the
  smallest to the largest value of any layer), so the per-layer counts add up to the overall histogram.
"""
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from bnonly.norms import norm_layers

PARAMETERS = ('gamma', 'beta')


@dataclass(frozen=True)
class NormAffine:
    """Detached CPU copies of every normalisation layer's γ and β (flattened), one tensor per layer, in module
    order; ``kinds`` holds each layer's class name."""
    layers: tuple[str, ...]
    gamma: tuple[torch.Tensor, ...]
    beta: tuple[torch.Tensor, ...]
    kinds: tuple[str, ...] = ()
    batchnorm_only: bool = True  # every layer is a BatchNorm (the paper's networks)

    @property
    def label(self) -> str:
        """What to call the layers in figure text: 'BatchNorm' on the paper's networks, else 'normalisation'."""
        return 'BatchNorm' if self.batchnorm_only else 'normalisation'

    @property
    def kind_names(self) -> tuple[str, ...]:
        """The distinct layer classes, in order of first appearance (e.g. ('GroupNorm',), ('LayerNorm',))."""
        return tuple(dict.fromkeys(self.kinds))

    def per_layer(self, parameter: str) -> tuple[torch.Tensor, ...]:
        if parameter not in PARAMETERS:
            raise ValueError(f'parameter must be one of {PARAMETERS}, got {parameter!r}')
        return getattr(self, parameter)

    def values(self, parameter: str) -> torch.Tensor:
        """All layers' values of ``parameter`` in one flat tensor."""
        return torch.cat(self.per_layer(parameter))


# The name the rest of the package was written against; the class now holds any normalisation's γ and β.
BatchNormAffine = NormAffine


def _cpu_copy(tensor: torch.Tensor) -> torch.Tensor:
    # flatten() of BatchNorm's 1-D γ is the same tensor: the BatchNorm values are copied exactly as before.
    return tensor.detach().to('cpu', copy=True).flatten()


def collect_affine(model: nn.Module) -> NormAffine:
    """Copy γ and β of every normalisation layer out of ``model`` (the model itself is only read)."""
    layers = norm_layers(model)
    if not layers:
        raise ValueError('the model has no normalisation layer with affine parameters (γ)')
    with torch.no_grad():
        gamma = tuple(_cpu_copy(module.weight) for _, module in layers)
        beta = tuple(_cpu_copy(module.bias) if getattr(module, 'bias', None) is not None
                     else torch.empty(0, dtype=module.weight.dtype) for _, module in layers)
    return NormAffine(layers=tuple(name for name, _ in layers), gamma=gamma, beta=beta,
                      kinds=tuple(type(module).__name__ for _, module in layers),
                      batchnorm_only=all(isinstance(module, _BatchNorm) for _, module in layers))


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
    # No values at all (β of a network whose norms have none, e.g. RMSNorm): numpy's range for an empty
    # input, [0, 1]; every count is then 0, and the tables leave such a parameter out.
    low, high = (values.min().item(), values.max().item()) if values.numel() else (0.0, 1.0)
    if low == high:  # every value equal (e.g. γ = 1 never trained): numpy's convention, a unit-wide range
        low, high = low - 0.5, high + 0.5
    edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)
    counts = tuple(torch.histogram(layer.double(), bins=edges).hist.round().long() for layer in per_layer)
    return Histogram(edges=edges, overall=torch.stack(counts).sum(dim=0), per_layer=counts)
