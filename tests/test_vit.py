"""vit_fmnist_tiny: timm's VisionTransformer sized for Fashion-MNIST, with the project's init, trainable sets
and census (bnonly.models.vit).
"""
import pytest
import timm
import torch
from torch import nn

import bnonly
from tiny_data import sgd_steps
import bnonly.models.vit  # noqa: F401  registers vit_fmnist_tiny with timm
from bnonly.models.vit import VIT_ARCHITECTURES, VIT_FMNIST_TINY
from bnonly.trainable import EQUAL_COUNT_BASELINE, random_k_layers

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py


def vit(**kwargs) -> nn.Module:
    # The keywords bnonly.create_model passes for every architecture.
    return timm.create_model('vit_fmnist_tiny', **dict(dict(num_classes=10, in_chans=1, norm_init='uniform',
                                                            weight_init='kaiming_normal', seed=0), **kwargs))


def layernorm_tensors(model: nn.Module) -> set[str]:
    return {f'{name}.{attribute}' for name, module in model.named_modules() if isinstance(module, nn.LayerNorm)
            for attribute in ('weight', 'bias')}


def test_registered_with_timm():
    assert VIT_ARCHITECTURES == ('vit_fmnist_tiny',)
    assert timm.list_models('vit_fmnist*') == ['vit_fmnist_tiny']


def test_configuration():
    model = vit()
    assert isinstance(model, timm.models.vision_transformer.VisionTransformer)
    assert VIT_FMNIST_TINY == dict(img_size=28, patch_size=4, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0,
                                   class_token=True, global_pool='token')
    assert model.patch_embed.num_patches == 49 and model.pos_embed.shape == (1, 50, 64)
    assert len(model.blocks) == 4 and model.blocks[0].mlp.fc1.out_features == 128
    assert sum(isinstance(m, nn.LayerNorm) for m in model.modules()) == 9
    assert sum(p.numel() for p in model.parameters()) == 139_018


@pytest.mark.parametrize('in_chans, num_classes', [(1, 10), (3, 7)])
def test_forward_and_cfg(in_chans, num_classes):
    model = vit(in_chans=in_chans, num_classes=num_classes)
    logits = model(torch.randn(2, in_chans, 28, 28))
    assert logits.shape == (2, num_classes) and torch.isfinite(logits).all()
    cfg = model.pretrained_cfg
    assert cfg['input_size'] == (in_chans, 28, 28) and cfg['num_classes'] == num_classes
    assert len(cfg['mean']) == len(cfg['std']) == in_chans and not cfg['url']
    assert model.get_submodule(cfg['classifier']) is model.get_classifier()


def test_other_input_sizes_are_refused():
    with pytest.raises(AssertionError, match='28'):
        vit()(torch.randn(2, 1, 32, 32))


def test_unknown_keyword_is_an_error_naming_it():
    with pytest.raises(TypeError, match='norm_layr'):
        vit(norm_layr='groupnorm')
    with pytest.raises(ValueError, match='kaiming_normal'):
        vit(weight_init='jax')  # the project's weight_init, not timm's


def test_through_bnonly_create_model():
    if 'vit_fmnist_tiny' not in bnonly.ARCHITECTURES:
        pytest.skip('vit_fmnist_tiny is not yet in bnonly.models.ARCHITECTURES')
    made = bnonly.create_model('vit_fmnist_tiny', num_classes=10, in_chans=1, seed=0)
    for a, b in zip(made.state_dict().values(), vit().state_dict().values()):
        assert torch.equal(a, b)


def test_census():
    counts = bnonly.census(vit())
    assert counts['other_norm'] == 9 * 2 * 64 and counts['batchnorm'] == 0 and counts['output'] == 650


def test_norm_only_trains_every_layernorm_and_nothing_else():
    model = vit()
    trained = layernorm_tensors(model)
    assert len(trained) == 18
    trainable = bnonly.set_trainable(model, 'norm_only')
    named = dict(model.named_parameters())
    assert {id(p) for p in trainable} == {id(named[n]) for n in trained}
    before = {n: p.detach().clone() for n, p in named.items()}
    sgd_steps(model, trainable, input_shape=(1, 28, 28), steps=2, batch=4)
    for param_name, param in model.named_parameters():
        assert torch.equal(param, before[param_name]) != (param_name in trained), param_name


def test_output_only_trains_the_head():
    model = vit()
    trainable = bnonly.set_trainable(model, 'output_only')
    assert {id(p) for p in trainable} == {id(model.head.weight), id(model.head.bias)}


@pytest.mark.parametrize('name', ['norm_only', 'gamma_only', 'beta_only'])
def test_random_k_baseline_trains_the_same_count(name):
    baseline, k = EQUAL_COUNT_BASELINE[name]
    count = sum(p.numel() for p in bnonly.set_trainable(vit(), name))
    assert count == (1_152 if name == 'norm_only' else 576)
    assert sum(p.numel() for p in bnonly.set_trainable(vit(), baseline, k=k)) == count


def test_random_k_chooses_k_entries_per_output_channel_of_the_residual_writers():
    model = vit()
    layers = random_k_layers(model)
    assert layers[0] is model.patch_embed.proj and len(layers) == 2 * 4 + 1
    assert all(layer.weight.shape[0] == 64 for layer in layers)
    weights = {id(layer): layer.weight.detach().clone() for layer in layers}
    sgd_steps(model, bnonly.set_trainable(model, 'random_k', k=2), input_shape=(1, 28, 28), steps=2, batch=4)
    for layer in layers:
        moved = (layer.weight != weights[id(layer)]).reshape(64, -1).sum(dim=1)
        assert moved.tolist() == [2] * 64
    bnonly.merge_random_k(model)
    plain = vit()
    plain.load_state_dict(model.state_dict())  # strict: a plain ViT loads the merged weights


@pytest.mark.parametrize('name', ['bn_only', 'bn_output', 'all_but_bn'])
def test_batchnorm_sets_refuse_the_vit(name):
    with pytest.raises(ValueError, match='norm_only'):
        bnonly.set_trainable(vit(), name)


@pytest.mark.parametrize('arch', ['vit_fmnist_tiny', 'resnet18'])
def test_a_norm_layer_on_a_network_that_cannot_swap_its_norms_is_an_error(arch):
    with pytest.raises(ValueError, match='only the CIFAR ResNets take a norm_layer'):
        bnonly.create_model(arch, norm_layer="groupnorm", seed=0)
