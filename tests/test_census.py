"""The parameter census, i.e. the paper's Table 1.

Known answers: the paper's Table 1 (columns total, BatchNorm, BN %, output, shortcut 1x1 conv); among them
ResNet-14, WRN-14-2 and ResNet-18 with BN shares of 0.64% and 0.27%.
"""
import pytest
import timm
import torch
from torch import nn

import bnonly
from bnonly.models import CifarResNet
from bnonly.norms import norm_layers

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py

# architecture: (total, batchnorm, BN % of total as the paper rounds it, output, shortcut 1x1 convs)
TABLE1 = {
    'cifar_resnet14': (175_258, 1_120, 0.64, 650, 2_560),
    'cifar_resnet32': (466_906, 2_464, 0.53, 650, 2_560),
    'cifar_resnet56': (855_770, 4_256, 0.50, 650, 2_560),
    'cifar_resnet110': (1_730_714, 8_288, 0.48, 650, 2_560),
    'cifar_resnet218': (3_480_602, 16_352, 0.47, 650, 2_560),
    'cifar_resnet434': (6_980_378, 32_480, 0.47, 650, 2_560),
    'cifar_resnet866': (13_979_930, 64_736, 0.46, 650, 2_560),
    'cifar_wide_resnet14_1': (175_258, 1_120, 0.64, 650, 2_560),
    'cifar_wide_resnet14_2': (696_618, 2_240, 0.32, 1_290, 10_240),
    'cifar_wide_resnet14_4': (2_777_674, 4_480, 0.16, 2_570, 40_960),
    'cifar_wide_resnet14_8': (11_093_130, 8_960, 0.08, 5_130, 163_840),
    'cifar_wide_resnet14_16': (44_337_418, 17_920, 0.04, 10_250, 655_360),
    'cifar_wide_resnet14_32': (177_279_498, 35_840, 0.02, 20_490, 2_621_440),
    'resnet18': (11_689_512, 9_600, 0.08, 513_000, 172_032),
    'resnet34': (21_797_672, 17_024, 0.08, 513_000, 172_032),
    'resnet50': (25_557_032, 53_120, 0.21, 2_049_000, 2_768_896),
    'resnet101': (44_549_160, 105_344, 0.24, 2_049_000, 2_768_896),
    'resnet200': (64_673_832, 176_000, 0.27, 2_049_000, 2_768_896),
}


def vit_model(**kwargs) -> nn.Module:
    import bnonly.models.vit  # noqa: F401  registers vit_fmnist_tiny with timm
    return timm.create_model('vit_fmnist_tiny', seed=0, **kwargs)


def paper_model(name: str) -> nn.Module:
    """The network as Table 1 counts it: CIFAR-10 (10 classes) or ImageNet (1000 classes), RGB input."""
    return bnonly.create_model(name, num_classes=1000 if name.startswith('resnet') else 10, seed=0)


@pytest.mark.parametrize('name', TABLE1)
def test_table1_counts_exactly(name):
    total, batchnorm, batchnorm_pct, output, shortcut = TABLE1[name]
    counts = bnonly.census(paper_model(name))
    # The paper's networks have no other normalisation: Table 1's BatchNorm column is the batchnorm category.
    assert counts == {'total': total, 'batchnorm': batchnorm, 'other_norm': 0, 'output': output,
                      'shortcut': shortcut, 'other': total - batchnorm - output - shortcut}
    assert round(100 * counts['batchnorm'] / counts['total'], 2) == batchnorm_pct


def test_table1_covers_every_network_of_the_paper():
    paper = [f'cifar_resnet{d}' for d in (14, 32, 56, 110, 218, 434, 866)] \
        + [f'cifar_wide_resnet14_{k}' for k in (1, 2, 4, 8, 16, 32)] + [f'resnet{d}' for d in (18, 34, 50, 101, 200)]
    assert list(TABLE1) == paper
    assert set(paper) <= set(bnonly.ARCHITECTURES)


def test_batchnorm_share_anchors():
    for name, share in [('cifar_resnet14', '0.64'), ('resnet200', '0.27')]:
        counts = bnonly.census(paper_model(name))
        assert f'{100 * counts["batchnorm"] / counts["total"]:.2f}' == share


