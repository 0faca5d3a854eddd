"""Normalisations beyond BatchNorm in the CIFAR ResNets (``norm_layer``) and the norm-agnostic trainable sets.

Tiny ResNets (depth 8: 9 convs, 9 norms) with GroupNorm or LayerNorm (GroupNorm with one group) build, run
forward, and under norm_only, gamma_only and beta_only train for a few SGD steps with only the chosen norm
tensors moving; random_k with the matching k trains exactly as many weights.
"""
import pytest
import timm
import torch
from torch import nn

import bnonly
from tiny_data import sgd_steps
from bnonly.models import CifarResNet

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py

NORM_LAYERS = ('groupnorm', 'layernorm')


def tiny_model(norm_layer: str) -> CifarResNet:
    return CifarResNet(depth=8, norm_layer=norm_layer, seed=0)


def norm_tensors(model: nn.Module, attributes=('weight', 'bias')) -> set[str]:
    return {f'{name}.{attribute}' for name, module in model.named_modules() if isinstance(module, nn.GroupNorm)
            for attribute in attributes}


def test_the_norm_layers_offered():
    from bnonly.models.cifar_resnet import NORM_LAYERS as offered
    assert offered == ('batchnorm',) + NORM_LAYERS


@pytest.mark.parametrize('norm_layer', NORM_LAYERS)
def test_builds_and_runs_forward_in_train_and_eval_mode(norm_layer):
    model = timm.create_model('cifar_resnet14', norm_layer=norm_layer, in_chans=1, num_classes=7, seed=0)
    x = torch.randn(2, 1, 28, 28)
    assert model(x).shape == (2, 7)
    # No running statistics: train and eval mode compute the same function.
    assert not list(model.buffers())
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), model.train()(x))


@pytest.mark.parametrize('norm_layer', NORM_LAYERS)
@pytest.mark.parametrize('name, attributes', [('norm_only', ('weight', 'bias')), ('gamma_only', ('weight',)),
                                              ('beta_only', ('bias',))])
def test_only_the_chosen_norm_tensors_move(norm_layer, name, attributes):
    model = tiny_model(norm_layer)
    trained = norm_tensors(model, attributes)
    assert len(trained) == 9 * len(attributes)
    trainable = bnonly.set_trainable(model, name)
    named = dict(model.named_parameters())
    assert {id(p) for p in trainable} == {id(named[n]) for n in trained}
    before = {n: p.detach().clone() for n, p in named.items()}
    sgd_steps(model, trainable, input_shape=(3, 8, 8), steps=3, batch=8)
    for param_name, param in model.named_parameters():
        assert param.requires_grad == (param_name in trained), param_name
        if param_name in trained:
            assert not torch.equal(param, before[param_name]), f'{param_name} did not move'
        else:
            assert torch.equal(param, before[param_name]), f'frozen {param_name} changed'


@pytest.mark.parametrize('norm_layer', NORM_LAYERS)
@pytest.mark.parametrize('name, k', [('norm_only', 2), ('gamma_only', 1), ('beta_only', 1)])
def test_random_k_with_the_matching_k_trains_the_same_count(norm_layer, name, k):
    from bnonly.trainable import EQUAL_COUNT_BASELINE
    assert EQUAL_COUNT_BASELINE[name] == ('random_k', k)
    for arch in ('cifar_resnet14', 'cifar_wide_resnet14_2'):
        count = sum(p.numel() for p in bnonly.set_trainable(timm.create_model(arch, norm_layer=norm_layer), name))
        model = timm.create_model(arch, norm_layer=norm_layer)
        assert sum(p.numel() for p in bnonly.set_trainable(model, 'random_k', k=k)) == count


@pytest.mark.parametrize('norm_layer', NORM_LAYERS)
def test_random_k_and_output_only_work_on_other_norms(norm_layer):
    model = tiny_model(norm_layer)
    norms = {n: p.detach().clone() for n, p in model.named_parameters() if n in norm_tensors(model)}
    sgd_steps(model, bnonly.set_trainable(model, 'random_k_output', k=2), input_shape=(3, 8, 8), steps=3, batch=8)
    for param_name, value in norms.items():
        assert torch.equal(dict(model.named_parameters())[param_name], value), param_name


@pytest.mark.parametrize('norm_layer', NORM_LAYERS)
@pytest.mark.parametrize('name', ['bn_only', 'bn_output', 'all_but_bn'])
def test_batchnorm_sets_refuse_a_network_without_batchnorm(norm_layer, name):
    # Silently they would train nothing, only the output, or everything.
    with pytest.raises(ValueError, match='norm_only'):
        bnonly.set_trainable(tiny_model(norm_layer), name)


def test_norm_sets_refuse_a_network_without_norms():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten(), nn.Linear(4, 2))
    model.get_classifier = lambda: model[2]
    for name in ('norm_only', 'gamma_only', 'beta_only'):
        with pytest.raises(ValueError, match='no'):
            bnonly.set_trainable(model, name)


def test_beta_only_refuses_norms_without_beta():
    model = nn.Sequential(nn.Linear(4, 8), nn.RMSNorm(8), nn.Linear(8, 2))
    model.get_classifier = lambda: model[2]
    with pytest.raises(ValueError, match='β'):
        bnonly.set_trainable(model, 'beta_only')
    assert [p.shape for p in bnonly.set_trainable(model, 'gamma_only')] == [(8,)]
