"""The training loop: one configuration, the open_lth recipe, resumable after a stop or a kill at any moment.

Per epoch: train (epoch.py, one ``TrainStep`` per batch), measure the share of small γ, evaluate on the test
set once (as open_lth does at every epoch boundary; with ``train.eval_every_epoch: false`` only after the last
epoch: history.py), save the resume state (resume.py), log. A stop request (a signal: stopping.py) ends the
run after the step it is in, with the resume state saved mid-epoch, by ``TrainingStopped``. How fast this is
against open_lth's own loop and a bare forward/backward/step loop: benchmarks/speed_cpu.py (and speed_gpu.py).
"""
import dataclasses
from collections.abc import Callable
from pathlib import Path

import torch

from bnonly import timing
from bnonly.census import census
from bnonly.config import ConfigError
from bnonly.data import build_loaders, load_meta
from bnonly.models import CIFAR_DEEP, CIFAR_WIDE, create_model
from bnonly.trainable import merge_random_k, set_trainable
from bnonly.devices import pick_device
from bnonly.training import distributed, numerics
from bnonly.training.epoch import TrainingDiverged, train_epoch
from bnonly.training.evaluate import evaluate
from bnonly.training.history import evaluates, gamma_columns, test_columns
from bnonly.training.optimizer import make_sgd
from bnonly.training.results import write_results
from bnonly.training.resume import Progress, ResumeState
from bnonly.training.spec import RunSpec
from bnonly.training.step import TrainStep
from bnonly.training.stopping import StopRequest, TrainingStopped, on_signals

__all__ = ['Built', 'TrainingDiverged', 'TrainingStopped', 'build', 'pick_device', 'train_run']


@dataclasses.dataclass
class Built:
    model: torch.nn.Module            # the module to save and load (never a compiled wrapper)
    counts: dict                      # the census before freezing
    trainable_count: int
    optimizer: torch.optim.Optimizer
    step: TrainStep


def build(spec: RunSpec, meta: dict, device: torch.device) -> Built:
    """The model (frozen to the trainable set, on ``device`` in the run's layout), its census before freezing,
    SGD over the trainable tensors only, and the training step that applies the run's numerics."""
    numerics.configure_backends(device)
    extra = spec.model_keywords()  # empty for the paper's networks, which are built exactly as always
    if extra and spec.arch not in CIFAR_DEEP + CIFAR_WIDE:
        raise ConfigError(f'model.{", model.".join(extra)}: only the CIFAR ResNets take it, not {spec.arch!r}')
    model = create_model(spec.arch, num_classes=meta['num_classes'], in_chans=meta['in_chans'],
                         norm_init=spec.norm_init, weight_init=spec.weight_init, seed=spec.seed, **extra)
    counts = census(model)
    trainable = set_trainable(model, spec.trainable, k=spec.k, seed=spec.seed)
    # In place: the Parameter objects (and so the ``trainable`` list) stay the same.
    model.to(device=device, memory_format=numerics.memory_format(spec.memory_format))
    optimizer = make_sgd(trainable, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay,
                         device=device)
    step = TrainStep(model, optimizer, device=device, precision=spec.precision, memory_format=spec.memory_format,
                     compile=spec.compile)
    return Built(model, counts, sum(p.numel() for p in trainable), optimizer, step)


def train_run(spec: RunSpec, prepared: Path, out_dir: Path, *, scratch_root: Path | None = None,
              device: torch.device | None = None, progress: bool = True,
              log: Callable[[str], None] = print, stop: StopRequest | None = None) -> dict:
    """Train ``spec`` on the prepared data, write the results to ``out_dir`` and return the final metrics.

    SIGINT, SIGTERM and SIGUSR2 request ``stop`` while it runs (the previous handlers are restored after):
    the run then saves its resume state and raises ``TrainingStopped`` (stopping.py). Resumes from the state
    a stopped or killed run with the same settings left under ``scratch_root`` (resume.py). A non-finite
    loss raises ``TrainingDiverged``; neither writes anything to ``out_dir``.

    Launched by torchrun with several processes, each trains its slice of every global batch
    (distributed.py); only rank 0 logs and writes state and results.
    """
    stop = stop if stop is not None else StopRequest()
    with on_signals(stop):
        return _train(spec, Path(prepared), Path(out_dir), scratch_root=scratch_root, device=device,
                      progress=progress, log=log, stop=stop)


