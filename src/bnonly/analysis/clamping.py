"""Clamping small γ to zero (the paper's Figure 6): set every γ with |γ| < t to 0 and re-measure accuracy.

What happens to β: nothing. β is left as trained, because that is exactly what "γ = 0" means. With γ = 0 a
BatchNorm channel outputs ``γ·x̂ + β = β`` for every input and position: the channel stops carrying any
information about the input and becomes the constant β (after the ReLU that follows, the constant
``max(β, 0)``). The paper asks whether the features with small γ are effectively switched off; zeroing γ
answers exactly that and nothing more. Zeroing β as well would be a second intervention: it would also remove
a constant the following layers were trained with (a per-channel bias that the next convolution and the
ReLU see), and so mix "is this feature off?" with "does the network need this offset?".

Cost and safety: each threshold is one evaluation pass of a single working copy of the model, with γ
recomputed from the trained values for every threshold (thresholds are independent, not cumulative). The
model passed in, and so the checkpoint it came from, is never modified.
"""
import copy
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from bnonly.analysis.batchnorm import batchnorm_layers
from bnonly.analysis.evaluation import Batch, accuracy


@torch.no_grad()
def clamp_gammas(model: nn.Module, threshold: float) -> int:
    """In place: γ ← 0 wherever |γ| < ``threshold`` (compared in γ's dtype); β untouched. Returns how many."""
    zeroed = 0
    for _, module in batchnorm_layers(model):
        small = module.weight.abs() < threshold
        module.weight.masked_fill_(small, 0.0)
        zeroed += int(small.sum())
    return zeroed


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
    working = copy.deepcopy(model)
    layers = batchnorm_layers(working)
    trained = [module.weight.detach().clone() for _, module in layers]
    total = sum(gamma.numel() for gamma in trained)
    results = []
    for threshold in thresholds:
        with torch.no_grad():  # start every threshold from the trained γ, not from the previous clamp
            for (_, module), gamma in zip(layers, trained):
                module.weight.copy_(gamma)
        zeroed = clamp_gammas(working, threshold)
        clamped = accuracy(working, batches, description=f'clamp |γ|<{threshold:g}',
                           show_progress=show_progress)
        results.append(ClampResult(threshold=threshold, test_accuracy=clamped,
                                   delta=clamped - unclamped_accuracy, gammas_zeroed=zeroed,
                                   gammas_total=total))
    return results
