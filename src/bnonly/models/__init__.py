"""The paper's networks. Importing this package registers the CIFAR ResNets with timm."""
from torch import nn

from bnonly.initialization import initialize
from bnonly.models import cifar_resnet
from bnonly.models.cifar_resnet import CifarResNet, DEPTHS, WIDTH_MULTIPLIERS
from bnonly.models.imagenet_resnet import IMAGENET_RESNETS, create_imagenet_resnet

CIFAR_DEEP = tuple(f'cifar_resnet{d}' for d in DEPTHS)
CIFAR_WIDE = tuple(f'cifar_wide_resnet14_{k}' for k in WIDTH_MULTIPLIERS)
ARCHITECTURES = CIFAR_DEEP + CIFAR_WIDE + IMAGENET_RESNETS


def create_model(name: str, *, num_classes: int = 10, in_chans: int = 3, batchnorm_init: str = 'uniform',
                 weight_init: str = 'kaiming_normal', seed: int | None = None, **kwargs) -> nn.Module:
    """Build any of the paper's networks, initialised as the paper did.

    CIFAR names go through ``timm.create_model``; the ImageNet ResNets are timm's own models with
    ``zero_init_last=False`` and then re-initialised like open_lth. ``seed`` makes the weights reproducible.
    """
    import timm
    if name in IMAGENET_RESNETS:
        model = create_imagenet_resnet(name, num_classes=num_classes, in_chans=in_chans, **kwargs)
        return initialize(model, weights=weight_init, batchnorm=batchnorm_init, seed=seed)
    if name not in ARCHITECTURES:
        raise ValueError(f'unknown architecture {name!r}; valid: {", ".join(ARCHITECTURES)}')
    return timm.create_model(name, num_classes=num_classes, in_chans=in_chans, batchnorm_init=batchnorm_init,
                             weight_init=weight_init, seed=seed, **kwargs)


__all__ = ['ARCHITECTURES', 'CIFAR_DEEP', 'CIFAR_WIDE', 'IMAGENET_RESNETS', 'CifarResNet', 'create_model']