def _train(spec: RunSpec, prepared: Path, out_dir: Path, *, scratch_root, device, progress: bool, log,
           stop: StopRequest) -> dict:
    device = device or pick_device()
    ranks = distributed.init(device)
    progress = progress and ranks.main
    log = log if ranks.main else (lambda line: None)
    with timing.phase('data'):
        meta = load_meta(prepared)
        if meta['dataset'] != spec.dataset:
            raise ConfigError(f"dataset: params say {spec.dataset!r} but {prepared} holds {meta['dataset']!r}; "
                              f"run `dvc repro prepare`")
        train_loader, test_loader = build_loaders(prepared, batch_size=spec.batch_size,
                                                  eval_batch_size=spec.eval_batch_size, seed=spec.seed,
                                                  device=device, train_examples=spec.examples)
    built = build(spec, meta, device)
    model, optimizer, step = built.model, built.optimizer, built.step
    if ranks.distributed:
        step.forward = distributed.wrap(model, device, ranks)

    state = ResumeState(spec.fingerprint(meta), scratch_root, log=log, ranks=ranks)
    position = state.load(model=model, optimizer=optimizer, device=device) or Progress()
    if position.epoch or position.steps:
        after = f'epoch {position.epoch}' if not position.steps else \
            f'step {position.steps} of epoch {position.epoch + 1}'
        log(f'resuming from {state.path} after {after}')

    top5 = meta['num_classes'] > 10
    iterations = len(train_loader)
    for epoch in range(position.epoch, spec.epochs):
        try:
            with timing.phase('train_steps'):
                row, sums = train_epoch(step, train_loader, spec=spec, epoch=epoch, progress=progress, ranks=ranks,
                                        sums=position.sums, stop=stop)
        except TrainingDiverged:
            if ranks.main:
                state.set_aside('diverged', 'the run diverged; a rerun with these settings would diverge again')
            raise
        if row is None:  # stopped mid-epoch
            position.sums = sums
            state.save(model=model, optimizer=optimizer, progress=position)
            raise TrainingStopped(f'stopped by {stop.reason} in epoch {epoch + 1} of {spec.epochs} after step '
                                  f'{sums.steps} of {iterations}; state saved to {state.path}; rerun the same '
                                  f'command (`dvc repro`) to resume')
        row.update(gamma_columns(model))
        test = None
        if evaluates(spec, epoch):
            with timing.phase('test_eval'):
                test = evaluate(model, test_loader.epoch(0), top5=top5,
                                forward=model if ranks.distributed else step.forward, autocast=step.autocast,
                                memory_format=step.layout, ranks=ranks)
        row.update(test_columns(test, top5=top5))
        position = Progress(epoch + 1, position.history + [row], position.elapsed + sums.seconds)
        state.save(model=model, optimizer=optimizer, progress=position)
        tested = '' if test is None else f"test acc {row['test_accuracy']:.4f}  "
        log(f"epoch {row['epoch']}/{spec.epochs}  lr {row['lr']:.4g}  train loss {row['train_loss']:.4f} "
            f"acc {row['train_accuracy']:.4f}  {tested}{row['images_per_second']:.0f} img/s")
        if epoch + 1 < spec.epochs and _stop_at_epoch_end(stop, epoch, iterations, ranks, device):
            raise TrainingStopped(f'stopped by {stop.reason} after epoch {epoch + 1} of {spec.epochs}; state saved '
                                  f'to {state.path}; rerun the same command (`dvc repro`) to resume')

    if not ranks.main:
        distributed.close(ranks)
        return {}
    merge_random_k(model)
    # The saved model is plain NCHW whatever the run's layout, so every reader can .view() its weights.
    model.to(memory_format=torch.contiguous_format)
    history = position.history
    metrics = write_results(out_dir, model=model, spec=spec, meta=meta, history=history, counts=built.counts,
                            trainable_count=built.trainable_count, train_seconds=position.elapsed,
                            images=train_loader.num_examples * spec.epochs, device=device)
    state.clear()
    distributed.close(ranks)
    return metrics


def _stop_at_epoch_end(stop: StopRequest, epoch: int, iterations: int, ranks, device: torch.device) -> bool:
    """Whether a stop was requested by the end of ``epoch`` (during its last step or evaluation); with several
    processes, whether any was asked."""
    if not distributed.any_rank(stop.after_step(epoch, iterations), ranks, device):
        return False
    stop.request()
    return True
