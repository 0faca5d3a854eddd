"""The paper's (open_lth's) initialisation, its named alternatives, and seeding.

Statistical checks use layers big enough that the tolerances sit many standard errors away from the
expected value, yet far from the value a wrong init would give (e.g. fan_out instead of fan_in, γ = 1).
"""
import math

import pytest
import timm
import torch
from torch import nn

import bnonly
from bnonly.models import CifarResNet
from bnonly.norms import norm_layers

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py


def weights_of(model: nn.Module):
    """(name, module, fan_in) for every conv and linear."""
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            yield name, module, module.weight[0].numel()


def all_gammas(model: nn.Module) -> torch.Tensor:
    return torch.cat([m.weight.detach() for m in model.modules() if isinstance(m, nn.BatchNorm2d)])


def all_betas(model: nn.Module) -> torch.Tensor:
    return torch.cat([m.bias.detach() for m in model.modules() if isinstance(m, nn.BatchNorm2d)])


def big_layers(fan_in: int = 576, out: int = 256) -> nn.Module:
    """A conv and a linear with ~10^5 entries each, fan_in != fan_out (so fan_in vs fan_out is visible)."""
    return nn.Sequential(nn.Conv2d(fan_in // 9, out, 3, bias=False), nn.Linear(fan_in, out // 2))


# --- weights ---------------------------------------------------------------------------------------------

def test_default_weights_are_kaiming_normal_fan_in():
    model = bnonly.initialize(big_layers(), seed=0)
    for _, module, fan_in in weights_of(model):
        w = module.weight.detach()
        expected = math.sqrt(2 / fan_in)
        assert w.std().item() == pytest.approx(expected, rel=0.02)
        assert abs(w.mean().item()) < 0.02 * expected
        # Normal, not uniform: about 4.6% of a Gaussian lies beyond 2 standard deviations, none of a uniform's.
        assert (w.abs() > 2 * expected).float().mean().item() == pytest.approx(0.0455, abs=0.005)


def test_linear_bias_keeps_pytorch_default_range():
    model = bnonly.initialize(nn.Linear(64, 4000), seed=0)
    bound = 1 / math.sqrt(64)
    assert model.bias.abs().max() <= bound
    assert model.bias.abs().max() > 0.99 * bound  # uniform over the whole range, not zero
    assert model.bias.mean().abs() < 0.05 * bound


@pytest.mark.parametrize('name', ['cifar_resnet20', 'cifar_wide_resnet14_2'])
def test_every_cifar_layer_has_fan_in_std(name):
    model = timm.create_model(name, seed=0)
    for layer, module, fan_in in weights_of(model):
        if module.weight.numel() < 2000:  # too few entries for a 15% statistical test
            continue
        assert module.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.15), layer


def test_kaiming_uniform():
    model = bnonly.initialize(big_layers(), weights='kaiming_uniform', seed=0)
    for _, module, fan_in in weights_of(model):
        w = module.weight.detach()
        bound = math.sqrt(6 / fan_in)  # same std as kaiming_normal: sqrt(2 / fan_in)
        assert w.abs().max() <= bound
        assert w.abs().max() > 0.99 * bound
        assert w.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
        # Uniform: half the mass within half the bound (a Gaussian of equal std puts 61% there).
        assert (w.abs() < bound / 2).float().mean().item() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize('in_chans', [1, 3])
def test_orthogonal(in_chans):
    model = CifarResNet(depth=8, in_chans=in_chans, weight_init='orthogonal', seed=0)
    for layer, module, fan_in in weights_of(model):
        w = module.weight.detach().reshape(module.weight.shape[0], -1)
        rows, cols = w.shape
        # Orthonormal rows when there are fewer rows than columns, orthonormal columns otherwise.
        gram = w @ w.T if rows <= cols else w.T @ w
        assert torch.allclose(gram, torch.eye(min(rows, cols)), atol=1e-5), layer


def test_binary():
    model = bnonly.initialize(big_layers(), weights='binary', seed=0)
    for _, module, fan_in in weights_of(model):
        w = module.weight.detach()
        std = math.sqrt(2 / fan_in)
        values = torch.unique(w)
        assert len(values) == 2
        assert values.tolist() == pytest.approx([-std, std], rel=1e-6)
        assert (w > 0).float().mean().item() == pytest.approx(0.5, abs=0.01)


# --- BatchNorm -------------------------------------------------------------------------------------------

def test_default_batchnorm_is_uniform_gamma_zero_beta():
    model = timm.create_model('cifar_resnet110', seed=0)
    gamma, beta = all_gammas(model), all_betas(model)
    assert len(gamma) == 4144
    assert gamma.min() >= 0 and gamma.max() < 1
    # U[0, 1): mean 1/2 and each quartile holds a quarter (standard error ~0.007 for 4144 draws).
    assert gamma.mean().item() == pytest.approx(0.5, abs=0.02)
    for low in (0.0, 0.25, 0.5, 0.75):
        share = ((gamma >= low) & (gamma < low + 0.25)).float().mean().item()
        assert share == pytest.approx(0.25, abs=0.03), low
    assert torch.count_nonzero(beta) == 0


def test_fixed_batchnorm():
    model = CifarResNet(depth=8, norm_init='fixed', seed=0)
    assert torch.all(all_gammas(model) == 1) and torch.all(all_betas(model) == 0)


def test_oneone_batchnorm():
    model = CifarResNet(depth=8, norm_init='oneone', seed=0)
    assert torch.all(all_gammas(model) == 1) and torch.all(all_betas(model) == 1)


def test_positivenegative_batchnorm():
    model = timm.create_model('cifar_resnet110', norm_init='positivenegative', seed=0)
    gamma = all_gammas(model)
    assert gamma.min() >= -1 and gamma.max() < 1
    assert (gamma < 0).any() and (gamma > 0).any()
    assert (gamma < 0).float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert (gamma < -0.5).float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert torch.count_nonzero(all_betas(model)) == 0


def test_running_statistics_start_fresh():
    model = CifarResNet(depth=8, seed=0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.running_mean == 0) and torch.all(module.running_var == 1)


def test_initialisers_offered_by_name():
    assert set(bnonly.WEIGHT_INITS) == {'kaiming_normal', 'kaiming_uniform', 'orthogonal', 'binary'}
    assert set(bnonly.NORM_INITS) == {'uniform', 'fixed', 'oneone', 'positivenegative'}


@pytest.mark.parametrize('kwargs, valid', [
    (dict(weights='xavier'), bnonly.WEIGHT_INITS), (dict(norms='ones'), bnonly.NORM_INITS)])
def test_unknown_init_name_lists_valid_ones(kwargs, valid):
    with pytest.raises(ValueError) as error:
        bnonly.initialize(CifarResNet(depth=8), **kwargs)
    for name in valid:
        assert name in str(error.value)


def test_unknown_init_name_through_the_model_factories():
    with pytest.raises(ValueError, match='kaiming_uniform'):
        bnonly.create_model('cifar_resnet14', weight_init='he')
    with pytest.raises(ValueError, match='positivenegative'):
        bnonly.create_model('resnet18', norm_init='zero')


# --- seeding ---------------------------------------------------------------------------------------------

def assert_identical_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize('weight_init', sorted(bnonly.WEIGHT_INITS))
@pytest.mark.parametrize('norm_init', ['uniform', 'positivenegative'])
def test_same_seed_gives_bit_identical_weights_whatever_the_global_rng(weight_init, norm_init):
    torch.manual_seed(1)
    a = CifarResNet(depth=8, weight_init=weight_init, norm_init=norm_init, seed=7)
    torch.manual_seed(2)
    torch.randn(1000)  # disturb the global generator further
    b = CifarResNet(depth=8, weight_init=weight_init, norm_init=norm_init, seed=7)
    assert_identical_state(a, b)


def test_different_seeds_give_different_weights():
    a, b = CifarResNet(depth=8, seed=0), CifarResNet(depth=8, seed=1)
    drawn = 0
    for (name, module_a), module_b in zip(a.named_modules(), b.modules()):
        tensors = ['weight'] if isinstance(module_a, nn.BatchNorm2d) else ['weight', 'bias']  # β = 0 for any seed
        for tensor in tensors:
            if getattr(module_a, tensor, None) is not None:
                assert not torch.equal(getattr(module_a, tensor), getattr(module_b, tensor)), f'{name}.{tensor}'
                drawn += 1
    assert drawn == 2 * 9 + 2  # 9 convs (stem, 3 blocks x 2, 2 shortcuts), their 9 γ, the fc weight and bias


def test_seed_is_honoured_by_every_entry_point():
    via_bnonly = bnonly.create_model('cifar_resnet14', seed=3)
    via_timm = timm.create_model('cifar_resnet14', seed=3)
    via_class = CifarResNet(depth=14, seed=3)
    assert_identical_state(via_bnonly, via_timm)
    assert_identical_state(via_bnonly, via_class)


def test_imagenet_resnet_seeding():
    torch.manual_seed(1)
    a = bnonly.create_model('resnet18', seed=5)
    torch.manual_seed(2)
    b = bnonly.create_model('resnet18', seed=5)
    assert_identical_state(a, b)
    c = bnonly.create_model('resnet18', seed=6)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_no_seed_still_initialises_differently_each_time():
    a, b = CifarResNet(depth=8), CifarResNet(depth=8)
    assert not torch.equal(a.conv.weight, b.conv.weight)
    assert not torch.equal(a.bn.weight, b.bn.weight)


# --- ImageNet ResNets ------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['resnet18', 'resnet50'])
def test_imagenet_resnets_get_the_paper_init(name):
    model = bnonly.create_model(name, num_classes=1000, seed=0)
    gamma = all_gammas(model)
    # timm's defaults would give γ = 1 everywhere, and γ = 0 in each block's last BN (zero_init_last).
    assert gamma.min() >= 0 and gamma.max() < 1
    assert gamma.mean().item() == pytest.approx(0.5, abs=0.03)
    last_bn = 'bn2' if name == 'resnet18' else 'bn3'
    for block_name, block in model.named_modules():
        if block_name.count('.') == 1 and block_name.startswith('layer'):
            assert getattr(block, last_bn).weight.mean().item() > 0.2, block_name
    assert torch.count_nonzero(all_betas(model)) == 0
    # fan_in, not timm's fan_out: in every layer whose fans differ (by 2x or more) the stds differ by >= 41%.
    checked = 0
    for layer, module, fan_in in weights_of(model):
        fan_out = module.weight.shape[0] * module.weight[0, 0].numel()
        if module.weight.numel() >= 4096 and fan_in != fan_out:
            assert module.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1), layer
            checked += 1
    assert checked >= 5


