"""Evaluation passes for the analysis: the one evaluation function training's test evaluation also counts with
(``bnonly.evaluation.evaluate``), inside a context that restores every module's own train/eval flag, with a
progress bar.

Every pass the analysis makes goes through ``top1`` so that all of them see the network as the paper
evaluates it, and as training's test evaluation does: BatchNorm normalises with its running statistics
(eval mode), which a pass never updates, and nothing is recorded for autograd (``torch.inference_mode``).
"""
import contextlib
import itertools
from collections.abc import Iterable, Iterator

import torch
from torch import nn
from tqdm import tqdm

from bnonly.evaluation import evaluate

# A batch is a pair (inputs [N, ...], integer labels [N]); the data layer's test loader yields these.
Batch = tuple[torch.Tensor, torch.Tensor]


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode and inference mode; restore each module's own flag afterwards.

    The flags are restored module by module (not with one ``model.train(previous)``) so that a caller's
    mixture of modes is handed back exactly as it was passed in.
    """
    previous = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        for module, training in previous:
            module.training = training


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return first.device if first is not None else torch.device('cpu')


def progress(batches: Iterable[Batch], description: str, enabled: bool = True) -> Iterable[Batch]:
    """tqdm over the batches; the total is shown when the iterable knows its length."""
    try:
        total = len(batches)  # type: ignore[arg-type]
    except TypeError:
        total = None
    return tqdm(batches, desc=description, total=total, unit='batch', leave=False,
                disable=None if enabled else True)  # None: no bar when stderr is not a terminal


def top1(model: nn.Module, batches: Iterable[Batch], *, description: str, show_progress: bool = True,
         on_batch=None) -> tuple[float, int]:
    """(top-1 accuracy, inputs seen) of one pass in eval mode: ``bnonly.evaluation.evaluate`` over the batches
    moved to the model's device. ``on_batch`` is called once per batch (a hooked pass counts its forwards)."""
    device = model_device(model)
    seen = 0

    def moved():
        nonlocal seen
        for inputs, labels in progress(batches, description, show_progress):
            seen += labels.numel()
            if on_batch is not None:
                on_batch()
            yield inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)

    with evaluation_mode(model):
        try:
            result = evaluate(model, moved())
        except ValueError as error:  # no batches
            raise ValueError('the evaluation pass saw no batches; passes that run more than once need a '
                             're-iterable (a list, or an object whose __iter__ starts a new pass), not a '
                             'generator') from error
    return result['accuracy'], seen


def accuracy(model: nn.Module, batches: Iterable[Batch], *, description: str = 'eval',
             show_progress: bool = True) -> float:
    """Top-1 accuracy of ``model`` over one pass of ``batches``, in eval mode on running statistics."""
    return top1(model, batches, description=description, show_progress=show_progress)[0]
