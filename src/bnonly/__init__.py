"""bnonly: Frankle, Schwab & Morcos, "Training BatchNorm and Only BatchNorm" (ICLR 2021), as a library.

``import bnonly`` is light: it imports neither torch nor timm, so the stages that only read CSV, JSON and
YAML files (grid_recipe, aggregate, figures, claims) start in a fraction of a second. The public names below
are loaded on first use (PEP 562, ``bnonly.lazy``), so ``from bnonly import create_model`` and
``bnonly.census(model)`` work as before and import torch then; ``bnonly.census`` stays the function after the
submodule of that name is imported.

The paper's CIFAR ResNets are registered with timm by ``import bnonly.models``; any use of
``bnonly.create_model`` (or of ``bnonly.ARCHITECTURES`` ...) imports it. After it,
``timm.create_model('cifar_resnet110')`` works. A plain ``import bnonly`` does not register them.
"""
from bnonly.lazy import export_lazily

# Public name -> the submodule that defines it.
_LAZY = {
    'CATEGORIES': 'bnonly.census', 'census': 'bnonly.census', 'parameter_categories': 'bnonly.census',
    'NORM_INITS': 'bnonly.initialization', 'WEIGHT_INITS': 'bnonly.initialization',
    'initialize': 'bnonly.initialization',
    'ARCHITECTURES': 'bnonly.models', 'CIFAR_DEEP': 'bnonly.models', 'CIFAR_WIDE': 'bnonly.models',
    'IMAGENET_RESNETS': 'bnonly.models', 'create_model': 'bnonly.models',
    'TRAINABLE_SETS': 'bnonly.trainable', 'merge_random_k': 'bnonly.trainable', 'set_trainable': 'bnonly.trainable',
}

export_lazily(__name__, _LAZY)
