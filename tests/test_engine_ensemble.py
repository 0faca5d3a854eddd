"""Seeds trained at once as one stacked model (bnonly.training.ensemble) against the same runs one by one.

Tolerance, stated: fp32 rounding. The stack computes each convolution as one grouped convolution and each
BatchNorm over N x C channels, so sums run in other orders than in the single models. After the first
step every tensor (parameters, BN running mean and variance) differs from the one-by-one run's by at most
1e-4 of that tensor's largest change over the steps (measured: 2.3e-5) and the losses by 1e-5 relative
(measured: 2e-7); after three steps (an epoch of this tiny set, lr 0.1) by at most 2% of the largest change
(measured: 0.34% for ``all``, 9e-6 for ``bn_only``: rounding differences grow chaotically, as between any
two conv implementations); ``num_batches_tracked`` exactly.
"""
import json

import pytest
import torch

from bnonly.data import build_loaders, load_meta
from bnonly.training import RunSpec
from bnonly.training.ensemble import StackedStep, build_stack, check_stackable, train_stacked
from bnonly.training.loop import build

from tiny_data import tiny_spec, write_prepared

CPU = torch.device('cpu')
SEEDS = (0, 1, 2)


# The same thread count for every loop compared (oneDNN's reductions may split work by thread).
pytestmark = pytest.mark.usefixtures('single_thread')


def make_spec(seed, trainable='all', **train) -> RunSpec:
    return tiny_spec(**{'seed': seed, 'trainable': trainable, 'epochs': 1, 'milestones': [],
                        'memory_format': 'contiguous', **train})


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    return write_prepared(tmp_path_factory.mktemp('prepared') / 'data', train=96, test=40)


def one_by_one(prepared, trainable, steps):
    """Each seed on its own with the engine's step (NCHW fp32: bit-identical to a plain loop)."""
    meta = load_meta(prepared)
    runs = []
    for seed in SEEDS:
        built = build(make_spec(seed, trainable), meta, CPU)
        before = {k: v.clone() for k, v in built.model.state_dict().items()}
        train, _ = build_loaders(prepared, batch_size=32, eval_batch_size=64, seed=seed, device='cpu')
        losses = [built.step(x, y, 0.1)[0].item() for (x, y), _ in zip(train.epoch(0), range(steps))]
        runs.append((losses, before, built.model.state_dict()))
    return runs


def stacked(prepared, trainable, steps):
    meta = load_meta(prepared)
    stack, _, optimizer = build_stack([make_spec(seed, trainable) for seed in SEEDS], meta, CPU)
    step = StackedStep(stack, optimizer)
    loaders = [build_loaders(prepared, batch_size=32, eval_batch_size=64, seed=s, device='cpu')[0] for s in SEEDS]
    losses = []
    for _, batches in zip(range(steps), zip(*(loader.epoch(0) for loader in loaders))):
        x, y = torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])
        losses.append(step(x, y, 0.1)[0].tolist())
    return list(zip(*losses)), [m.state_dict() for m in stack.unstack()]


@pytest.mark.parametrize('trainable', ['all', 'bn_only'])
@pytest.mark.parametrize('steps, bound', [(1, 1e-4), (3, 0.02)])
def test_stacked_runs_match_one_by_one(prepared, trainable, steps, bound):
    alone = one_by_one(prepared, trainable, steps)
    losses, states = stacked(prepared, trainable, steps)
    for (ref_losses, before, ref_state), run_losses, state in zip(alone, losses, states, strict=True):
        assert run_losses == pytest.approx(ref_losses, rel=1e-5 if steps == 1 else 1e-3)
        for name, theirs in ref_state.items():
            if not theirs.is_floating_point():
                assert torch.equal(state[name], theirs), name   # num_batches_tracked
                continue
            largest_change = (theirs - before[name]).abs().max()
            assert (state[name] - theirs).abs().max() <= bound * largest_change, name
            if 'running' in name:
                assert not torch.equal(theirs, before[name]), name  # the running statistics did move


def test_stackable_runs_differ_in_seed_only():
    with pytest.raises(ValueError, match='seed only'):
        check_stackable([make_spec(0), make_spec(1, 'bn_only')])
    with pytest.raises(ValueError, match='random_k'):
        check_stackable([make_spec(0, 'random_k'), make_spec(1, 'random_k')])
    with pytest.raises(ValueError, match='distinct'):
        check_stackable([make_spec(0), make_spec(0)])


def test_train_stacked_writes_each_run_like_train_run(prepared, tmp_path):
    specs = [make_spec(seed, epochs=2, milestones=[1]) for seed in (0, 1)]
    metrics = train_stacked(specs, prepared, [tmp_path / 'a', tmp_path / 'b'], scratch_root=tmp_path / 's',
                            device=CPU, log=lambda line: None)
    assert len(metrics) == 2 and metrics[0]['test_accuracy'] != metrics[1]['test_accuracy'] or \
        metrics[0]['train_loss'] != metrics[1]['train_loss']
    for folder in ('a', 'b'):
        for name in ('metrics.json', 'history.csv', 'config.yaml', 'model.pt'):
            assert (tmp_path / folder / name).is_file()
    assert list((tmp_path / 's' / 'train').glob('*')) == []


def test_train_stacked_honours_eval_every_epoch(prepared, tmp_path):
    import csv
    from bnonly.training.history import GAMMA_COLUMNS
    specs = [make_spec(seed, epochs=2, milestones=[1], eval_every_epoch=False) for seed in (0, 1)]
    metrics = train_stacked(specs, prepared, [tmp_path / 'a', tmp_path / 'b'], scratch_root=tmp_path / 's',
                            device=CPU, log=lambda line: None)
    for folder, final in zip(('a', 'b'), metrics):
        rows = list(csv.DictReader((tmp_path / folder / 'history.csv').open()))
        assert rows[0]['test_accuracy'] == '' and float(rows[1]['test_accuracy']) == final['test_accuracy']
        assert all(row[column] != '' for row in rows for column in GAMMA_COLUMNS)
