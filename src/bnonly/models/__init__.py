"""The paper's networks, and a small ViT for the extensions. Importing this package registers the CIFAR ResNets
and the ViT with timm.

Unlike the other packages' ``__init__``, this one imports its submodules eagerly: registration with timm is
a side effect of importing them, and every user of the package needs it (``create_model`` builds any of the
architectures by name, and a checkpoint may hold any of them), so a lazy import would only move the same
imports to the first call and hide them from a reader and from the stages' import closures.
"""
from torch import nn

from bnonly.initialization import initialize
from bnonly.models import cifar_resnet, vit  # noqa: F401 (registration with timm)
from bnonly.models.cifar_resnet import CifarResNet
from bnonly.models.imagenet_resnet import create_imagenet_resnet
from bnonly.vocabulary import ARCHITECTURES, CIFAR_DEEP, CIFAR_WIDE, IMAGENET_RESNETS, VIT_ARCHITECTURES


def create_model(name: str, *, num_classes: int | None = None, in_chans: int = 3, norm_init: str = 'uniform',
                 weight_init: str = 'kaiming_normal', seed: int | None = None, **kwargs) -> nn.Module:
    """Build any of the paper's networks, initialised as the paper did.

    CIFAR names go through ``timm.create_model``; the ImageNet ResNets are timm's own models with
    ``zero_init_last=False`` and then re-initialised like open_lth. ``seed`` makes the weights reproducible.
    ``num_classes`` defaults to the network's own data set: 1000 for the ImageNet ResNets, else 10.
    """
    import timm
    if 'norm_layer' in kwargs and name not in CIFAR_DEEP + CIFAR_WIDE:
        # timm's own networks take a norm_layer too, and would quietly build something other than the paper's
        # network (or our ViT) with it: only the CIFAR ResNets swap their BatchNorms on request.
        raise ValueError(f'norm_layer={kwargs["norm_layer"]!r}: only the CIFAR ResNets take a norm_layer, '
                         f'not {name!r}')
    if num_classes is None:
        num_classes = 1000 if name in IMAGENET_RESNETS else 10
    if name in IMAGENET_RESNETS:
        model = create_imagenet_resnet(name, num_classes=num_classes, in_chans=in_chans, **kwargs)
        return initialize(model, weights=weight_init, norms=norm_init, seed=seed)
    if name not in ARCHITECTURES:
        raise ValueError(f'unknown architecture {name!r}; valid: {", ".join(ARCHITECTURES)}')
    return timm.create_model(name, num_classes=num_classes, in_chans=in_chans, norm_init=norm_init,
                             weight_init=weight_init, seed=seed, **kwargs)


__all__ = ['ARCHITECTURES', 'CIFAR_DEEP', 'CIFAR_WIDE', 'IMAGENET_RESNETS', 'VIT_ARCHITECTURES', 'CifarResNet',
           'create_model']
