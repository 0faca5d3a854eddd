"""The training loop: one configuration, the open_lth recipe, resumable after a kill at any moment."""
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from bnonly.census import census
from bnonly.config import ConfigError
from bnonly.data import build_loaders, load_meta
from bnonly.models import create_model
from bnonly.trainable import merge_random_k, set_trainable
from bnonly.training import resume
from bnonly.training.evaluate import evaluate
from bnonly.training.results import write_results
from bnonly.training.schedule import lr_factor
from bnonly.training.spec import RunSpec

# How often (in iterations) the progress bar is refreshed and the loss checked for NaN/inf; each check
# synchronises with the GPU, so not every step.
CHECK_EVERY = 25


class TrainingDiverged(RuntimeError):
    pass


def pick_device() -> torch.device:
    """CUDA when present (honouring CUDA_VISIBLE_DEVICES), else the CPU: chosen at run time, never in params."""
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def build(spec: RunSpec, meta: dict, device: torch.device):
    """The model, its census before freezing, and an SGD optimizer over the trainable tensors only."""
    model = create_model(spec.arch, num_classes=meta['num_classes'], in_chans=meta['in_chans'],
                         batchnorm_init=spec.batchnorm_init, weight_init=spec.weight_init, seed=spec.seed)
    counts = census(model)
    trainable = set_trainable(model, spec.trainable, k=spec.random_k, seed=spec.seed)
    model.to(device)
    # Coupled L2 weight decay, as torch.optim.SGD(weight_decay=...) in open_lth; frozen tensors are not given
    # to the optimizer, so they get no decay.
    optimizer = torch.optim.SGD(trainable, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)
    return model, counts, sum(p.numel() for p in trainable), optimizer


def train_run(spec: RunSpec, prepared: Path, out_dir: Path, *, scratch_root: Path | None = None,
              device: torch.device | None = None, progress: bool = True,
              log: Callable[[str], None] = print) -> dict:
    """Train ``spec`` on the prepared data, write the results to ``out_dir`` and return the final metrics."""
    device = device or pick_device()
    meta = load_meta(prepared)
    if meta['dataset'] != spec.dataset:
        raise ConfigError(f"dataset: params say {spec.dataset!r} but {prepared} holds {meta['dataset']!r}; "
                          f"run `dvc repro prepare`")
    train_loader, test_loader = build_loaders(prepared, batch_size=spec.batch_size,
                                              eval_batch_size=spec.eval_batch_size, seed=spec.seed, device=device,
                                              train_examples=spec.examples)
    model, counts, trainable_count, optimizer = build(spec, meta, device)

    state_dir = resume.scratch_dir(spec.fingerprint(meta), scratch_root)
    state_path = state_dir / 'last.pt'
    restored = resume.load_state(state_path, model=model, optimizer=optimizer)
    start_epoch, history, elapsed = (restored['epoch'], restored['history'], restored['elapsed']) if restored \
        else (0, [], 0.0)
    if restored:
        log(f'resuming from {state_path} after epoch {start_epoch}')

    iterations = len(train_loader)
    top5 = meta['num_classes'] > 10
    for epoch in range(start_epoch, spec.epochs):
        row, seconds = _train_epoch(model, optimizer, train_loader, spec, epoch, iterations, progress)
        test = evaluate(model, test_loader.epoch(0), top5=top5)
        row.update({f'test_{key}': value for key, value in test.items()})
        history.append(row)
        elapsed += seconds
        resume.save_state(state_path, model=model, optimizer=optimizer, epoch=epoch + 1, history=history,
                          elapsed=elapsed)
        log(f"epoch {row['epoch']}/{spec.epochs}  lr {row['lr']:.4g}  train loss {row['train_loss']:.4f} "
            f"acc {row['train_accuracy']:.4f}  test acc {row['test_accuracy']:.4f}  "
            f"{row['images_per_second']:.0f} img/s")

    merge_random_k(model)
    metrics = write_results(out_dir, model=model, spec=spec, meta=meta, history=history, counts=counts,
                            trainable_count=trainable_count, train_seconds=elapsed,
                            images=train_loader.num_examples * spec.epochs, device=device)
    resume.clear(state_dir)
    return metrics


def _train_epoch(model, optimizer, loader, spec: RunSpec, epoch: int, iterations: int, progress: bool):
    model.train()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    start = time.perf_counter()
    bar = tqdm(loader.epoch(epoch), total=iterations, desc=f'epoch {epoch + 1}/{spec.epochs}', unit='batch',
               leave=False, disable=not progress)
    for index, (x, y) in enumerate(bar):
        lr = spec.lr * lr_factor(epoch * iterations + index, iterations_per_epoch=iterations,
                                 milestones=spec.milestones, gamma=spec.gamma, warmup_epochs=spec.warmup_epochs)
        for group in optimizer.param_groups:
            group['lr'] = lr
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        seen += len(y)
        if index % CHECK_EVERY == 0 or index == iterations - 1:
            mean_loss = loss_sum.item() / seen
            if not math.isfinite(mean_loss):
                raise TrainingDiverged(f'training diverged: loss is {mean_loss} at epoch {epoch + 1}, '
                                       f'iteration {index}; no metrics were written')
            bar.set_postfix(loss=f'{mean_loss:.3f}', acc=f'{correct.item() / seen:.3f}',
                            img_s=f'{seen / (time.perf_counter() - start):.0f}')
    seconds = time.perf_counter() - start
    row = dict(epoch=epoch + 1, lr=lr, train_loss=loss_sum.item() / seen, train_accuracy=correct.item() / seen,
               epoch_seconds=seconds, images_per_second=seen / seconds)
    return row, seconds
