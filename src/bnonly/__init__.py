"""bnonly: Frankle, Schwab & Morcos, "Training BatchNorm and Only BatchNorm" (ICLR 2021), as a library.

``import bnonly`` is light: it imports neither torch nor timm, so the stages that only read CSV, JSON and
YAML files (grid_recipe, aggregate, figures, claims) start in a fraction of a second. The public names below
are loaded on first use (PEP 562), so ``from bnonly import create_model`` and ``bnonly.census(model)`` work
as before and import torch then.

The paper's CIFAR ResNets are registered with timm by ``import bnonly.models``; any use of
``bnonly.create_model`` (or of ``bnonly.ARCHITECTURES`` ...) imports it. After it,
``timm.create_model('cifar_resnet110')`` works. A plain ``import bnonly`` does not register them.
"""
import importlib
import sys
import types

# Public name -> the submodule that defines it.
_LAZY = {
    'GROUPS': 'bnonly.census', 'census': 'bnonly.census', 'parameter_groups': 'bnonly.census',
    'BATCHNORM_INITS': 'bnonly.initialization', 'WEIGHT_INITS': 'bnonly.initialization',
    'initialize': 'bnonly.initialization',
    'ARCHITECTURES': 'bnonly.models', 'CIFAR_DEEP': 'bnonly.models', 'CIFAR_WIDE': 'bnonly.models',
    'IMAGENET_RESNETS': 'bnonly.models', 'create_model': 'bnonly.models',
    'TRAINABLE_SETS': 'bnonly.trainable', 'merge_random_k': 'bnonly.trainable', 'set_trainable': 'bnonly.trainable',
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # so this runs once per name
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The function ``bnonly.census`` and the submodule ``bnonly.census`` share a name. Python's import sets
    the package attribute to the submodule when it is first imported (by ``bnonly.trainable``, say), which
    would hide the function; this keeps the name for the function, as when this file imported it eagerly."""

    def __setattr__(self, name, value):
        if name == 'census' and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
