"""open_lth's post-activation ResNet-v1 for CIFAR-10 (He et al. 2015), the paper's deep and wide families.

Definition (open_lth ``models/cifar_resnet.py``; docs/paper.md, setup):
stem conv3x3 -> BN -> ReLU; three stages of ``n = (depth - 2) / 6`` basic blocks of width W, 2W, 4W
(stride 2 in the first block of stages 2 and 3); block = conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> add
shortcut -> ReLU; the shortcut is a 1x1 conv (no bias) + BN only where the shape changes; global average
pool -> Linear with bias; no final BN. WRN-14-k is ResNet-14 with W = 16k.

Every ReLU is its own module (``act``, ``act1``, ``act2``) so that analysis hooks can tell the stem,
in-block and after-residual sites apart.

Beyond the paper, ``norm_layer`` (``NORM_LAYERS``) swaps every BatchNorm for another normalisation with the
same per-channel γ and β, so the census, the trainable sets and the paper's γ/β inits apply unchanged:
- ``batchnorm`` (default): the paper's network.
- ``groupnorm``: ``nn.GroupNorm`` with ``groupnorm_groups(C)`` = min(32, C // 4) groups, i.e. 4 channels per
  group in our 16/32/64-wide layers (4, 8, 16 groups) and Wu & He's default of 32 groups from 128 channels
  up (WRN-14-2's widest stage and wider). 32 groups everywhere is impossible at 16 channels, and groups of
  one or two channels are close to InstanceNorm, statistics of a single channel over as few as 64 positions.
- ``layernorm``: ``nn.GroupNorm`` with one group, i.e. LayerNorm as Ba et al. define it for a layer: one mean
  and variance over all C·H·W activations of an example, then a per-channel γ and β. It is the G = 1 end of
  the same GroupNorm family, so groupnorm and layernorm differ only in how many channels share statistics.
  timm's ``LayerNorm2d`` (ConvNeXt's) was not chosen: it normalises each position's C-vector separately,
  which also removes every position's overall magnitude, a different change from BatchNorm than the
  grouping alone.
The modules keep the names ``bn``, ``bn1``, ``bn2`` and ``shortcut.1`` whatever the normalisation, so state
dicts and analysis hooks address the same layers in every variant.
"""
import difflib
import inspect

import torch
from torch import nn
import torch.nn.functional as F

from timm.models import build_model_with_cfg, generate_default_cfgs, register_model

from bnonly.initialization import initialize
from bnonly.vocabulary import DEPTHS, NORM_LAYERS, WIDTH_MULTIPLIERS

