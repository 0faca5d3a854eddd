"""One epoch of training: the batches of ``loader.epoch(e)``, the per-iteration learning rate, running
training loss and accuracy, the divergence check, and stopping on request between two steps.

What it adds to a bare forward/backward/step loop, and why it costs (almost) nothing:
- the loss and accuracy sums stay on the device as tensors (a handful of tiny ops per step, no
  synchronisation);
- on the CPU the loss is checked for NaN/inf after every step (``.item()`` costs nothing there), so a
  diverged run stops at the step where it diverged; on a GPU the sums are read back (a host-device
  synchronisation) only every ``CHECK_EVERY`` iterations to refresh the progress bar and stop a diverged run
  early, and at the epoch's end. On a GPU without a progress bar only the epoch's end reads them, so the host
  can run ahead of the device.
- the learning rate is a Python float from ``schedule.lr_factor``, written to the optimizer only when it
  changes;
- the stop request is a Python flag read after each step (with several processes, agreed on every
  ``CHECK_EVERY`` steps, so that all stop at the same step).

A resumed epoch starts from its saved running sums and skips the batches already trained (``loader.epoch(e,
start=k)``), so its row is the one an uninterrupted epoch would have produced.
"""
import math
import time

import torch
from tqdm import tqdm

from bnonly.training import distributed
from bnonly.training.distributed import Ranks
from bnonly.training.resume import Sums
from bnonly.training.schedule import lr_factor
from bnonly.training.step import TrainStep
from bnonly.training.stopping import StopRequest

# How often (in iterations) the progress bar is refreshed, and on a GPU the loss checked for NaN/inf.
CHECK_EVERY = 25


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; ``str()`` is one line naming where and what to change."""


def _check(sums: Sums, spec, epoch: int, steps: int, iterations: int, step_loss: float | None = None) -> float:
    """The epoch's mean loss so far; ``TrainingDiverged`` when it is not finite (NaN and inf stay in a sum of
    non-negative losses, so the mean shows the first diverged step). ``step_loss``: this step's loss, when
    every step is checked (the divergence is then at this step, else somewhere before it)."""
    mean_loss = sums.loss.item() / sums.seen
    if not math.isfinite(mean_loss):
        loss = mean_loss if step_loss is None else step_loss
        where = f'at epoch {epoch + 1}, step {steps} of {iterations}' if step_loss is not None else \
            f'in epoch {epoch + 1}, by step {steps} of {iterations}'
        advice = f'lower train.lr (now {spec.lr:g})'
        if spec.precision != 'fp32':
            advice += f' or set train.precision to fp32 (now {spec.precision})'
        raise TrainingDiverged(f'training diverged {where}: the loss is {loss}; {advice}; no metrics or model '
                               f'were written')
    return mean_loss


def _stop_now(stop: StopRequest | None, epoch: int, steps: int, ranks: Ranks, device: torch.device) -> bool:
    """Whether to stop after this step; with several processes, agreed (any process asked) every CHECK_EVERY
    steps."""
    if stop is None:
        return False
    wanted = stop.after_step(epoch, steps)
    if not ranks.distributed:
        return wanted
    if steps % CHECK_EVERY or not distributed.any_rank(wanted, ranks, device):
        return False
    stop.request()
    return True


def train_epoch(step: TrainStep, loader, *, spec, epoch: int, progress: bool = True, ranks: Ranks = Ranks(),
                sums: Sums | None = None, stop: StopRequest | None = None) -> tuple[dict | None, Sums]:
    """Train one epoch, or its rest after ``sums.steps`` steps; returns (the history row's training part,
    the running sums), the row None when ``stop`` asked to stop before the epoch's last step.

    Under several processes each trains its slice of every global batch, and the row reports the whole
    epoch (sums reduced over processes at the end)."""
    step.model.train()
    device = step.device
    iterations = len(loader)
    sums = sums or Sums.zero(device)
    every_step = device.type == 'cpu'  # .item() is free on the CPU
    check_every = 1 if every_step else CHECK_EVERY if progress else None
    start = time.perf_counter() - sums.seconds
    bar = tqdm(loader.epoch(epoch, start=sums.steps), total=iterations, initial=sums.steps,
               desc=f'epoch {epoch + 1}/{spec.epochs}', unit='batch', leave=False,
               disable=None if progress else True)  # None: no bar when stderr is not a terminal (logs, CI)
    lr = spec.lr
    for index, (x, y) in enumerate(bar, start=sums.steps):
        lr = spec.lr * lr_factor(epoch * iterations + index, iterations_per_epoch=iterations,
                                 milestones=spec.milestones, gamma=spec.gamma, warmup_epochs=spec.warmup_epochs)
        if ranks.distributed:
            global_size = len(y)
            x, y = distributed.shard(x, ranks), distributed.shard(y, ranks)
            loss, logits = step(x, y, lr, world=ranks.world, global_size=global_size)
        else:
            loss, logits = step(x, y, lr)
        sums.loss += loss * len(y)
        sums.correct += (logits.argmax(1) == y).sum()
        sums.seen += len(y)
        sums.steps = index + 1
        last = index == iterations - 1
        if check_every and index % check_every == 0 and not last:
            mean_loss = _check(sums, spec, epoch, index + 1, iterations, loss.item() if every_step else None)
            if progress and index % CHECK_EVERY == 0:
                bar.set_postfix(loss=f'{mean_loss:.3f}', acc=f'{sums.correct.item() / sums.seen:.3f}',
                                img_s=f'{sums.seen / (time.perf_counter() - start):.0f}')
        if not last and _stop_now(stop, epoch, index + 1, ranks, device):
            bar.close()
            sums.seconds = time.perf_counter() - start
            return None, sums
    bar.close()
    loss_sum, correct, seen = sums.loss, sums.correct, sums.seen
    if ranks.distributed:
        totals = distributed.sum_over_ranks(
            torch.stack([loss_sum.double(), correct.double(), torch.tensor(float(seen), device=device)]), ranks)
        loss_sum, correct, seen = totals[0], totals[1], int(totals[2].item())
    mean_loss = _check(Sums(loss_sum, correct, seen, iterations), spec, epoch, iterations, iterations,
                       loss.item() if every_step and not ranks.distributed else None)
    accuracy = correct.item() / seen
    seconds = time.perf_counter() - start
    sums.seconds = seconds
    row = dict(epoch=epoch + 1, lr=lr, train_loss=mean_loss, train_accuracy=accuracy,
               epoch_seconds=seconds, images_per_second=seen / seconds)
    return row, sums
