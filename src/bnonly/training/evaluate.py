"""Test-set evaluation in eval mode (BatchNorm uses its running statistics, as in the paper)."""
import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from bnonly.training import distributed
from bnonly.training.distributed import Ranks


@torch.no_grad()
def evaluate(model: nn.Module, batches, *, top5: bool = False, forward=None, autocast=None,
             memory_format: torch.memory_format = torch.contiguous_format, ranks: Ranks = Ranks()
             ) -> dict[str, float]:
    """Mean loss and top-1 (and top-5) accuracy over ``batches``; restores the model's train/eval mode.

    ``forward`` (default ``model``) is what computes the logits, e.g. the compiled wrapper of ``model``;
    ``autocast`` a context factory for the run's precision; ``memory_format`` the run's layout. Eval mode uses
    the running statistics, so the result does not depend on the batch size beyond rounding. Under several
    processes each evaluates its slice of every batch and the sums are reduced.
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
        x, y = distributed.shard(x, ranks), distributed.shard(y, ranks)
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
    loss_sum, correct1, correct5, count = distributed.sum_over_ranks(torch.tensor(
        [float(loss_sum), float(correct1), float(correct5), float(count)], dtype=torch.float64, device=device),
        ranks).tolist()
    if count == 0:
        raise ValueError('evaluation got no batches')
    result = {'loss': loss_sum / count, 'accuracy': correct1 / count}
    if top5:
        result['top5_accuracy'] = correct5 / count
    return result
