"""Several seeds of one configuration trained at once, as one batched model (for GPUs the thin ResNets leave idle).

The thin, deep ResNets leave a GPU mostly idle (their kernels are small and many); running the replicates of a
configuration together fills it. Each run keeps everything of its own: initialisation, data order and
augmentation (its own seed), BatchNorm running statistics and momentum buffers. The runs are stacked with
``torch.func.stack_module_state`` and the model is called through ``vmap(functional_call(...))``:

- a convolution whose input and weight are both batched becomes one grouped convolution (N groups);
- BatchNorm in training mode becomes one ``batch_norm`` over N x C channels: per-channel statistics over
  (batch, height, width), i.e. exactly each run's own. The running statistics are updated in place through
  views of the stacked buffers, which ``stack_module_state`` lays out model-first and contiguous; the test
  (tests/test_engine_ensemble.py) checks they match runs trained one by one;
- the loss is the sum over runs of each run's mean cross-entropy, so each run's slice of every gradient is
  its own gradient; SGD (momentum, coupled weight decay) is elementwise, so one optimizer over the stacked
  tensors updates each run exactly as its own optimizer would.

Results agree with one-by-one training to fp32 rounding (grouped and plain convolutions sum in different
orders; the test states the tolerance). Not supported: ``random_k`` sets (their parametrization), and a
compiled model. The stack trains in NCHW (vmap's grouped-conv rule reshapes to [B, N x C, H, W]).

``train_stacked`` is ``train_run`` for N specs that differ only in their seed: the same outputs in N folders,
resumable as a whole (one resume state for the stack).
"""
import copy
import dataclasses
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from bnonly import timing
from bnonly.census import census
from bnonly.checkpoint import atomic_save
from bnonly.config import ConfigError
from bnonly.data import build_loaders, load_meta
from bnonly.models import create_model
from bnonly.trainable import set_trainable
from bnonly.training import numerics, resume
from bnonly.training.epoch import TrainingDiverged
from bnonly.training.evaluate import evaluate
from bnonly.training.history import evaluates, gamma_columns, test_columns
from bnonly.training.loop import pick_device
from bnonly.training.optimizer import make_sgd
from bnonly.training.results import write_results
from bnonly.training.schedule import lr_factor
from bnonly.training.spec import RunSpec


