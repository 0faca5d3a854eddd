"""One epoch of training: the batches of ``loader.epoch(e)``, the per-iteration learning rate, running
training loss and accuracy, and the divergence check.

What it adds to a bare forward/backward/step loop, and why it costs (almost) nothing:
- the loss and accuracy sums stay on the device as tensors (a handful of tiny ops per step, no
  synchronisation);
- they are read back (``.item()``, a host-device synchronisation on a GPU) only every ``CHECK_EVERY``
  iterations, to refresh the progress bar and stop a diverged run early, and at the epoch's end. On a GPU
  without a progress bar only the epoch's end reads them, so the host can run ahead of the device.
- the learning rate is a Python float from ``schedule.lr_factor``, written to the optimizer only when it
  changes.
"""
import math
import time

import torch
from tqdm import tqdm

from bnonly.training import distributed
from bnonly.training.distributed import Ranks
from bnonly.training.schedule import lr_factor
from bnonly.training.step import TrainStep

# How often (in iterations) the progress bar is refreshed and the loss checked for NaN/inf.
CHECK_EVERY = 25


class TrainingDiverged(RuntimeError):
    pass


def _check(loss_sum: torch.Tensor, seen: int, epoch: int, index: int) -> float:
    mean_loss = loss_sum.item() / seen
    if not math.isfinite(mean_loss):
        raise TrainingDiverged(f'training diverged: loss is {mean_loss} at epoch {epoch + 1}, '
                               f'iteration {index}; no metrics were written')
    return mean_loss


def train_epoch(step: TrainStep, loader, *, spec, epoch: int, progress: bool = True,
                ranks: Ranks = Ranks()) -> tuple[dict, float]:
    """Train one epoch; returns (the history row's training part, seconds it took).

    Under several processes each trains its slice of every global batch, and the row reports the whole
    epoch (sums reduced over processes at the end)."""
    step.model.train()
    device = step.device
    iterations = len(loader)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    check_every = CHECK_EVERY if progress or device.type == 'cpu' else None  # .item() is free on the CPU
    start = time.perf_counter()
    bar = tqdm(loader.epoch(epoch), total=iterations, desc=f'epoch {epoch + 1}/{spec.epochs}', unit='batch',
               leave=False,
               disable=None if progress else True)  # None: no bar when stderr is not a terminal (logs, CI)
    lr = spec.lr
    for index, (x, y) in enumerate(bar):
        lr = spec.lr * lr_factor(epoch * iterations + index, iterations_per_epoch=iterations,
                                 milestones=spec.milestones, gamma=spec.gamma, warmup_epochs=spec.warmup_epochs)
        if ranks.distributed:
            global_size = len(y)
            x, y = distributed.shard(x, ranks), distributed.shard(y, ranks)
            loss, logits = step(x, y, lr, world=ranks.world, global_size=global_size)
        else:
            loss, logits = step(x, y, lr)
        loss_sum += loss * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
        if check_every and index % check_every == 0 and index != iterations - 1:
            mean_loss = _check(loss_sum, seen, epoch, index)
            bar.set_postfix(loss=f'{mean_loss:.3f}', acc=f'{correct.item() / seen:.3f}',
                            img_s=f'{seen / (time.perf_counter() - start):.0f}')
    if ranks.distributed:
        totals = distributed.sum_over_ranks(
            torch.stack([loss_sum.double(), correct.double(), torch.tensor(float(seen), device=device)]), ranks)
        loss_sum, correct, seen = totals[0], totals[1], int(totals[2].item())
    mean_loss = _check(loss_sum, seen, epoch, iterations - 1)
    accuracy = correct.item() / seen
    seconds = time.perf_counter() - start
    row = dict(epoch=epoch + 1, lr=lr, train_loss=mean_loss, train_accuracy=accuracy,
               epoch_seconds=seconds, images_per_second=seen / seconds)
    return row, seconds
