"""Test-set evaluation of a training run: ``bnonly.evaluation.evaluate`` with each batch split over the run's
processes and the totals summed over them."""
import functools

import torch
from torch import nn

from bnonly import evaluation
from bnonly.training import distributed
from bnonly.training.distributed import Ranks


def evaluate(model: nn.Module, batches, *, top5: bool = False, forward=None, autocast=None,
             memory_format: torch.memory_format = torch.contiguous_format, ranks: Ranks = Ranks()
             ) -> dict[str, float]:
    """Mean loss and top-1 (and top-5) accuracy over ``batches`` (``bnonly.evaluation.evaluate``'s arguments);
    under several processes each evaluates its slice of every batch and the sums are reduced."""
    return evaluation.evaluate(model, batches, top5=top5, forward=forward, autocast=autocast,
                               memory_format=memory_format,
                               shard=functools.partial(distributed.shard, ranks=ranks),
                               reduce=functools.partial(distributed.sum_over_ranks, ranks=ranks))
