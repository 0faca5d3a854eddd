"""The paper's networks in timm's registry, and their architecture.

Every registered name is built, run forward and backward at a small input, and its pretrained_cfg is
checked against the model actually built. The architecture tests pin open_lth's CIFAR ResNet (docs/paper.md,
setup): post-activation blocks, projection shortcuts only where the shape changes, no final BN.
"""
import pytest
import timm
import torch
from torch import nn

import bnonly
from bnonly.models import CifarResNet

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py

EXPECTED_CIFAR_DEEP = ['cifar_resnet14', 'cifar_resnet20', 'cifar_resnet32', 'cifar_resnet44', 'cifar_resnet56',
                       'cifar_resnet110', 'cifar_resnet218', 'cifar_resnet434', 'cifar_resnet866']
EXPECTED_CIFAR_WIDE = ['cifar_wide_resnet14_1', 'cifar_wide_resnet14_2', 'cifar_wide_resnet14_4',
                       'cifar_wide_resnet14_8', 'cifar_wide_resnet14_16', 'cifar_wide_resnet14_32']
EXPECTED_IMAGENET = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet200']

# Parametrised over what timm's registry actually holds, so a newly registered name is tested too.
REGISTERED_CIFAR = timm.list_models('cifar_*')


def build(name: str, **kwargs) -> nn.Module:
    """CIFAR names through timm's own factory (what the issue promises); ImageNet through bnonly's call."""
    if name.startswith('cifar_'):
        return timm.create_model(name, **kwargs)
    return bnonly.create_model(name, **kwargs)


def assert_cfg_describes(model: nn.Module, *, in_chans: int, num_classes: int) -> None:
    cfg = model.pretrained_cfg
    assert cfg['input_size'][0] == in_chans
    assert cfg['num_classes'] == num_classes == model.num_classes
    assert len(cfg['mean']) == len(cfg['std']) == in_chans
    if 'test_input_size' in cfg:
        assert cfg['test_input_size'][0] == in_chans
    # An untrained model: its cfg must not point at any weights.
    assert not cfg.get('url')
    assert not cfg.get('hf_hub_id')
    assert not cfg.get('file')


# --- registry ---------------------------------------------------------------------------------------

def test_registry_lists_exactly_the_paper_cifar_networks():
    assert sorted(timm.list_models('cifar_*')) == sorted(EXPECTED_CIFAR_DEEP + EXPECTED_CIFAR_WIDE)
    assert sorted(timm.list_models('cifar_resnet*')) == sorted(EXPECTED_CIFAR_DEEP)
    assert sorted(timm.list_models('cifar_wide_*')) == sorted(EXPECTED_CIFAR_WIDE)
    # The paper's networks first, in this order; the only other name allowed is the ViT beyond the paper
    # (bnonly.models.vit), once bnonly.models registers it.
    paper = EXPECTED_CIFAR_DEEP + EXPECTED_CIFAR_WIDE + EXPECTED_IMAGENET
    assert list(bnonly.ARCHITECTURES)[:len(paper)] == paper
    assert set(bnonly.ARCHITECTURES[len(paper):]) <= {'vit_fmnist_tiny'}


# Every registered name with one and three input channels. in_chans only changes the stem conv, so WRN-14-32
# (177M parameters, ~4 s to build and backpropagate on 2 cores) runs with one channel only.
FORWARD_CASES = [(name, in_chans) for name in REGISTERED_CIFAR + EXPECTED_IMAGENET for in_chans in (1, 3)
                 if (name, in_chans) != ('cifar_wide_resnet14_32', 3)]


