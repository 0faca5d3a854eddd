"""Evaluation passes for the analysis: eval mode on running statistics, no autograd, a progress bar.

Every pass the analysis makes goes through ``evaluation_mode`` and ``count_correct`` so that all of them see
the network as the paper evaluates it: BatchNorm normalises with its running statistics (eval mode), which a
pass never updates, and nothing is recorded for autograd (``torch.inference_mode``).
"""
import contextlib
import itertools
from collections.abc import Iterable, Iterator

import torch
from torch import nn
from tqdm import tqdm

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


def count_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number of top-1 hits in a batch, as a tensor on the logits' device (no host sync per batch)."""
    return (logits.argmax(dim=1) == labels).sum()


def accuracy(model: nn.Module, batches: Iterable[Batch], *, description: str = 'eval',
             show_progress: bool = True) -> float:
    """Top-1 accuracy of ``model`` over one pass of ``batches``, in eval mode on running statistics."""
    device = model_device(model)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    with evaluation_mode(model):
        for inputs, labels in progress(batches, description, show_progress):
            inputs, labels = inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            correct += count_correct(model(inputs), labels)
            seen += labels.numel()
    return fraction(int(correct), seen)


def fraction(correct: int, seen: int) -> float:
    """``correct / seen``; an empty pass is an error (a generator passed twice is the usual cause)."""
    if seen == 0:
        raise ValueError('the evaluation pass saw no batches; passes that run more than once need a '
                         're-iterable (a list, or an object whose __iter__ starts a new pass), not a generator')
    return correct / seen
