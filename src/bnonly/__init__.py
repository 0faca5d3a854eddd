"""bnonly: Frankle, Schwab & Morcos, "Training BatchNorm and Only BatchNorm" (ICLR 2021), as a library.

``import bnonly`` has one side effect: it registers the paper's CIFAR ResNets with timm, so that
``timm.create_model('cifar_resnet110')`` works.
"""
from bnonly.census import GROUPS, census, parameter_groups
from bnonly.initialization import BATCHNORM_INITS, WEIGHT_INITS, initialize
from bnonly.models import ARCHITECTURES, CIFAR_DEEP, CIFAR_WIDE, IMAGENET_RESNETS, create_model
from bnonly.trainable import TRAINABLE_SETS, merge_random_k, set_trainable

__all__ = ['ARCHITECTURES', 'BATCHNORM_INITS', 'CIFAR_DEEP', 'CIFAR_WIDE', 'GROUPS', 'IMAGENET_RESNETS',
           'TRAINABLE_SETS', 'WEIGHT_INITS', 'census', 'create_model', 'initialize', 'merge_random_k',
           'parameter_groups', 'set_trainable']