@pytest.mark.parametrize('name, in_chans', FORWARD_CASES)
def test_forward_and_backward(name, in_chans):
    num_classes = 7
    model = build(name, num_classes=num_classes, in_chans=in_chans, seed=0)
    assert_cfg_describes(model, in_chans=in_chans, num_classes=num_classes)
    # CIFAR nets at the smallest input they promise. An ImageNet ResNet downsamples 32x, so at 8x8 its last
    # stages see 1x1 maps and BN normalises over just the batch of 2: the forward works (see the next test)
    # but the backward through 100+ such BNs overflows in any implementation. 64x64 leaves a 2x2 final map.
    size = 8 if name.startswith('cifar_') else 64
    logits = model(torch.randn(2, in_chans, size, size, generator=torch.Generator().manual_seed(0)))
    assert logits.shape == (2, num_classes)
    assert torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    # Every parameter takes part in the forward pass and receives a finite gradient.
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize('name', ['cifar_resnet14', 'cifar_wide_resnet14_2', 'resnet18', 'resnet50'])
@pytest.mark.parametrize('in_chans, size', [(1, 8), (1, 28), (3, 32), (4, 13)])
def test_any_input_of_at_least_8x8_and_any_channel_count(name, in_chans, size):
    model = build(name, num_classes=3, in_chans=in_chans).eval()
    with torch.no_grad():
        assert model(torch.randn(2, in_chans, size, size)).shape == (2, 3)


@pytest.mark.parametrize('name', ['cifar_resnet14', 'cifar_wide_resnet14_4', 'resnet50'])
@pytest.mark.parametrize('in_chans, num_classes', [(1, 10), (3, 100), (3, 1000)])
def test_pretrained_cfg_is_true_for_the_model_built(name, in_chans, num_classes):
    model = build(name, num_classes=num_classes, in_chans=in_chans)
    assert_cfg_describes(model, in_chans=in_chans, num_classes=num_classes)
    # The cfg's classifier and first conv name real modules of the right shape.
    assert model.get_submodule(model.pretrained_cfg['classifier']).out_features == num_classes
    assert model.get_submodule(model.pretrained_cfg['first_conv']).in_channels == in_chans


def test_cifar_default_cfg_is_cifar10():
    model = timm.create_model('cifar_resnet14')
    assert model.pretrained_cfg['input_size'] == (3, 32, 32)
    assert model.pretrained_cfg['num_classes'] == 10 == model.fc.out_features
    # 32x32 in, 8x8 final map out: the cfg's pool_size is what the network really pools over.
    features = model.forward_features(torch.randn(2, 3, 32, 32))
    assert tuple(features.shape[-2:]) == model.pretrained_cfg['pool_size'] == (8, 8)


@pytest.mark.parametrize('name', EXPECTED_IMAGENET)
def test_imagenet_cfg_describes_the_papers_evaluation_not_timms_weights(name):
    cfg = bnonly.create_model(name, num_classes=1000).pretrained_cfg
    # The paper tests at Resize(256) + CenterCrop(224); timm's weights' recipe (288 px, crop 0.95) is not ours.
    assert cfg['input_size'] == (3, 224, 224)
    assert cfg['crop_pct'] == pytest.approx(224 / 256)
    assert 'test_input_size' not in cfg and 'test_crop_pct' not in cfg
    assert cfg['tag'] == 'untrained'


@pytest.mark.parametrize('name', ['cifar_resnet14', 'cifar_wide_resnet14_2'])
def test_pretrained_weights_request_fails_clearly(name):
    with pytest.raises(RuntimeError, match='[Nn]o pretrained weights'):
        timm.create_model(name, pretrained=True)


def test_imagenet_pretrained_request_fails_clearly():
    # bnonly.create_model builds the paper's untrained networks only; a request for weights must say so.
    with pytest.raises(ValueError, match='pretrained'):
        bnonly.create_model('resnet18', pretrained=True)


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(ValueError, match='cifar_resnet866.*resnet200'):
        bnonly.create_model('cifar_resnet15')


@pytest.mark.parametrize('depth', [7, 15, 2])
def test_invalid_cifar_depth_raises(depth):
    with pytest.raises(ValueError, match='6n\\+2'):
        CifarResNet(depth=depth)


# --- architecture ---------------------------------------------------------------------------------------

def leaf_modules_in_execution_order(model: nn.Module, x: torch.Tensor) -> list[tuple[str, nn.Module]]:
    order = []
    handles = [module.register_forward_hook(lambda m, i, o, n=name: order.append((n, m)))
               for name, module in model.named_modules() if not list(module.children())]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return order


