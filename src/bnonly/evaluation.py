"""One evaluation pass: mean loss and top-1 (and top-5) accuracy of a model over batches, in eval mode (BatchNorm
normalises with its running statistics, as in the paper), nothing recorded for autograd.

Training's test evaluation (``bnonly.training.evaluate``, which adds the split of each batch over processes
and the sum over them) and every pass of the analysis (``bnonly.analysis.evaluation``, which adds inference
mode, per-module mode restoring and a progress bar) count with this one function, so the test accuracy in
metrics.json and the analysis' accuracies are the same arithmetic. It imports neither package.
"""
import contextlib
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], *, top5: bool = False,
             forward=None, autocast=None, memory_format: torch.memory_format = torch.contiguous_format,
             shard: Callable[[torch.Tensor], torch.Tensor] | None = None,
             reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
    """Mean loss and top-1 (and top-5) accuracy over ``batches``; restores the model's train/eval mode.

    ``forward`` (default ``model``) is what computes the logits, e.g. the compiled wrapper of ``model``;
    ``autocast`` a context factory for the run's precision; ``memory_format`` the run's layout. Eval mode uses
    the running statistics, so the result does not depend on the batch size beyond rounding. ``shard`` picks
    this process's part of each batch's inputs and labels, ``reduce`` sums the four float64 totals (loss,
    top-1, top-5, count) over processes; both default to the whole batch and one process.
    """
    # no_grad, as open_lth's evaluation; inference_mode would make the outputs inference tensors, which a
    # torch.compile'd forward treats as a separate case (more graphs) for no gain here.
    forward = model if forward is None else forward
    autocast = contextlib.nullcontext if autocast is None else autocast
    was_training = model.training
    model.eval()
    loss_sum = correct1 = correct5 = 0.0
    count = 0
    for x, y in batches:
        if shard is not None:
            x, y = shard(x), shard(y)
        with autocast():
            logits = forward(x.contiguous(memory_format=memory_format))
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, y, reduction='sum')
        correct1 += (logits.argmax(1) == y).sum()
        if top5:
            correct5 += (logits.topk(5, dim=1).indices == y[:, None]).any(1).sum()
        count += len(y)
    model.train(was_training)
    device = next(model.parameters()).device
    totals = torch.tensor([float(loss_sum), float(correct1), float(correct5), float(count)], dtype=torch.float64,
                          device=device)
    loss_sum, correct1, correct5, count = (totals if reduce is None else reduce(totals)).tolist()
    if count == 0:
        raise ValueError('evaluation got no batches')
    result = {'loss': loss_sum / count, 'accuracy': correct1 / count}
    if top5:
        result['top5_accuracy'] = correct5 / count
    return result