def test_census_follows_the_number_of_classes_and_channels():
    # Output = 64 * classes + classes; the stem conv has 9 * in_chans * 16 weights.
    default = bnonly.census(CifarResNet(depth=14))
    counts = bnonly.census(CifarResNet(depth=14, num_classes=7, in_chans=1))
    assert counts['output'] == 64 * 7 + 7
    assert counts['other'] == default['other'] - 9 * 2 * 16
    assert counts['batchnorm'] == default['batchnorm'] and counts['shortcut'] == default['shortcut']


def names_by_category(model) -> dict[str, list[str]]:
    return {category: [name for name, _ in params]
            for category, params in bnonly.parameter_categories(model).items()}


def test_categories_are_the_papers_categories_cifar():
    categories = names_by_category(CifarResNet(depth=14))
    assert set(categories) == set(bnonly.CATEGORIES) == {'batchnorm', 'other_norm', 'output', 'shortcut', 'other'}
    assert categories['other_norm'] == []
    assert categories['output'] == ['fc.weight', 'fc.bias']
    assert categories['shortcut'] == ['stages.1.0.shortcut.0.weight', 'stages.2.0.shortcut.0.weight']
    # Stem BN and shortcut BNs count as BatchNorm; the stem conv is 'other'.
    for name in ['bn.weight', 'bn.bias', 'stages.1.0.shortcut.1.weight', 'stages.2.0.shortcut.1.bias',
                 'stages.0.0.bn1.weight', 'stages.2.1.bn2.bias']:
        assert name in categories['batchnorm']
    assert len(categories['batchnorm']) == 2 * 15  # γ and β of 15 BNs: stem, 12 in blocks, 2 in shortcuts
    assert 'conv.weight' in categories['other']
    assert all(name.endswith(('conv1.weight', 'conv2.weight')) for name in categories['other'] if name != 'conv.weight')


def test_categories_are_the_papers_categories_imagenet():
    categories = names_by_category(bnonly.create_model('resnet18'))
    assert categories['output'] == ['fc.weight', 'fc.bias']
    assert categories['shortcut'] == [f'layer{i}.0.downsample.0.weight' for i in (2, 3, 4)]
    assert 'layer2.0.downsample.1.weight' in categories['batchnorm'] and 'bn1.weight' in categories['batchnorm']
    assert 'conv1.weight' in categories['other']


@pytest.mark.parametrize('model_fn', [
    lambda: CifarResNet(depth=8),
    lambda: CifarResNet(depth=14, width=32, num_classes=3, in_chans=1),
    lambda: bnonly.create_model('resnet18', num_classes=5),
    lambda: bnonly.create_model('resnet50', in_chans=1),
    lambda: CifarResNet(depth=8, norm_layer='groupnorm'),
    lambda: CifarResNet(depth=8, norm_layer='layernorm'),
    lambda: vit_model(),
], ids=['cifar8', 'wrn14_2_1ch', 'resnet18', 'resnet50_1ch', 'cifar8_gn', 'cifar8_ln', 'vit'])
def test_categories_partition_the_parameters(model_fn):
    model = model_fn()
    categories = bnonly.parameter_categories(model)
    seen = [id(param) for params in categories.values() for _, param in params]
    assert len(seen) == len(set(seen)), 'a parameter is in two categories'
    assert set(seen) == {id(p) for p in model.parameters()}, 'a parameter is in no category'
    counts = bnonly.census(model)
    assert counts['total'] == sum(p.numel() for p in model.parameters())
    assert counts['total'] == sum(counts[category] for category in bnonly.CATEGORIES)
    for category, params in categories.items():
        assert counts[category] == sum(p.numel() for _, p in params)


