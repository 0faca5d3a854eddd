"""history.csv's extra columns: the share of small γ after every epoch, and test columns that stay empty when
``train.eval_every_epoch`` is false (the test set is then evaluated after the last epoch only)."""
import csv
import math

import pytest
import torch
from torch import nn

import bnonly.training.loop
from bnonly.config import ConfigError, load_params
from bnonly.models import create_model
from bnonly.training import train_run
from bnonly.norms import batchnorm_layers, fraction_abs_below, norm_layers
from bnonly.training.history import GAMMA_COLUMNS, GAMMA_THRESHOLDS, gamma_columns

from tiny_data import tiny_spec, write_prepared

TIMING = ('epoch_seconds', 'images_per_second')


@pytest.fixture
def prepared(tmp_path):
    return write_prepared(tmp_path / 'prepared', train=96, test=40)


def run(spec, prepared, tmp_path, name='out', log=lambda line: None):
    return train_run(spec, prepared, tmp_path / name, scratch_root=tmp_path / 'scratch',
                     device=torch.device('cpu'), progress=False, log=log)


def history(tmp_path, name='out'):
    return list(csv.DictReader((tmp_path / name / 'history.csv').open()))


def test_gamma_columns_known_answer_and_no_norm():
    assert GAMMA_COLUMNS == ('gamma_frac_abs_below_t0p01', 'gamma_frac_abs_below_t0p05',
                             'gamma_frac_abs_below_t0p1', 'gamma_frac_abs_below_t0p2')
    model = nn.Sequential(nn.Conv2d(1, 4, 1), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([0.005, -0.03, 0.1, 0.5]))   # 0.1 is not below 0.1
        model[3].weight.copy_(torch.tensor([-0.15, 0.3, 0.0, 2.0]))
    assert list(gamma_columns(model).values()) == [2 / 8, 3 / 8, 3 / 8, 5 / 8]
    without = gamma_columns(nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU()))
    assert list(without) == list(GAMMA_COLUMNS) and all(math.isnan(v) for v in without.values())


@pytest.mark.parametrize('norm', [lambda: nn.GroupNorm(2, 4), lambda: nn.LayerNorm([4, 1, 1])],
                         ids=['groupnorm', 'layernorm'])
def test_gamma_columns_count_every_affine_norm(norm):
    # The same γ as the BatchNorm known answer, held by other norms: the same shares, not NaN.
    model = nn.Sequential(nn.Conv2d(1, 4, 1), norm(), nn.Conv2d(4, 4, 1), norm())
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([0.005, -0.03, 0.1, 0.5]).view_as(model[1].weight))
        model[3].weight.copy_(torch.tensor([-0.15, 0.3, 0.0, 2.0]).view_as(model[3].weight))
    assert list(gamma_columns(model).values()) == [2 / 8, 3 / 8, 3 / 8, 5 / 8]


def test_gamma_columns_of_a_batchnorm_network_are_its_batchnorm_gammas():
    # Counting every affine norm leaves a BatchNorm network's columns exactly what its BN γ alone give.
    model = create_model('cifar_resnet14', num_classes=10, in_chans=1, norm_init='positivenegative', seed=0)
    bn_gammas = torch.cat([module.weight.detach().flatten() for _, module in batchnorm_layers(model)])
    assert list(gamma_columns(model).values()) == fraction_abs_below(bn_gammas, list(GAMMA_THRESHOLDS))


@pytest.mark.parametrize('arch, keywords, norm_type', [
    ('cifar_resnet14', {'norm_layer': 'groupnorm'}, nn.GroupNorm),
    ('cifar_resnet14', {'norm_layer': 'layernorm'}, nn.GroupNorm),  # LayerNorm as one group
    ('vit_fmnist_tiny', {}, nn.LayerNorm)], ids=['resnet-groupnorm', 'resnet-layernorm', 'vit'])