@pytest.mark.parametrize('name', ['cifar_resnet14', 'cifar_resnet56', 'cifar_wide_resnet14_2', 'resnet18', 'resnet50'])
def test_no_final_batchnorm_the_trunk_ends_in_relu(name):
    model = build(name, in_chans=3)
    order = leaf_modules_in_execution_order(model, torch.randn(2, 3, 32, 32))
    trunk = [(n, m) for n, m in order if n != 'fc' and not isinstance(m, (nn.Identity, nn.Dropout, nn.Flatten))
             and 'pool' not in n.rsplit('.', 1)[-1]]
    assert order[-1][0] == 'fc'
    assert isinstance(trunk[-1][1], nn.ReLU), trunk[-3:]
    features = model.forward_features(torch.randn(2, 3, 32, 32))
    assert features.min() >= 0  # post-activation output, not a BN's


@pytest.mark.parametrize('depth', [14, 32, 110])
@pytest.mark.parametrize('width', [16, 32])
def test_cifar_resnet_structure(depth, width):
    model = CifarResNet(depth=depth, width=width)
    n = (depth - 2) // 6
    # Stem: conv3x3 (stride 1, no bias) -> BN -> ReLU.
    assert (model.conv.kernel_size, model.conv.stride, model.conv.bias) == ((3, 3), (1, 1), None)
    assert model.conv.out_channels == model.bn.num_features == width
    assert [len(stage) for stage in model.stages] == [n, n, n]
    projections = []
    for stage_index, stage in enumerate(model.stages):
        for block_index, block in enumerate(stage):
            out_width = width * 2 ** stage_index
            stride = 2 if stage_index > 0 and block_index == 0 else 1
            assert block.conv1.stride == (stride, stride)
            assert block.conv2.stride == (1, 1)
            assert block.conv1.bias is None and block.conv2.bias is None
            assert block.conv2.out_channels == out_width
            shape_changes = stride != 1 or block.conv1.in_channels != out_width
            if shape_changes:
                conv, bn = block.shortcut
                assert (conv.kernel_size, conv.stride, conv.bias) == ((1, 1), (2, 2), None)
                assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == out_width
                projections.append((stage_index, block_index))
            else:
                assert isinstance(block.shortcut, nn.Identity)
    # Exactly two projections, at the entries of stages 2 and 3.
    assert projections == [(1, 0), (2, 0)]
    assert model.fc.bias is not None and model.fc.in_features == 4 * width
    # One BN per conv, nothing else: stem, two per block, one per projection.
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 1 + 6 * n + 2
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 1 + 6 * n + 2


@pytest.mark.parametrize('name', EXPECTED_CIFAR_DEEP + EXPECTED_CIFAR_WIDE)
def test_every_cifar_network_has_exactly_two_projection_shortcuts(name):
    with torch.device('meta'):  # structure only: no memory, no initialisation
        model = timm.create_model(name)
    shortcut_convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert shortcut_convs == ['stages.1.0.shortcut.0', 'stages.2.0.shortcut.0']


@pytest.mark.parametrize('name, channels', [('cifar_resnet14', 64), ('cifar_resnet20', 64),
                                            ('cifar_wide_resnet14_2', 128), ('cifar_wide_resnet14_4', 256)])
def test_stride_pattern_gives_an_8x8_map_from_32x32(name, channels):
    model = timm.create_model(name)
    spatial = []
    handles = [stage.register_forward_hook(lambda m, i, o: spatial.append(tuple(o.shape[1:])))
               for stage in model.stages]
    model.forward_features(torch.randn(2, 3, 32, 32))
    for handle in handles:
        handle.remove()
    w = channels // 4
    assert spatial == [(w, 32, 32), (2 * w, 16, 16), (4 * w, 8, 8)]


