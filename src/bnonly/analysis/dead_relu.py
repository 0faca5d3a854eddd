"""Dead ReLUs (the paper's Figure 7): how often each ReLU unit outputs exactly zero over the test set.

A unit is dead when Pr[output = 0] > p over the test set, with p = ``analyze.dead_relu_probability`` (the
paper's 0.99; strict ">" as the paper states it).

Granularity. The paper does not say what a "unit" is. Two are computed, from the same counts:
- ``channel`` (the default): one unit per ReLU channel; Pr[output = 0] is taken over all test inputs and all
  spatial positions of that channel's feature map.
- ``channel_position``: one unit per (channel, spatial position); Pr[output = 0] over the test inputs only.
We default to ``channel`` because the paper's claim is about features, and a feature is a channel: every
BatchNorm channel has one γ and one β, so a channel-level count is directly comparable with the fraction of
small γ (Figure 5) and with clamping whole channels (Figure 6). It is also the better-posed estimate
(N·H·W samples per unit instead of N), and it does not depend on the input resolution (Fashion-MNIST 28x28,
CIFAR 32x32 and ImageNet 224x224 give the same number of units per network), whereas per-position units are
also switched off by zero padding at the borders, which says nothing about what training learned.
``channel_position`` stays available for comparison (params: ``analyze.dead_relu_granularity``).

Sites. Every ``nn.ReLU`` module is one of:
- ``residual``: the last ReLU directly inside a residual block, applied after the shortcut is added (ours:
  ``act2``; timm's basic block ``act2``, bottleneck ``act3``);
- ``block``: any other ReLU inside a residual block (ours ``act1``; timm's ``act1``/``act2``);
- ``stem``: every ReLU outside the residual blocks (ours ``act``, timm's ``act1``).
A residual block is recognised by its projection-shortcut attribute (``shortcut`` in ours, ``downsample`` in
timm's and torchvision's, present even when the shortcut is the identity or None); in every block we use
the after-add ReLU is registered last. A ReLU module called more than once per forward (torchvision's blocks
reuse one ``relu``) would mix sites, so the pass refuses such a model.

Efficiency. One evaluation pass with a forward hook on every ReLU: each hook reduces its output to per
(channel, position) zero counts summed over the batch (an int32 tensor the size of one feature map) and adds
them to a running total; activations are never stored. Per-channel counts are those totals summed over
positions, so both granularities come from the one pass. The pass also yields the model's test accuracy.
Units are weighted equally in every overall and per-site fraction.

Networks without ReLUs. A unit is dead when its output is exactly 0 on (almost) every input, which is what a
ReLU does below zero; GELU (the ViT), SiLU and their kind output exactly 0 only at isolated inputs, so the
count is not defined for them and zeros would be misleading. On a network with no ``nn.ReLU`` module the
pass still runs (it measures the test accuracy the clamping compares against) but counts nothing: its
``applicable`` is False, and ``dead_relus`` returns a result with ``applicable`` False and the reason
(``NOT_APPLICABLE``) instead of counts; metrics, tables and figures report that. A network that applies
ReLU as a function (``F.relu``) rather than as a module has no hookable site and is reported the same way.
"""
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from bnonly.analysis.evaluation import Batch, top1
from bnonly.vocabulary import GRANULARITIES

SITES = ('stem', 'block', 'residual')
# Attributes that mark a module as a residual block: ours (CifarResNet) and timm's/torchvision's ResNets.
_BLOCK_ATTRIBUTES = ('shortcut', 'downsample')
# Why the dead-ReLU analysis reports nothing for a network without ReLU modules (module docstring).
NOT_APPLICABLE = ('no nn.ReLU module in the network (e.g. a ViT with GELU): a dead unit, whose output is exactly 0 '
                  'on (almost) every input, is defined for ReLUs only')


def _is_residual_block(module: nn.Module) -> bool:
    return any(hasattr(module, attribute) for attribute in _BLOCK_ATTRIBUTES)


def relu_sites(model: nn.Module) -> dict[str, str]:
    """Qualified name -> site ('stem' | 'block' | 'residual') of every ``nn.ReLU`` module, in module order."""
    sites = {name: 'stem' for name, module in model.named_modules() if isinstance(module, nn.ReLU)}
    for block_name, block in model.named_modules():
        if not _is_residual_block(block):
            continue
        prefix = f'{block_name}.' if block_name else ''
        inside = [name for name in sites if name.startswith(prefix)]
        direct = [f'{prefix}{child}' for child, module in block.named_children() if isinstance(module, nn.ReLU)]
        for name in inside:
            sites[name] = 'block'
        if direct:
            sites[direct[-1]] = 'residual'
    return sites


