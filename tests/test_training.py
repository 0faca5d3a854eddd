"""The training engine: schedule, outputs, resume state, divergence, trainable counts."""
import csv
import json

import pytest
import torch
import yaml

import bnonly
from bnonly.checkpoint import CheckpointError, load_model
from bnonly.training import RunSpec, TrainingDiverged, train_run
from bnonly.training.schedule import lr_factor

from tiny_data import tiny_spec, write_prepared

spec = tiny_spec


@pytest.fixture
def prepared(tmp_path):
    return write_prepared(tmp_path / 'prepared', train=96, test=40)


def run(spec_, prepared, tmp_path, name='out'):
    return train_run(spec_, prepared, tmp_path / name, scratch_root=tmp_path / 'scratch',
                     device=torch.device('cpu'), progress=False, log=lambda line: None)


def test_schedule_matches_open_lth():
    kw = dict(iterations_per_epoch=391, milestones=[80, 120], gamma=0.1)
    assert lr_factor(0, **kw) == 1.0
    assert lr_factor(31279, **kw) == 1.0
    assert lr_factor(31280, **kw) == pytest.approx(0.1)
    assert lr_factor(46920, **kw) == pytest.approx(0.01)
    # ImageNet: 5 epochs of linear warm-up from 0, applied per iteration.
    assert lr_factor(0, iterations_per_epoch=10, milestones=[30], gamma=0.1, warmup_epochs=5) == 0.0
    assert lr_factor(25, iterations_per_epoch=10, milestones=[30], gamma=0.1, warmup_epochs=5) == 0.5
    assert lr_factor(50, iterations_per_epoch=10, milestones=[30], gamma=0.1, warmup_epochs=5) == 1.0


def test_run_writes_comparable_results(prepared, tmp_path):
    metrics = run(spec(), prepared, tmp_path)
    out = tmp_path / 'out'
    assert json.loads((out / 'metrics.json').read_text()) == metrics
    for key in ('test_accuracy', 'test_loss', 'train_loss', 'train_accuracy', 'trainable_params', 'total_params',
                'train_seconds', 'images_per_second'):
        assert key in metrics
    assert 'test_top5_accuracy' not in metrics  # ten classes: top-5 is not reported
    assert metrics['total_params'] == bnonly.census(bnonly.create_model('cifar_resnet14', in_chans=1))['total']
    assert metrics['trainable_params'] == metrics['total_params']
    rows = list(csv.DictReader((out / 'history.csv').open()))
    assert [int(r['epoch']) for r in rows] == [1, 2]
    assert float(rows[1]['lr']) == pytest.approx(0.01)  # the milestone at epoch 1
    config = yaml.safe_load((out / 'config.yaml').read_text())
    assert config['run']['arch'] == 'cifar_resnet14' and config['environment']['device'] == 'cpu'
    model, info = load_model(out / 'model.pt')
    assert info['trainable'] == 'all' and not model.training


@pytest.mark.parametrize('trainable, category', [('bn_only', 'batchnorm'), ('output_only', 'output'),
                                              ('random_k', 'batchnorm')])
def test_trainable_count_is_reported(prepared, tmp_path, trainable, category):
    metrics = run(spec(trainable=trainable, **{'train.epochs': 1}), prepared, tmp_path)
    counts = bnonly.census(bnonly.create_model('cifar_resnet14', in_chans=1))
    assert metrics['trainable_params'] == counts[category]  # random_k with k=2 matches the BN count exactly


def test_random_k_checkpoint_is_a_plain_model(prepared, tmp_path):
    run(spec(trainable='random_k', **{'train.epochs': 1}), prepared, tmp_path)
    model, _ = load_model(tmp_path / 'out' / 'model.pt')
    fresh = bnonly.create_model('cifar_resnet14', in_chans=1, seed=0)
    changed = (model.conv.weight != fresh.conv.weight).flatten(1).sum(1)
    assert changed.le(2).all() and changed.sum() > 0  # at most k = 2 entries moved per output channel


def test_resume_continues_bit_identically(prepared, tmp_path):
    full = run(spec(), prepared, tmp_path, 'full')
    assert list((tmp_path / 'scratch' / 'train').glob('*')) == []  # a finished run removes its resume state

    class Interrupted(Exception):
        pass

    def interrupt_after_epoch_1(line):
        if line.startswith('epoch 1/'):
            raise Interrupted

    with pytest.raises(Interrupted):
        train_run(spec(), prepared, tmp_path / 'resumed', scratch_root=tmp_path / 'scratch',
                  device=torch.device('cpu'), progress=False, log=interrupt_after_epoch_1)
    lines = []
    resumed = train_run(spec(), prepared, tmp_path / 'resumed', scratch_root=tmp_path / 'scratch',
                        device=torch.device('cpu'), progress=False, log=lines.append)
    assert lines[0].startswith('resuming') and len(lines) == 2  # only epoch 2 was trained again
    timing = ('train_seconds', 'images_per_second')
    assert {k: v for k, v in resumed.items() if k not in timing} == {k: v for k, v in full.items() if k not in timing}


def test_divergence_stops_without_metrics(prepared, tmp_path):
    with pytest.raises(TrainingDiverged, match='diverged'):
        run(spec(**{'train.lr': 1e12}), prepared, tmp_path)
    assert not (tmp_path / 'out' / 'metrics.json').exists()


@pytest.mark.parametrize('spoil, message', [
    (lambda path: path.write_bytes(path.read_bytes()[:1000]), r'unreadable as a model checkpoint \(\w+\)'),
    (lambda path: torch.save({'weights': torch.zeros(1)}, path), r'not a model checkpoint \(no arch, num_classes'),
    (lambda path: path.unlink(), 'not found')])
def test_a_torn_or_foreign_model_checkpoint_is_one_line(prepared, tmp_path, spoil, message):
    run(spec(**{'train.epochs': 1}), prepared, tmp_path)
    path = tmp_path / 'out' / 'model.pt'
    spoil(path)
    with pytest.raises(CheckpointError, match=f'^{path}: {message}.*; retrain it \\(`dvc repro train`') as caught:
        load_model(path)
    assert '\n' not in str(caught.value)
