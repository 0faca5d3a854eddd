"""The trainable sets the paper compares.

Each set is applied to a tiny CIFAR ResNet (depth 8: 9 convs, 9 BNs, 2 projection shortcuts), then trained
for a few steps of the paper's SGD (lr 0.1, momentum 0.9, coupled weight decay 1e-4) with the optimizer
given only the tensors ``set_trainable`` returned. Frozen tensors, and the frozen entries of random_k's
convs, must come out bit-identical; trained ones must have moved; BN running statistics must update.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import bnonly
from bnonly.models import CifarResNet

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py

PAPER_SETS = ('all', 'all_but_bn', 'bn_only', 'output_only', 'bn_output', 'random_k', 'random_k_output')
SETS = PAPER_SETS + ('norm_only', 'gamma_only', 'beta_only')
# Which census categories each set trains as whole tensors (random_k's conv entries and the γ or β halves of
# gamma_only/beta_only are checked separately).
TRAINED_CATEGORIES = {
    'all': {'batchnorm', 'other_norm', 'output', 'shortcut', 'other'},
    'all_but_bn': {'other_norm', 'output', 'shortcut', 'other'},
    'bn_only': {'batchnorm'},
    'output_only': {'output'},
    'bn_output': {'batchnorm', 'output'},
    'random_k': set(),
    'random_k_output': {'output'},
    'norm_only': {'batchnorm', 'other_norm'},
}
WHOLE_TENSOR_SETS = [s for s in TRAINED_CATEGORIES if not s.startswith('random_k')]
STEPS = 3


def tiny_model(**kwargs) -> CifarResNet:
    return CifarResNet(depth=8, seed=0, **kwargs)


def sgd_steps(model: nn.Module, params, *, steps: int = STEPS, in_chans: int = 3, size: int = 8) -> None:
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    for _ in range(steps):
        x = torch.randn(8, in_chans, size, size, generator=generator)
        y = torch.randint(0, 10, (8,), generator=generator)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()


def category_of_each_parameter(model: nn.Module) -> dict[str, str]:
    return {name: category for category, params in bnonly.parameter_categories(model).items() for name, _ in params}


def effective(model: nn.Module, name: str) -> torch.Tensor:
    """The tensor the forward pass uses under ``name`` (for a random_k conv: frozen + trained entries)."""
    module_name, _, attr = name.rpartition('.')
    return getattr(model.get_submodule(module_name), attr).detach()


def conv_names(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def test_the_papers_sets_are_offered_then_the_norm_sets():
    assert bnonly.TRAINABLE_SETS == SETS


def test_unknown_set_lists_valid_names():
    with pytest.raises(ValueError) as error:
        bnonly.set_trainable(tiny_model(), 'bn')
    for name in SETS:
        assert name in str(error.value)


# --- whole-tensor sets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', WHOLE_TENSOR_SETS)
def test_frozen_tensors_stay_bit_identical_and_trained_ones_move(name):
    model = tiny_model()
    categories = category_of_each_parameter(model)
    trainable = bnonly.set_trainable(model, name)
    trained = {n for n, category in categories.items() if category in TRAINED_CATEGORIES[name]}
    # The optimizer gets exactly the tensors of the trained categories, each once, and nothing frozen.
    named = dict(model.named_parameters())
    assert len(trainable) == len({id(p) for p in trainable})
    assert {id(p) for p in trainable} == {id(named[n]) for n in trained}
    for param_name, param in named.items():
        assert param.requires_grad == (param_name in trained), param_name
    before = {n: p.detach().clone() for n, p in named.items()}

    sgd_steps(model, trainable)

    for param_name, param in model.named_parameters():
        if param_name in trained:
            assert not torch.equal(param, before[param_name]), f'{param_name} did not move'
        else:
            assert torch.equal(param, before[param_name]), f'frozen {param_name} changed'


@pytest.mark.parametrize('name', SETS)
def test_only_trainable_tensors_receive_gradients(name):
    model = tiny_model()
    trainable = {id(p) for p in bnonly.set_trainable(model, name)}
    F.cross_entropy(model(torch.randn(4, 3, 8, 8)), torch.tensor([0, 1, 2, 3])).backward()
    for param_name, param in model.named_parameters():
        assert (param.grad is not None) == (id(param) in trainable), param_name


def test_output_only_leaves_the_trunk_without_gradients():
    model = tiny_model()
    bnonly.set_trainable(model, 'output_only')
    features = model.forward_features(torch.randn(4, 3, 8, 8))
    assert not features.requires_grad  # no autograd graph through the trunk at all
    model.forward_head(features).sum().backward()
    assert model.fc.weight.grad is not None and model.fc.bias.grad is not None


@pytest.mark.parametrize('name', SETS)
def test_batchnorm_running_statistics_still_update(name):
    model = tiny_model()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    means = [bn.running_mean.clone() for bn in bns]
    variances = [bn.running_var.clone() for bn in bns]
    sgd_steps(model, bnonly.set_trainable(model, name))
    for bn, mean, var in zip(bns, means, variances):
        assert not torch.equal(bn.running_mean, mean)
        assert not torch.equal(bn.running_var, var)
        assert bn.num_batches_tracked.item() == STEPS


def test_all_but_bn_sets_and_keeps_gamma_one_beta_zero():
    model = tiny_model()  # γ ~ U[0, 1) at init, so setting γ = 1 is a real change
    assert not torch.all(model.bn.weight == 1)
    trainable = bnonly.set_trainable(model, 'all_but_bn')
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 9
    for bn in bns:
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    sgd_steps(model, trainable)
    for bn in bns:
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
        assert not bn.weight.requires_grad and not bn.bias.requires_grad


def test_bn_only_keeps_random_gamma_init():
    # Only all_but_bn resets γ: the other sets start from the paper's γ ~ U[0, 1).
    model = tiny_model()
    gamma = model.bn.weight.detach().clone()
    bnonly.set_trainable(model, 'bn_only')
    assert torch.equal(model.bn.weight, gamma)


# --- random_k ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['random_k', 'random_k_output'])
@pytest.mark.parametrize('k', [1, 2, 5])
def test_random_k_trains_exactly_k_entries_per_output_channel(name, k):
    model = tiny_model()
    categories = category_of_each_parameter(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    convs = conv_names(model)
    assert len(convs) == 9 and 'conv' in convs and 'stages.1.0.shortcut.0' in convs  # stem, shortcuts included

    trainable = bnonly.set_trainable(model, name, k=k, seed=0)
    out_channels = [model.get_submodule(c).out_channels for c in convs]
    expected = k * sum(out_channels) + (64 * 10 + 10 if name == 'random_k_output' else 0)
    assert sum(p.numel() for p in trainable) == expected
    sgd_steps(model, trainable)

    for conv, channels in zip(convs, out_channels):
        after = effective(model, f'{conv}.weight')
        moved = (after != before[f'{conv}.weight']).reshape(channels, -1).sum(dim=1)
        # Exactly k entries moved in every output channel; every other entry is bit-identical.
        assert moved.tolist() == [k] * channels, conv
    for param_name, category in categories.items():
        if param_name.removesuffix('.weight') in convs:
            continue
        after = effective(model, param_name)
        if category in TRAINED_CATEGORIES[name]:
            assert not torch.equal(after, before[param_name]), f'{param_name} did not move'
        else:
            assert torch.equal(after, before[param_name]), f'frozen {param_name} changed'


@pytest.mark.parametrize('model_fn, batchnorm', [
    (lambda: CifarResNet(depth=8), 2 * (16 + 2 * 16 + 3 * 32 + 3 * 64)),  # 2 x channels of the 9 BNs
    (lambda: bnonly.create_model('cifar_resnet14'), 1_120),
    (lambda: bnonly.create_model('cifar_wide_resnet14_2'), 2_240),
    (lambda: bnonly.create_model('resnet18', num_classes=1000), 9_600),
], ids=['cifar8', 'resnet14', 'wrn14_2', 'resnet18'])
def test_random_2_matches_the_batchnorm_count_exactly(model_fn, batchnorm):
    model = model_fn()
    counts = bnonly.census(model)
    assert counts['batchnorm'] == batchnorm
    assert sum(p.numel() for p in bnonly.set_trainable(model, 'random_k', k=2)) == counts['batchnorm']
    model = model_fn()
    assert (sum(p.numel() for p in bnonly.set_trainable(model, 'random_k_output', k=2))
            == counts['batchnorm'] + counts['output'])


def moved_masks(seed: int) -> list[torch.Tensor]:
    model = tiny_model()
    before = {c: model.get_submodule(c).weight.detach().clone() for c in conv_names(model)}
    sgd_steps(model, bnonly.set_trainable(model, 'random_k', k=2, seed=seed), steps=2)
    return [effective(model, f'{c}.weight') != w for c, w in before.items()]


def test_random_k_choice_follows_the_seed():
    first, again, other = moved_masks(0), moved_masks(0), moved_masks(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    # Every conv gets a different choice under another seed (2 of >= 16 entries, >= 16 channels).
    assert all(not torch.equal(a, b) for a, b in zip(first, other))


def test_random_k_choice_does_not_depend_on_the_global_rng():
    torch.manual_seed(1)
    first = moved_masks(0)
    torch.manual_seed(2)
    second = moved_masks(0)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize('k', [0, 28])
def test_random_k_rejects_impossible_k(k):
    # The stem conv has 3 * 3 * 3 = 27 entries per output channel.
    with pytest.raises(ValueError, match='k'):
        bnonly.set_trainable(tiny_model(), 'random_k', k=k)


def test_merge_random_k_gives_a_plain_model_with_the_trained_weights():
    model = tiny_model()
    sgd_steps(model, bnonly.set_trainable(model, 'random_k', k=2))
    model.eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
    trained = {c: effective(model, f'{c}.weight').clone() for c in conv_names(model)}

    bnonly.merge_random_k(model)
    plain = tiny_model()
    assert model.state_dict().keys() == plain.state_dict().keys()
    for conv, weight in trained.items():
        assert torch.equal(model.get_submodule(conv).weight, weight)
    plain.load_state_dict(model.state_dict())  # strict: loads into a model that never had random_k
    with torch.no_grad():
        assert torch.equal(plain.eval()(x), expected)


def test_random_k_on_an_imagenet_resnet():
    # timm's ResNet: the 'downsample' shortcuts and the 7x7 stem are convs like any other.
    model = bnonly.create_model('resnet18', num_classes=10, seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    categories = category_of_each_parameter(model)
    sgd_steps(model, bnonly.set_trainable(model, 'random_k', k=2), steps=2, size=32)
    for conv in conv_names(model):
        weight = effective(model, f'{conv}.weight')
        moved = (weight != before[f'{conv}.weight']).reshape(weight.shape[0], -1).sum(dim=1)
        assert moved.tolist() == [2] * weight.shape[0], conv
    for param_name, category in categories.items():
        if category == 'batchnorm' or category == 'output':
            assert torch.equal(effective(model, param_name), before[param_name]), param_name


# --- norm_only, gamma_only, beta_only on a BatchNorm network -------------------------------------------------

def test_norm_only_on_a_batchnorm_network_is_bn_only():
    bn_only, norm_only = tiny_model(), tiny_model()
    bn_params, norm_params = bnonly.set_trainable(bn_only, 'bn_only'), bnonly.set_trainable(norm_only, 'norm_only')
    names = {id(p): n for n, p in norm_only.named_parameters()}
    assert [n for n, p in bn_only.named_parameters() if p.requires_grad] == [names[id(p)] for p in norm_params]
    assert [p.shape for p in bn_params] == [p.shape for p in norm_params]


@pytest.mark.parametrize('name, attribute', [('gamma_only', 'weight'), ('beta_only', 'bias')])
def test_gamma_only_and_beta_only_train_one_half_of_every_batchnorm(name, attribute):
    model = tiny_model()
    bns = {n: m for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    trained = {f'{n}.{attribute}' for n in bns}
    trainable = bnonly.set_trainable(model, name)
    named = dict(model.named_parameters())
    assert {id(p) for p in trainable} == {id(named[n]) for n in trained} and len(trainable) == len(bns) == 9
    before = {n: p.detach().clone() for n, p in named.items()}
    sgd_steps(model, trainable)
    for param_name, param in model.named_parameters():
        assert param.requires_grad == (param_name in trained), param_name
        assert torch.equal(param, before[param_name]) != (param_name in trained), param_name


def test_beta_only_keeps_the_papers_random_gamma_and_gamma_only_keeps_beta_zero():
    model = tiny_model()
    gamma = model.bn.weight.detach().clone()
    sgd_steps(model, bnonly.set_trainable(model, 'beta_only'))
    assert torch.equal(model.bn.weight, gamma) and not torch.all(gamma == 1)
    model = tiny_model()
    sgd_steps(model, bnonly.set_trainable(model, 'gamma_only'))
    assert all(torch.all(m.bias == 0) for m in model.modules() if isinstance(m, nn.BatchNorm2d))


# --- equal-count random baselines ----------------------------------------------------------------------------

def test_every_norm_set_names_its_equal_count_baseline():
    from bnonly.trainable import EQUAL_COUNT_BASELINE
    assert EQUAL_COUNT_BASELINE == {'bn_only': ('random_k', 2), 'norm_only': ('random_k', 2),
                                    'gamma_only': ('random_k', 1), 'beta_only': ('random_k', 1),
                                    'bn_output': ('random_k_output', 2)}
    assert all(baseline in SETS for baseline, _ in EQUAL_COUNT_BASELINE.values())


@pytest.mark.parametrize('arch, batchnorm', [('cifar_resnet14', 1_120), ('cifar_wide_resnet14_2', 2_240)])
@pytest.mark.parametrize('name', ['bn_only', 'norm_only', 'gamma_only', 'beta_only', 'bn_output'])
def test_each_norm_set_and_its_baseline_train_equal_counts(arch, batchnorm, name):
    from bnonly.trainable import EQUAL_COUNT_BASELINE
    baseline, k = EQUAL_COUNT_BASELINE[name]
    count = sum(p.numel() for p in bnonly.set_trainable(bnonly.create_model(arch, seed=0), name))
    assert count == {'bn_only': batchnorm, 'norm_only': batchnorm, 'gamma_only': batchnorm // 2,
                     'beta_only': batchnorm // 2}.get(name, count)
    assert sum(p.numel() for p in bnonly.set_trainable(bnonly.create_model(arch, seed=0), baseline, k=k)) == count
