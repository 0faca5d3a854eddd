"""The random stream of one epoch: a pure function of (seed, epoch), independent of the global RNG.

Resuming at epoch e therefore replays exactly the batches an uninterrupted run would have drawn.
"""
import hashlib

import torch


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    # Hashing keeps (seed, epoch) pairs apart (seed 1, epoch 0 is not seed 0, epoch 1) and keeps the data
    # stream unrelated to torch.manual_seed(seed), which other parts of a run may use.
    digest = hashlib.sha256(f'bnonly.data:{seed}:{epoch}'.encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], 'little') >> 1)
