"""Every speed change keeps the results: our engine's first steps against a plain loop written here.

The reference is the loop a reader of open_lth would write: ``torch.optim.SGD`` (its default implementation)
over the trainable tensors, a per-iteration ``LambdaLR`` whose factor is open_lth's (gamma to the number of
milestones passed, ``bisect``), zero_grad / forward / cross-entropy / backward / step, NCHW fp32. It trains on
the same batches (``InMemoryLoader.epoch(e)``: same order, same crops and flips) as the engine.

Tolerances, stated:
- ``memory_format: contiguous``, fp32: **bit-identical** losses, parameters, BN running statistics and momentum
  buffers, through an LR drop (the engine's foreach SGD is the same arithmetic as the for-loop SGD).
- ``memory_format: channels_last`` (the default), fp32: the same step to fp32 rounding. After the first step
  every tensor's change differs from the reference's by at most 1e-4 of the largest change in that tensor
  (measured: 3e-5) and the loss by 1e-6 relative. Later steps drift apart as rounding differences grow
  (measured: 1% of an update after two steps, 9% after three, on this tiny problem at lr 0.1), as they do
  between any two conv implementations, so only the first step is compared tightly.
"""
import bisect

import pytest
import torch
import torch.nn.functional as F

from bnonly.data import build_loaders, load_meta
from bnonly.models import create_model
from bnonly.trainable import set_trainable
from bnonly.training import RunSpec, train_run
from bnonly.training import step as step_module
from bnonly.training.loop import build

from tiny_data import tiny_spec, write_prepared

# The same thread count for every loop compared (oneDNN's reductions may split work by thread).
pytestmark = pytest.mark.usefixtures('single_thread')


def make_spec(**train) -> RunSpec:
    return tiny_spec(seed=3, **train)


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    return write_prepared(tmp_path_factory.mktemp('prepared') / 'data', train=96, test=40)


def reference_model(spec: RunSpec, meta: dict):
    model = create_model(spec.arch, num_classes=meta['num_classes'], in_chans=meta['in_chans'],
                         norm_init=spec.norm_init, weight_init=spec.weight_init, seed=spec.seed)
    params = set_trainable(model, spec.trainable, k=spec.k, seed=spec.seed)
    return model, torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)


def reference_step(model, optimizer, x, y) -> float:
    optimizer.zero_grad()
    model.train()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def reference_run(spec: RunSpec, prepared, epochs: int):
    """A plain open_lth-style loop; returns (per-step losses, model, optimizer)."""
    model, optimizer = reference_model(spec, load_meta(prepared))
    train, _ = build_loaders(prepared, batch_size=spec.batch_size, eval_batch_size=64, seed=spec.seed,
                             device='cpu')
    milestones = [m * len(train) for m in spec.milestones]
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: spec.gamma ** bisect.bisect(milestones, it))
    losses = []
    for epoch in range(epochs):
        for x, y in train.epoch(epoch):
            losses.append(reference_step(model, optimizer, x, y))
            schedule.step()
    return losses, model, optimizer


def record_losses(monkeypatch) -> list[float]:
    losses = []
    original = step_module.TrainStep.__call__

    def recording(self, x, y, lr):
        loss, logits = original(self, x, y, lr)
        losses.append(loss.item())
        return loss, logits

    monkeypatch.setattr(step_module.TrainStep, '__call__', recording)
    return losses


def momentum_buffers(optimizer) -> list[torch.Tensor]:
    return [optimizer.state[p]['momentum_buffer'] for group in optimizer.param_groups for p in group['params']]


@pytest.mark.parametrize('trainable', ['all', 'bn_only'])
def test_contiguous_fp32_engine_is_bit_identical_to_a_plain_loop(prepared, tmp_path, monkeypatch, trainable):
    spec = make_spec(trainable=trainable, memory_format='contiguous')
    losses = record_losses(monkeypatch)
    captured = {}
    original_build = build

    def capture(*args, **kwargs):  # keep the engine's optimizer to compare momentum buffers
        captured['built'] = original_build(*args, **kwargs)
        return captured['built']

    monkeypatch.setattr('bnonly.training.loop.build', capture)
    train_run(spec, prepared, tmp_path / 'out', scratch_root=tmp_path / 'scratch', device=torch.device('cpu'),
              progress=False, log=lambda line: None)
    ref_losses, ref_model, ref_optimizer = reference_run(spec, prepared, epochs=2)

    assert len(losses) == 6 and losses == ref_losses  # 3 batches per epoch; the LR drops after epoch 1
    ours = captured['built'].model.state_dict()
    for name, tensor in ref_model.state_dict().items():
        assert torch.equal(ours[name], tensor), name  # parameters and BN running statistics
    for mine, theirs in zip(momentum_buffers(captured['built'].optimizer), momentum_buffers(ref_optimizer),
                            strict=True):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize('trainable', ['all', 'bn_only'])
def test_channels_last_first_step_matches_to_fp32_rounding(prepared, trainable):
    meta = load_meta(prepared)
    built = build(make_spec(trainable=trainable, memory_format='channels_last'), meta, torch.device('cpu'))
    assert built.model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    ref_model, ref_optimizer = reference_model(make_spec(trainable=trainable), meta)
    before = {name: tensor.clone() for name, tensor in ref_model.state_dict().items()}
    train, _ = build_loaders(prepared, batch_size=32, eval_batch_size=64, seed=3, device='cpu')
    x, y = next(iter(train.epoch(0)))

    loss, _ = built.step(x, y, 0.1)
    assert loss.item() == pytest.approx(reference_step(ref_model, ref_optimizer, x, y), rel=1e-6)
    ours = built.model.state_dict()
    for name, theirs in ref_model.state_dict().items():
        if not theirs.is_floating_point():
            assert torch.equal(ours[name], theirs), name
            continue
        largest_change = (theirs - before[name]).abs().max()
        assert (ours[name] - theirs).abs().max() <= 1e-4 * largest_change, name