def test_running_statistics_are_not_counted():
    model = CifarResNet(depth=14)
    buffers = sum(b.numel() for b in model.buffers())
    assert buffers > 0
    assert bnonly.census(model)['total'] == 175_258
    assert bnonly.census(model)['batchnorm'] == sum(
        m.weight.numel() + m.bias.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_census_needs_no_memory_on_the_meta_device():
    # Shapes alone decide the census, so even the 177M-parameter WRN-14-32 can be counted without allocating.
    with torch.device('meta'):
        model = bnonly.create_model('cifar_wide_resnet14_32', seed=0)
    assert bnonly.census(model)['total'] == TABLE1['cifar_wide_resnet14_32'][0]


def test_categories_survive_random_k_parametrization():
    # random_k moves each conv's tensor under .parametrizations (frozen original + trained values); the shortcut
    # convs' tensors must still count as shortcut, not fall into 'other', and the categories must still
    # partition.
    model = CifarResNet(depth=8)
    before = bnonly.census(model)
    bnonly.set_trainable(model, 'random_k', k=2)
    categories = names_by_category(model)
    assert 'stages.1.0.shortcut.0.parametrizations.weight.original' in categories['shortcut']
    assert 'stages.2.0.shortcut.0.parametrizations.weight.0.values' in categories['shortcut']
    assert all('shortcut.0' in name for name in categories['shortcut'])
    after = bnonly.census(model)
    assert after['batchnorm'] == before['batchnorm'] and after['output'] == before['output']
    assert after['total'] == sum(after[category] for category in bnonly.CATEGORIES)
    assert after['total'] == sum(p.numel() for p in model.parameters())


# --- other normalisations ------------------------------------------------------------------------------------

@pytest.mark.parametrize('norm_layer', ['groupnorm', 'layernorm'])
@pytest.mark.parametrize('name, norm', [('cifar_resnet14', 1_120), ('cifar_wide_resnet14_2', 2_240)])
def test_other_norms_count_as_their_own_group_with_the_batchnorm_count(norm_layer, name, norm):
    # Same γ and β per channel as BatchNorm, so the same count, now in other_norm; nothing else moves.
    bn_counts = bnonly.census(paper_model(name))
    counts = bnonly.census(timm.create_model(name, norm_layer=norm_layer, seed=0))
    assert counts == dict(bn_counts, batchnorm=0, other_norm=norm)


def test_categories_of_a_groupnorm_resnet():
    categories = names_by_category(CifarResNet(depth=14, norm_layer='groupnorm'))
    assert categories['batchnorm'] == []
    assert len(categories['other_norm']) == 2 * 15 and 'stages.1.0.shortcut.1.weight' in categories['other_norm']
    assert categories['shortcut'] == ['stages.1.0.shortcut.0.weight', 'stages.2.0.shortcut.0.weight']


def test_vit_census():
    # 9 LayerNorms (two per block, one final) of width 64; the head is 64 x 10 + 10; no shortcut convs.
    model = vit_model()
    counts = bnonly.census(model)
    assert counts == {'total': 139_018, 'batchnorm': 0, 'other_norm': 9 * 2 * 64, 'output': 650, 'shortcut': 0,
                      'other': 139_018 - 1_152 - 650}
    categories = names_by_category(model)
    assert categories['output'] == ['head.weight', 'head.bias']
    assert categories['other_norm'][:2] == ['blocks.0.norm1.weight', 'blocks.0.norm1.bias']
    assert categories['other_norm'][-2:] == ['norm.weight', 'norm.bias']
    assert 'cls_token' in categories['other'] and 'pos_embed' in categories['other']
    assert bnonly.census(vit_model(num_classes=7))['output'] == 64 * 7 + 7


@pytest.mark.parametrize('norm', [nn.LayerNorm(8), nn.GroupNorm(2, 8), nn.InstanceNorm2d(8, affine=True),
                                  nn.RMSNorm(8), timm.layers.LayerNorm2d(8), timm.layers.GroupNorm(8, 2),
                                  timm.layers.RmsNorm(8)], ids=lambda m: type(m).__name__)
def test_any_affine_norm_is_other_norm(norm):
    model = nn.Sequential(nn.Conv2d(3, 8, 1), norm, nn.Linear(8, 2))
    model.get_classifier = lambda: model[2]
    counts = bnonly.census(model)
    assert counts['other_norm'] == sum(p.numel() for p in norm.parameters()) > 0
    assert counts['other'] == 3 * 8 + 8


def test_norms_without_affine_parameters_are_not_norm_layers():
    model = nn.Sequential(nn.BatchNorm2d(8, affine=False), nn.GroupNorm(2, 8, affine=False), nn.InstanceNorm2d(8),
                          nn.LayerNorm(8, elementwise_affine=False))
    assert norm_layers(model) == []