def test_relu_sites_are_separate_modules():
    # Analysis hooks (dead-ReLU figure) must be able to tell the stem, in-block and after-add ReLUs apart.
    model = CifarResNet(depth=8)
    relus = [n for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    assert relus == ['act'] + [f'stages.{s}.0.{a}' for s in range(3) for a in ('act1', 'act2')]
    assert len({id(m) for m in model.modules() if isinstance(m, nn.ReLU)}) == len(relus)


# --- constructor arguments: other normalisations, unknown keywords -------------------------------------------

@pytest.mark.parametrize('norm_layer, groups', [('groupnorm', {16: 4, 32: 8, 64: 16}), ('layernorm', {16: 1, 32: 1, 64: 1})])
def test_norm_layer_replaces_every_batchnorm(norm_layer, groups):
    model = timm.create_model('cifar_resnet14', norm_layer=norm_layer)
    assert model.norm_layer == norm_layer
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == 15  # one per conv, under the same names (bn, bn1, bn2, shortcut.1)
    assert isinstance(model.stages[1][0].shortcut[1], nn.GroupNorm) and isinstance(model.bn, nn.GroupNorm)
    for norm in norms:
        assert norm.affine and norm.num_groups == groups[norm.num_channels]


def test_groupnorm_groups():
    from bnonly.models.cifar_resnet import groupnorm_groups
    # 4 channels per group until Wu & He's 32 groups are reached (WRN-14-2's 128 channels and wider).
    assert [groupnorm_groups(c) for c in (16, 32, 64, 128, 256, 2048)] == [4, 8, 16, 32, 32, 32]


def test_default_norm_layer_is_the_papers_batchnorm():
    default, explicit = timm.create_model('cifar_resnet14', seed=0), timm.create_model('cifar_resnet14', seed=0,
                                                                                       norm_layer='batchnorm')
    assert default.norm_layer == 'batchnorm'
    assert default.state_dict().keys() == explicit.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(default.state_dict().values(), explicit.state_dict().values()))


def test_unknown_norm_layer_lists_valid_ones():
    with pytest.raises(ValueError, match='batchnorm, groupnorm, layernorm'):
        timm.create_model('cifar_resnet14', norm_layer='instancenorm')


@pytest.mark.parametrize('build_fn', [timm.create_model, bnonly.create_model], ids=['timm', 'bnonly'])
@pytest.mark.parametrize('key, value, hint', [('norm_int', 'fixed', 'norm_init'),
                                              ('norm_layr', 'groupnorm', 'norm_layer'),
                                              ('drop_rate', 0.1, None)])
def test_an_unknown_keyword_is_an_error_naming_it(build_fn, key, value, hint):
    # It used to be swallowed: the misspelt norm_int='fixed' silently built the default network.
    with pytest.raises(TypeError, match=key) as error:
        build_fn('cifar_resnet14', **{key: value})
    if hint:
        assert f'did you mean {hint!r}' in str(error.value)


def test_an_unknown_keyword_to_the_class_is_an_error_naming_it():
    with pytest.raises(TypeError, match='norm_int'):
        CifarResNet(depth=8, norm_int='fixed')


def test_timms_own_keywords_still_pass():
    overlay = timm.create_model('cifar_resnet14', pretrained_cfg_overlay=dict(crop_pct=0.9), cache_dir=None)
    assert overlay.pretrained_cfg['crop_pct'] == 0.9
    assert timm.create_model('cifar_resnet14', pretrained_cfg='untrained').pretrained_cfg['tag'] == 'untrained'
    assert next(timm.create_model('cifar_resnet14', device='meta').parameters()).is_meta
    assert next(timm.create_model('cifar_resnet14', dtype=torch.float64).parameters()).dtype == torch.float64


def test_create_model_heads_follow_the_networks_own_data_set():
    """ImageNet ResNets get timm's 1000-class head by default, the CIFAR nets and the ViT 10 classes."""
    assert bnonly.create_model('resnet18').fc.out_features == 1000
    assert bnonly.create_model('cifar_resnet14').fc.out_features == 10
    assert bnonly.create_model('resnet18', num_classes=7).fc.out_features == 7
