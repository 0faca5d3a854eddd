"""Clamping small γ to zero (the paper's Figure 6): set every γ with |γ| < t to 0 and re-measure accuracy.

Which γ: those of every affine normalisation layer (``bnonly.norms.norm_layers``): the BatchNorms of the
paper's networks, the GroupNorms or LayerNorms of the ResNet variants, the ViT's LayerNorms. On a BatchNorm
network these are exactly its BatchNorms, in the same order, so the clamp and its control are unchanged.

What happens to β: nothing. β is left as trained, because that is exactly what "γ = 0" means. With γ = 0 a
normalised channel outputs ``γ·x̂ + β = β`` for every input and position (a LayerNorm feature likewise, for
every token): the channel stops carrying any information about the input and becomes the constant β (after
the ReLU that follows, the constant ``max(β, 0)``). A norm without β (RMSNorm) then outputs 0. The paper asks
whether the features with small γ are effectively switched off; zeroing γ answers exactly that and nothing
more. Zeroing β as well would be a second intervention: it would also remove a constant the following layers
were trained with (a per-channel bias that the next convolution and the ReLU see), and so mix "is this
feature off?" with "does the network need this offset?".

The random control (``random_clamping_curve``). A drop in accuracy after clamping at t mixes two causes:
that the zeroed γ were the small ones, and that that many features were removed at all. The control zeroes
the SAME NUMBER of γ as the clamp at t, chosen uniformly at random among all normalisation γ of the network
(every layer, every channel; β again untouched), and measures the accuracy. If small-γ features are what
the network switched off, clamping them costs little while zeroing as many random γ costs much more; if both
cost the same, the claim "small γ mark unused features" has no support from Figure 6. The draw is
deterministic: threshold number i (0-based, in the sorted order of ``analyze.thresholds``) uses a
``torch.Generator`` seeded with ``RANDOM_CONTROL_SEED + i``, and ``torch.randperm`` over the flat index of
all γ (layers in module order, entries in order) picks the first ``count`` of them. The same checkpoint
and thresholds so always zero the same γ; a different list of thresholds may draw differently.

Cost and safety: each threshold is one evaluation pass of a single working copy of the model (two with the
random control), with γ recomputed from the trained values for every threshold and every pass (thresholds
are independent, not cumulative). The model passed in, and so the checkpoint it came from, is never modified.
"""
import copy
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from bnonly.analysis.evaluation import Batch, accuracy
from bnonly.norms import norm_layers

# The random control's seeds: threshold number i draws with RANDOM_CONTROL_SEED + i (any fixed value would
# do; fixed so that reruns zero the same γ).
RANDOM_CONTROL_SEED = 2021


@torch.no_grad()
def clamp_gammas(model: nn.Module, threshold: float) -> int:
    """In place: γ ← 0 wherever |γ| < ``threshold`` (compared in γ's dtype); β untouched. Returns how many."""
    zeroed = 0
    for _, module in norm_layers(model):
        small = module.weight.abs() < threshold
        module.weight.masked_fill_(small, 0.0)
        zeroed += int(small.sum())
    return zeroed


def random_control_generator(threshold_index: int) -> torch.Generator:
    """The generator the random control uses for the threshold at ``threshold_index`` (see the docstring)."""
    return torch.Generator().manual_seed(RANDOM_CONTROL_SEED + threshold_index)


@torch.no_grad()
def zero_random_gammas(model: nn.Module, count: int, generator: torch.Generator) -> int:
    """In place: γ ← 0 for ``count`` γ drawn uniformly without replacement among all normalisation γ; β
    untouched."""
    layers = norm_layers(model)
    sizes = [module.weight.numel() for _, module in layers]
    total = sum(sizes)
    if not 0 <= count <= total:
        raise ValueError(f'cannot zero {count} of {total} γ')
    chosen = torch.zeros(total, dtype=torch.bool)
    chosen[torch.randperm(total, generator=generator)[:count]] = True
    for (_, module), mask in zip(layers, chosen.split(sizes)):
        module.weight.masked_fill_(mask.to(module.weight.device).view_as(module.weight), 0.0)
    return count


@dataclass(frozen=True)
class ClampResult:
    threshold: float
    test_accuracy: float
    delta: float          # test_accuracy minus the unclamped model's accuracy
    gammas_zeroed: int
    gammas_total: int

    @property
    def fraction_zeroed(self) -> float:
        return self.gammas_zeroed / self.gammas_total


def clamping_curve(model: nn.Module, batches: Iterable[Batch], thresholds: list[float], *,
                   unclamped_accuracy: float | None = None, show_progress: bool = True) -> list[ClampResult]:
    """Accuracy after clamping at each threshold, one evaluation pass per threshold.

    ``batches`` is iterated once per threshold, so it must be re-iterable (a list, or an object whose
    ``__iter__`` starts a new pass over the test set). ``unclamped_accuracy`` is the reference for ``delta``;
    pass the one measured already (``dead_relu.relu_zero_pass`` returns it), otherwise one more pass
    measures it.
    """
    if unclamped_accuracy is None:
        unclamped_accuracy = accuracy(model, batches, description='unclamped', show_progress=show_progress)
    working = _WorkingCopy(model)
    results = []
    for threshold in thresholds:
        working.restore()  # start every threshold from the trained γ, not from the previous clamp
        zeroed = clamp_gammas(working.model, threshold)
        clamped = accuracy(working.model, batches, description=f'clamp |γ|<{threshold:g}',
                           show_progress=show_progress)
        results.append(ClampResult(threshold=threshold, test_accuracy=clamped,
                                   delta=clamped - unclamped_accuracy, gammas_zeroed=zeroed,
                                   gammas_total=working.total))
    return results


def random_clamping_curve(model: nn.Module, batches: Iterable[Batch], clamped: list[ClampResult], *,
                          unclamped_accuracy: float | None = None, show_progress: bool = True
                          ) -> list[ClampResult]:
    """The random control of each result in ``clamped`` (in order: result i uses generator i): zero as many
    γ as it zeroed, drawn at random, and measure the accuracy; one evaluation pass per threshold."""
    if unclamped_accuracy is None:
        unclamped_accuracy = accuracy(model, batches, description='unclamped', show_progress=show_progress)
    working = _WorkingCopy(model)
    results = []
    for index, reference in enumerate(clamped):
        working.restore()
        zeroed = zero_random_gammas(working.model, reference.gammas_zeroed, random_control_generator(index))
        measured = accuracy(working.model, batches, description=f'random {zeroed} γ (t={reference.threshold:g})',
                            show_progress=show_progress)
        results.append(ClampResult(threshold=reference.threshold, test_accuracy=measured,
                                   delta=measured - unclamped_accuracy, gammas_zeroed=zeroed,
                                   gammas_total=working.total))
    return results


class _WorkingCopy:
    """A deep copy of the model whose γ can be reset to the trained values before each intervention."""

    def __init__(self, model: nn.Module):
        self.model = copy.deepcopy(model)
        self.layers = norm_layers(self.model)
        self.trained = [module.weight.detach().clone() for _, module in self.layers]
        self.total = sum(gamma.numel() for gamma in self.trained)

    @torch.no_grad()
    def restore(self) -> None:
        for (_, module), gamma in zip(self.layers, self.trained):
            module.weight.copy_(gamma)