# open_lth normalises CIFAR-10 with the ImageNet statistics (datasets/cifar10.py); we keep its choice.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def groupnorm_groups(channels: int) -> int:
    """GroupNorm's group count for a layer of ``channels`` (see the module docstring for why)."""
    return max(1, min(32, channels // 4))


def make_norm(norm_layer: str, channels: int, **factory) -> nn.Module:
    """One normalisation layer of the kind ``norm_layer`` names, over ``channels`` channels."""
    if norm_layer == 'batchnorm':
        return nn.BatchNorm2d(channels, **factory)
    if norm_layer == 'groupnorm':
        groups = groupnorm_groups(channels)
        if channels % groups:
            raise ValueError(f'groupnorm: {channels} channels do not split into {groups} groups; '
                             f'use a width that is a multiple of 4')
        return nn.GroupNorm(groups, channels, **factory)
    if norm_layer == 'layernorm':
        return nn.GroupNorm(1, channels, **factory)
    raise ValueError(f'unknown norm_layer {norm_layer!r}; valid: {", ".join(NORM_LAYERS)}')


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, norm_layer: str = 'batchnorm',
                 **factory):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, **factory)
        self.bn1 = make_norm(norm_layer, out_channels, **factory)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, **factory)
        self.bn2 = make_norm(norm_layer, out_channels, **factory)
        self.act2 = nn.ReLU()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False, **factory),
                                          make_norm(norm_layer, out_channels, **factory))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-``depth`` with base width ``width`` (16 for the paper's deep family, 16k for WRN-14-k).

    ``norm_layer``: one of ``NORM_LAYERS`` (module docstring). ``norm_init`` initialises whatever
    normalisation is there. ``device`` and ``dtype`` are the factory arguments timm passes to its own models.
    There is no ``**kwargs``: an argument this class does not know is an error that names it.
    """

    def __init__(self, depth: int = 20, width: int = 16, num_classes: int = 10, in_chans: int = 3,
                 norm_init: str = 'uniform', weight_init: str = 'kaiming_normal', seed: int | None = None,
                 norm_layer: str = 'batchnorm', device=None, dtype=None):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f'CIFAR ResNet depth must be 6n+2 with n >= 1, got {depth}')
        if norm_layer not in NORM_LAYERS:
            raise ValueError(f'unknown norm_layer {norm_layer!r}; valid: {", ".join(NORM_LAYERS)}')
        factory = dict(device=device, dtype=dtype)
        blocks_per_stage = (depth - 2) // 6
        self.num_classes = num_classes
        self.norm_layer = norm_layer
        self.conv = nn.Conv2d(in_chans, width, 3, 1, 1, bias=False, **factory)
        self.bn = make_norm(norm_layer, width, **factory)
        self.act = nn.ReLU()
        stages, channels = [], width
        for stage_index in range(3):
            stage_width = width * 2 ** stage_index
            blocks = []
            for block_index in range(blocks_per_stage):
                stride = 2 if stage_index > 0 and block_index == 0 else 1
                blocks.append(BasicBlock(channels, stage_width, stride, norm_layer, **factory))
                channels = stage_width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.num_features = channels
        self.fc = nn.Linear(channels, num_classes, **factory)
        initialize(self, norms=norm_init, weights=weight_init, seed=seed)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, **kwargs):
        # timm's convention: num_classes=0 leaves the pooled features. A new head gets the paper's init.
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        if num_classes > 0:
            initialize(self.fc, seed=kwargs.get('seed'))

    def forward_features(self, x):
        return self.stages(self.act(self.bn(self.conv(x))))

    def forward_head(self, x, pre_logits: bool = False):
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return x if pre_logits else self.fc(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


def _cfg(**kwargs):
    return dict(url='', num_classes=10, input_size=(3, 32, 32), pool_size=(8, 8), crop_pct=1.0,
                interpolation='bilinear', mean=IMAGENET_MEAN, std=IMAGENET_STD, first_conv='conv',
                classifier='fc', license='mit', paper_ids='arXiv:2003.00152', **kwargs)


# Registered before the entrypoints: timm reads this module-level name when @register_model runs.
default_cfgs = generate_default_cfgs(
    {f'cifar_resnet{d}.untrained': _cfg() for d in DEPTHS}
    | {f'cifar_wide_resnet14_{k}.untrained': _cfg() for k in WIDTH_MULTIPLIERS})


def _true_cfg_overlay(kwargs: dict) -> dict:
    """Make the model's pretrained_cfg describe the model actually built (channels, classes)."""
    in_chans = kwargs.get('in_chans', 3)
    overlay = dict(kwargs.pop('pretrained_cfg_overlay', None) or {})
    if in_chans != 3:
        # A one-channel image is normalised with the average of the per-channel statistics.
        overlay.setdefault('mean', tuple([sum(IMAGENET_MEAN) / 3] * in_chans))
        overlay.setdefault('std', tuple([sum(IMAGENET_STD) / 3] * in_chans))
    overlay.setdefault('input_size', (in_chans, 32, 32))
    if 'num_classes' in kwargs:
        overlay.setdefault('num_classes', kwargs['num_classes'])
    return overlay


# What a caller may pass to CifarResNet through timm: everything but what the entrypoint itself fixes.
_MODEL_KEYWORDS = tuple(name for name in inspect.signature(CifarResNet).parameters if name not in ('depth', 'width'))
# What timm.create_model itself passes to every entrypoint; build_model_with_cfg consumes them. Its other
# options (features_only, pruned ...) need model support CifarResNet does not have, so they are errors too.
_TIMM_BUILD_KEYWORDS = ('pretrained_cfg', 'pretrained_cfg_overlay', 'cache_dir', 'pretrained_model_args')


def _check_keywords(variant: str, kwargs: dict) -> None:
    """timm hands every keyword to the entrypoint; one CifarResNet does not know fails here, named, before any
    work, instead of deep inside timm (or, as before, being swallowed and building the default network)."""
    for key in kwargs:
        if key not in _MODEL_KEYWORDS and key not in _TIMM_BUILD_KEYWORDS:
            close = difflib.get_close_matches(key, _MODEL_KEYWORDS, n=1)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise TypeError(f'{variant}: unknown keyword argument {key!r}{hint}; valid: {", ".join(_MODEL_KEYWORDS)}')


def _create(variant: str, pretrained: bool, depth: int, width: int, **kwargs) -> CifarResNet:
    _check_keywords(variant, kwargs)
    overlay = _true_cfg_overlay(kwargs)
    return build_model_with_cfg(CifarResNet, variant, pretrained, pretrained_cfg_overlay=overlay,
                                depth=depth, width=width, **kwargs)


# One explicit entrypoint per network, as timm registers its own: grep finds each name, and timm's
# registry lists them with their docstrings.

@register_model
def cifar_resnet14(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-14 (open_lth cifar_resnet_14)."""
    return _create('cifar_resnet14', pretrained, depth=14, width=16, **kwargs)


@register_model
def cifar_resnet20(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-20 (open_lth cifar_resnet_20)."""
    return _create('cifar_resnet20', pretrained, depth=20, width=16, **kwargs)


@register_model
def cifar_resnet32(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-32 (open_lth cifar_resnet_32)."""
    return _create('cifar_resnet32', pretrained, depth=32, width=16, **kwargs)


@register_model
def cifar_resnet44(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-44 (open_lth cifar_resnet_44)."""
    return _create('cifar_resnet44', pretrained, depth=44, width=16, **kwargs)


@register_model
def cifar_resnet56(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-56 (open_lth cifar_resnet_56)."""
    return _create('cifar_resnet56', pretrained, depth=56, width=16, **kwargs)


@register_model
def cifar_resnet110(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-110 (open_lth cifar_resnet_110)."""
    return _create('cifar_resnet110', pretrained, depth=110, width=16, **kwargs)


@register_model
def cifar_resnet218(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-218 (open_lth cifar_resnet_218)."""
    return _create('cifar_resnet218', pretrained, depth=218, width=16, **kwargs)


@register_model
def cifar_resnet434(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-434 (open_lth cifar_resnet_434)."""
    return _create('cifar_resnet434', pretrained, depth=434, width=16, **kwargs)


@register_model
def cifar_resnet866(pretrained: bool = False, **kwargs) -> CifarResNet:
    """CIFAR ResNet-866 (open_lth cifar_resnet_866)."""
    return _create('cifar_resnet866', pretrained, depth=866, width=16, **kwargs)


@register_model
def cifar_wide_resnet14_1(pretrained: bool = False, **kwargs) -> CifarResNet:
    """WRN-14-1 (open_lth cifar_resnet_14_16)."""
    return _create('cifar_wide_resnet14_1', pretrained, depth=14, width=16, **kwargs)


@register_model
def cifar_wide_resnet14_2(pretrained: bool = False, **kwargs) -> CifarResNet:
    """WRN-14-2 (open_lth cifar_resnet_14_32)."""
    return _create('cifar_wide_resnet14_2', pretrained, depth=14, width=32, **kwargs)


@register_model
def cifar_wide_resnet14_4(pretrained: bool = False, **kwargs) -> CifarResNet:
    """WRN-14-4 (open_lth cifar_resnet_14_64)."""
    return _create('cifar_wide_resnet14_4', pretrained, depth=14, width=64, **kwargs)


@register_model
def cifar_wide_resnet14_8(pretrained: bool = False, **kwargs) -> CifarResNet:
    """WRN-14-8 (open_lth cifar_resnet_14_128)."""
    return _create('cifar_wide_resnet14_8', pretrained, depth=14, width=128, **kwargs)


@register_model
def cifar_wide_resnet14_16(pretrained: bool = False, **kwargs) -> CifarResNet:
    """WRN-14-16 (open_lth cifar_resnet_14_256)."""
    return _create('cifar_wide_resnet14_16', pretrained, depth=14, width=256, **kwargs)


@register_model
def cifar_wide_resnet14_32(pretrained: bool = False, **kwargs) -> CifarResNet:
    """WRN-14-32 (open_lth cifar_resnet_14_512)."""
    return _create('cifar_wide_resnet14_32', pretrained, depth=14, width=512, **kwargs)