# --- other normalisations and the ViT ----------------------------------------------------------------------

def norm_gammas_and_betas(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm))]
    assert norms
    return torch.cat([m.weight.detach() for m in norms]), torch.cat([m.bias.detach() for m in norms])


def vit(**kwargs) -> nn.Module:
    import bnonly.models.vit  # noqa: F401  registers vit_fmnist_tiny with timm
    return timm.create_model('vit_fmnist_tiny', **kwargs)


@pytest.mark.parametrize('model_fn', [lambda **kw: timm.create_model('cifar_resnet110', norm_layer='groupnorm', **kw),
                                      lambda **kw: timm.create_model('cifar_resnet110', norm_layer='layernorm', **kw),
                                      lambda **kw: vit(embed_dim=256, depth=8, **kw)],
                         ids=['groupnorm', 'layernorm', 'vit'])
def test_the_papers_gamma_init_applies_to_every_norm(model_fn):
    gamma, beta = norm_gammas_and_betas(model_fn(seed=0))
    assert len(gamma) >= 4144
    assert gamma.min() >= 0 and gamma.max() < 1
    assert gamma.mean().item() == pytest.approx(0.5, abs=0.02)
    assert torch.count_nonzero(beta) == 0
    gamma, beta = norm_gammas_and_betas(model_fn(norm_init='fixed', seed=0))
    assert torch.all(gamma == 1) and torch.all(beta == 0)


