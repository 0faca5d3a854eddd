"""Data-parallel training over several processes (torchrun), for the ImageNet runs.

Every process builds the same global batch (order and augmentation are a pure function of (seed, epoch)) and
trains on its contiguous slice of it; DistributedDataParallel averages the gradients. Each process's loss is
the sum over its slice times world_size / global batch size, so the averaged gradient is exactly the
gradient of the mean loss over the global batch, even when the last batch does not split evenly.

BatchNorm as the paper had it: open_lth trains multi-GPU with DataParallel, whose replicas normalise with the
statistics of their own slice, and whose running statistics are those of the first replica. DDP without
SyncBatchNorm does the same: per-process batch statistics, and rank 0's running statistics broadcast to the
others before every forward (``broadcast_buffers=True``).
"""
import dataclasses
import os

import torch
import torch.distributed as dist
from torch import nn


@dataclasses.dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def init(device: torch.device) -> Ranks:
    """Join the process group torchrun describes in the environment (a single process needs none)."""
    ranks = Ranks(int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1)))
    if ranks.distributed and not dist.is_initialized():
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
    return ranks


def shard(tensor: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """This process's contiguous slice of a global batch."""
    size = len(tensor)
    return tensor[size * ranks.rank // ranks.world:size * (ranks.rank + 1) // ranks.world]


def wrap(model: nn.Module, device: torch.device, ranks: Ranks) -> nn.Module:
    if not ranks.distributed:
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == 'cuda' else None)


def sum_over_ranks(values: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    if ranks.distributed:
        dist.all_reduce(values)
    return values


def gather_over_ranks(values: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """Every process's ``values``, stacked in rank order: [world, *values.shape]."""
    if not ranks.distributed:
        return values[None]
    gathered = [torch.empty_like(values) for _ in range(ranks.world)]
    dist.all_gather(gathered, values)
    return torch.stack(gathered)


def any_rank(flag: bool, ranks: Ranks, device: torch.device) -> bool:
    """Whether ``flag`` is true in any process (every process must call it at the same point)."""
    if not ranks.distributed:
        return flag
    return sum_over_ranks(torch.tensor(float(flag), device=device), ranks).item() > 0


def close(ranks: Ranks) -> None:
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()