def test_gamma_columns_of_networks_without_batchnorm_are_their_norms_gammas(arch, keywords, norm_type):
    model = create_model(arch, num_classes=10, in_chans=1, norm_init='positivenegative', seed=0, **keywords)
    assert not batchnorm_layers(model)
    gammas = torch.cat([module.weight.detach().flatten() for _, module in norm_layers(model)])
    assert all(isinstance(module, norm_type) for _, module in norm_layers(model))
    columns = list(gamma_columns(model).values())
    assert not any(math.isnan(v) for v in columns) and 0 < columns[-1] < 1
    assert columns == fraction_abs_below(gammas, list(GAMMA_THRESHOLDS))


def test_history_has_gamma_columns_that_move_with_training(prepared, tmp_path):
    run(tiny_spec(trainable='bn_only', **{'train.lr': 0.4}), prepared, tmp_path)
    rows = history(tmp_path)
    assert set(GAMMA_COLUMNS) <= set(rows[0])
    shares = [[float(row[column]) for column in GAMMA_COLUMNS] for row in rows]
    assert all(0 <= share <= 1 for row in shares for share in row)
    initial = list(gamma_columns(create_model('cifar_resnet14', num_classes=10, in_chans=1, seed=0)).values())
    assert shares[0] != initial and shares[1] != shares[0], 'the γ shares did not move with training'


def test_eval_only_after_the_last_epoch(prepared, tmp_path, monkeypatch):
    every = run(tiny_spec(), prepared, tmp_path, 'every')
    calls = []
    evaluate = bnonly.training.loop.evaluate
    monkeypatch.setattr(bnonly.training.loop, 'evaluate', lambda *a, **k: calls.append(1) or evaluate(*a, **k))
    last = run(tiny_spec(eval_every_epoch=False), prepared, tmp_path, 'last')
    assert len(calls) == 1
    rows = history(tmp_path, 'last')
    assert rows[0]['test_accuracy'] == rows[0]['test_loss'] == ''
    assert rows[1]['test_accuracy'] != ''
    # Skipping the evaluations changes nothing the training computes.
    assert last['test_accuracy'] == every['test_accuracy'] and last['test_loss'] == every['test_loss']
    assert set(last) == set(every)
    strip = [{k: v for k, v in row.items() if k not in TIMING and not k.startswith('test_')}
             for row in history(tmp_path, 'every')]
    assert strip == [{k: v for k, v in row.items() if k not in TIMING and not k.startswith('test_')}
                     for row in rows]


def test_resume_keeps_the_new_columns_identical(prepared, tmp_path):
    spec = tiny_spec(eval_every_epoch=False, **{'train.epochs': 3})
    run(spec, prepared, tmp_path, 'full')

    class Interrupted(Exception):
        pass

    def interrupt_after_epoch_2(line):
        if line.startswith('epoch 2/'):
            raise Interrupted

    with pytest.raises(Interrupted):
        run(spec, prepared, tmp_path, 'resumed', log=interrupt_after_epoch_2)
    lines = []
    run(spec, prepared, tmp_path, 'resumed', log=lines.append)
    assert lines[0].startswith('resuming') and len(lines) == 2
    strip = lambda rows: [{k: v for k, v in row.items() if k not in TIMING} for row in rows]  # noqa: E731
    assert strip(history(tmp_path, 'resumed')) == strip(history(tmp_path, 'full'))


def test_eval_every_epoch_is_a_checked_setting_in_the_fingerprint(tmp_path):
    meta = {'dataset': 'fashion_mnist'}
    assert tiny_spec().eval_every_epoch is True
    assert tiny_spec(eval_every_epoch=False).fingerprint(meta) != tiny_spec().fingerprint(meta)
    (tmp_path / 'params.yaml').write_text('train:\n  eval_every_epoch: false\n')
    assert load_params(tmp_path / 'params.yaml')['train']['eval_every_epoch'] is False
    with pytest.raises(ConfigError, match='eval_every_epoch'):
        load_params(tmp_path / 'params.yaml', ['train.eval_every_epoch=sometimes'])