def test_a_norm_without_bias_gets_gamma_only():
    model = bnonly.initialize(nn.Sequential(nn.Linear(4, 512), nn.RMSNorm(512)), norms='oneone', seed=0)
    assert torch.all(model[1].weight == 1)


def test_vit_weights_get_the_paper_init_not_timms():
    model = vit(seed=0)
    # timm's ViT init is a truncated normal of std 0.02 for every linear; the paper's is Kaiming fan_in.
    for layer, module, fan_in in weights_of(model):
        if module.weight.numel() >= 4096:
            assert module.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1), layer
    # Class token and position embedding: N(0, 1), the scale of the patch tokens they join.
    embeddings = torch.cat([model.cls_token.flatten(), model.pos_embed.flatten()])
    assert embeddings.std().item() == pytest.approx(1, abs=0.05)
    assert abs(embeddings.mean().item()) < 0.05


@pytest.mark.parametrize('model_fn', [lambda seed: vit(seed=seed),
                                      lambda seed: CifarResNet(depth=8, norm_layer='groupnorm', seed=seed)],
                         ids=['vit', 'groupnorm'])
def test_same_seed_gives_bit_identical_weights_for_the_new_networks(model_fn):
    torch.manual_seed(1)
    a = model_fn(7)
    torch.manual_seed(2)
    assert_identical_state(a, model_fn(7))
    b = model_fn(8)
    betas = {id(norm.bias) for _, norm in norm_layers(a)}  # β = 0 for any seed
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        if id(p) not in betas:
            assert not torch.equal(p, q), f'{name} ignored the seed'


def test_batchnorm_networks_draw_the_same_weights_as_before():
    # The norm init now covers every affine norm; on a BatchNorm network it must draw exactly what it drew
    # when it covered BatchNorm alone (checkpoints rebuild their initial weights from the seed).
    model = CifarResNet(depth=8, seed=0)
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            expected = torch.empty_like(module.weight)
            nn.init.kaiming_normal_(expected, generator=generator)
            assert torch.equal(module.weight, expected)
        elif isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.rand(module.weight.shape, generator=generator))