@dataclass(frozen=True)
class ReluZeroCounts:
    """Zero counts of one ReLU module over a pass."""
    name: str
    site: str
    zeros: torch.Tensor  # [C, *spatial] int64: inputs for which each (channel, position) output was 0
    inputs: int          # test inputs seen

    @property
    def channels(self) -> int:
        return self.zeros.shape[0]

    def zero_probability(self, granularity: str) -> torch.Tensor:
        """Pr[output = 0] per unit: [C] for 'channel', [C * positions] for 'channel_position' (float64)."""
        per_position = self.zeros.reshape(self.channels, -1).double()
        if granularity == 'channel':
            return per_position.sum(dim=1) / (self.inputs * per_position.shape[1])
        if granularity == 'channel_position':
            return per_position.flatten() / self.inputs
        raise ValueError(f'granularity must be one of {GRANULARITIES}, got {granularity!r}')


@dataclass(frozen=True)
class ReluPass:
    """What one hooked pass over the test set measured."""
    relus: tuple[ReluZeroCounts, ...]
    test_accuracy: float
    inputs: int

    @property
    def applicable(self) -> bool:
        """False on a network without ReLU modules: the pass measured the accuracy and nothing else."""
        return bool(self.relus)


def relu_zero_pass(model: nn.Module, batches: Iterable[Batch], *, show_progress: bool = True) -> ReluPass:
    """One pass in eval mode with a zero-counting forward hook on every ReLU; also measures accuracy.

    A network without ReLU modules gets the same pass with no hooks: the accuracy, and ``applicable``
    False (module docstring)."""
    sites = relu_sites(model)
    totals: dict[str, torch.Tensor] = {}
    calls = dict.fromkeys(sites, 0)

    def make_hook(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            # Summed over the batch only: the result is one feature map's worth of counts, never activations.
            zeros = torch.sum(output == 0, dim=0, dtype=torch.int32)
            if name in totals:
                totals[name] += zeros
            else:
                totals[name] = zeros.long()  # int64 running totals: no overflow on any test set
            calls[name] += 1
        return hook

    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_hook(make_hook(name)) for name in sites]
    batches_seen = 0

    def count_batch():
        nonlocal batches_seen
        batches_seen += 1

    try:
        test_accuracy, seen = top1(model, batches, description='relu zeros', show_progress=show_progress,
                                   on_batch=count_batch)
    finally:
        for handle in handles:
            handle.remove()
    reused = {name: count for name, count in calls.items() if count != batches_seen}
    if reused:
        raise ValueError(f'ReLU modules not called exactly once per forward pass ({batches_seen} batches): '
                         f'{reused}; a reused module mixes sites, give every ReLU its own module')
    # A copy made outside inference mode: an ordinary tensor the caller may use however it likes.
    relus = tuple(ReluZeroCounts(name=name, site=site, zeros=totals[name].to('cpu', copy=True), inputs=seen)
                  for name, site in sites.items())
    return ReluPass(relus=relus, test_accuracy=test_accuracy, inputs=seen)


@dataclass(frozen=True)
class DeadCount:
    units: int
    dead: int

    @property
    def fraction(self) -> float:
        return self.dead / self.units


@dataclass(frozen=True)
class ModuleDeadCount(DeadCount):
    name: str
    site: str
    mean_zero_probability: float


@dataclass(frozen=True)
class DeadRelus:
    """Dead units at one granularity and probability: overall, per site and per ReLU module."""
    granularity: str
    probability: float
    overall: DeadCount
    per_site: dict[str, DeadCount]          # only sites the model has, in SITES order
    per_module: tuple[ModuleDeadCount, ...]  # module order
    reason: str | None = None                # why nothing was counted; None when applicable

    @property
    def applicable(self) -> bool:
        return self.reason is None


def dead_relus(measured: ReluPass, probability: float, granularity: str = 'channel') -> DeadRelus:
    """Count units with Pr[output = 0] > ``probability``; every unit weighs the same.

    On a pass that counted nothing (no ReLU modules) the result has no units, and ``reason`` says why:
    callers report it instead of a fraction (which would be 0 / 0).
    """
    if not 0 <= probability <= 1:
        raise ValueError(f'probability must be in [0, 1], got {probability}')
    if not measured.applicable:
        return DeadRelus(granularity=granularity, probability=probability, overall=DeadCount(units=0, dead=0),
                         per_site={}, per_module=(), reason=NOT_APPLICABLE)
    per_module = []
    for relu in measured.relus:
        zero_probability = relu.zero_probability(granularity)
        per_module.append(ModuleDeadCount(units=zero_probability.numel(),
                                          dead=int((zero_probability > probability).sum()),
                                          name=relu.name, site=relu.site,
                                          mean_zero_probability=zero_probability.mean().item()))
    per_site = {}
    for site in SITES:
        members = [module for module in per_module if module.site == site]
        if members:
            per_site[site] = DeadCount(units=sum(m.units for m in members), dead=sum(m.dead for m in members))
    overall = DeadCount(units=sum(m.units for m in per_module), dead=sum(m.dead for m in per_module))
    return DeadRelus(granularity=granularity, probability=probability, overall=overall, per_site=per_site,
                     per_module=tuple(per_module))