class StackedModels:
    """N models of one architecture as stacked tensors; ``forward(x)`` maps x [N, B, ...] to logits [N, B, K]."""

    def __init__(self, models: list[nn.Module]):
        if any(hasattr(module, 'parametrizations') for model in models for module in model.modules()):
            raise ValueError('stacked training does not support parametrized (random_k) models')
        self.models = models
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to('meta')  # the structure only; tensors come from the stack

        def call(params, buffers, x):
            return functional_call(self.base, (params, buffers), (x,))
        self._forward = vmap(call, in_dims=(0, 0, 0))

    def __len__(self) -> int:
        return len(self.models)

    def trainable(self) -> list[torch.Tensor]:
        return [tensor for tensor in self.params.values() if tensor.requires_grad]

    def train(self, mode: bool = True) -> None:
        self.base.train(mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(self.params, self.buffers, x)

    @torch.no_grad()
    def unstack(self) -> list[nn.Module]:
        """Copy each run's slice back into its own model (to evaluate or save it); returns the models."""
        for index, model in enumerate(self.models):
            for name, tensor in model.named_parameters():
                tensor.copy_(self.params[name][index])
            for name, tensor in model.named_buffers():
                tensor.copy_(self.buffers[name][index])
        return self.models

    def state(self) -> dict:
        return {'params': {k: v.detach() for k, v in self.params.items()}, 'buffers': dict(self.buffers)}

    @torch.no_grad()
    def load(self, state: dict) -> None:
        for group, saved in (('params', self.params), ('buffers', self.buffers)):
            for name, tensor in saved.items():
                tensor.copy_(state[group][name])


class StackedStep:
    """One SGD iteration of every run: ``step(x [N, B, ...], y [N, B], lr) -> (losses [N], logits [N, B, K])``."""

    def __init__(self, stack: StackedModels, optimizer: torch.optim.Optimizer):
        self.stack, self.optimizer = stack, optimizer

    def __call__(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> tuple[torch.Tensor, torch.Tensor]:
        for group in self.optimizer.param_groups:
            group['lr'] = lr
        self.optimizer.zero_grad(set_to_none=True)
        self.stack.train(True)
        logits = self.stack.forward(x)
        runs, batch = y.shape
        losses = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction='none').view(runs, batch)
        losses = losses.mean(1)  # each run's own mean, as F.cross_entropy(logits_i, y_i)
        losses.sum().backward()
        self.optimizer.step()
        return losses.detach(), logits.detach()


def check_stackable(specs: list[RunSpec]) -> None:
    if not specs:
        raise ValueError('no runs to stack')
    first = dataclasses.replace(specs[0], seed=0)
    if any(dataclasses.replace(spec, seed=0) != first for spec in specs):
        raise ValueError('stacked runs must differ in their seed only')
    if len({spec.seed for spec in specs}) != len(specs):
        raise ValueError('stacked runs need distinct seeds')
    if first.trainable.startswith('random_k'):
        raise ValueError('stacked training does not support random_k sets (their parametrization)')
    if first.compile or first.precision != 'fp32':
        raise ValueError('stacked training runs fp32 eager (no compile, no bf16) for now')


def build_stack(specs: list[RunSpec], meta: dict, device: torch.device):
    """Models frozen to the trainable set (NCHW, on ``device``), the stack, SGD over its trainable tensors."""
    models, counts = [], None
    for spec in specs:
        model = create_model(spec.arch, num_classes=meta['num_classes'], in_chans=meta['in_chans'],
                             batchnorm_init=spec.batchnorm_init, weight_init=spec.weight_init, seed=spec.seed)
        counts = census(model)
        set_trainable(model, spec.trainable, k=spec.random_k, seed=spec.seed)
        models.append(model.to(device))
    stack = StackedModels(models)
    spec = specs[0]
    optimizer = make_sgd(stack.trainable(), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay,
                         device=device)
    return stack, counts, optimizer


def train_stacked(specs: list[RunSpec], prepared: Path, out_dirs: list[Path], *, scratch_root: Path | None = None,
                  device: torch.device | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Train the runs ``specs`` (one configuration, several seeds) together; write each run's results to its
    ``out_dirs`` entry exactly as ``train_run`` would, and return their final metrics. A divergence in any run
    stops all of them (``TrainingDiverged``, no metrics written)."""
    check_stackable(specs)
    if len(out_dirs) != len(specs):
        raise ValueError('one output folder per run')
    device = device or pick_device()
    numerics.configure_backends(device)
    spec = specs[0]
    meta = load_meta(prepared)
    if meta['dataset'] != spec.dataset:
        raise ConfigError(f"dataset: params say {spec.dataset!r} but {prepared} holds {meta['dataset']!r}")
    with timing.phase('data'):
        train_loader, test_loader = build_loaders(prepared, batch_size=spec.batch_size,
                                                  eval_batch_size=spec.eval_batch_size, seed=spec.seed,
                                                  device=device, train_examples=spec.examples)
    # One loader per run over the same resident images: ``epoch(e)`` draws order and augmentation from
    # (loader.seed, e), so a shallow copy with another seed is that run's own loader.
    loaders = []
    for run in specs:
        loader = copy.copy(train_loader)
        loader.seed = run.seed
        loaders.append(loader)
    stack, counts, optimizer = build_stack(specs, meta, device)
    step = StackedStep(stack, optimizer)

    key = hashlib.sha256(''.join(run.fingerprint(meta) for run in specs).encode()).hexdigest()[:16]
    state_dir = resume.scratch_dir(f'stack-{key}', scratch_root)
    state_path = state_dir / 'last.pt'
    start_epoch, histories, elapsed = 0, [[] for _ in specs], 0.0
    if state_path.is_file():
        state = torch.load(state_path, map_location='cpu', weights_only=True)
        stack.load(state['stack'])
        optimizer.load_state_dict(state['optimizer'])
        start_epoch, histories, elapsed = state['epoch'], state['histories'], state['elapsed']
        log(f'resuming {len(specs)} stacked runs from {state_path} after epoch {start_epoch}')

    iterations = len(train_loader)
    top5 = meta['num_classes'] > 10
    for epoch in range(start_epoch, spec.epochs):
        loss_sum = torch.zeros(len(specs), device=device)
        correct = torch.zeros(len(specs), device=device, dtype=torch.long)
        seen, lr = 0, spec.lr
        start = time.perf_counter()
        with timing.phase('train_steps'):
            for index, batches in enumerate(zip(*(loader.epoch(epoch) for loader in loaders))):
                x = torch.stack([b[0] for b in batches])
                y = torch.stack([b[1] for b in batches])
                lr = spec.lr * lr_factor(epoch * iterations + index, iterations_per_epoch=iterations,
                                         milestones=spec.milestones, gamma=spec.gamma,
                                         warmup_epochs=spec.warmup_epochs)
                losses, logits = step(x, y, lr)
                loss_sum += losses * y.shape[1]
                correct += (logits.argmax(2) == y).sum(1)
                seen += y.shape[1]
        mean_losses = (loss_sum / seen).tolist()
        accuracies = (correct.double() / seen).tolist()
        seconds = time.perf_counter() - start
        if not all(map(lambda value: value == value and abs(value) != float('inf'), mean_losses)):
            raise TrainingDiverged(f'training diverged: losses {mean_losses} at epoch {epoch + 1}; '
                                   f'no metrics were written')
        elapsed += seconds
        for run, model in enumerate(stack.unstack()):
            test = None
            if evaluates(spec, epoch):
                with timing.phase('test_eval'):
                    test = evaluate(model, test_loader.epoch(0), top5=top5)
            histories[run].append(dict(epoch=epoch + 1, lr=lr, train_loss=mean_losses[run],
                                       train_accuracy=accuracies[run], epoch_seconds=seconds,
                                       images_per_second=seen / seconds, **gamma_columns(model),
                                       **test_columns(test, top5=top5)))
        atomic_save({'stack': stack.state(), 'optimizer': optimizer.state_dict(), 'epoch': epoch + 1,
                     'histories': histories, 'elapsed': elapsed}, state_path)
        log(f'epoch {epoch + 1}/{spec.epochs}  {len(specs)} stacked runs  test acc '
            + ' '.join('-' if h[-1]['test_accuracy'] is None else f"{h[-1]['test_accuracy']:.4f}"
                       for h in histories))

    results = []
    for run, (model, out_dir) in enumerate(zip(stack.unstack(), out_dirs)):
        # train_seconds is the stack's wall time: each run took that long, alongside the others.
        results.append(write_results(out_dir, model=model, spec=specs[run], meta=meta, history=histories[run],
                                     counts=counts, trainable_count=sum(p.numel() for p in model.parameters()
                                                                        if p.requires_grad),
                                     train_seconds=elapsed, images=train_loader.num_examples * spec.epochs,
                                     device=device))
    resume.clear(state_dir)
    return results
