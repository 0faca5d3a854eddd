"""Which parameters are BatchNorm, other normalisation, output, shortcut or other: the paper's Table 1
categories, plus one for the normalisations the paper did not use.

- batchnorm: γ and β of every BatchNorm (stem, blocks and projection shortcuts). Running statistics are
  buffers, not parameters.
- other_norm: γ and β of every other affine normalisation (``bnonly.norms.is_affine_norm``: GroupNorm,
  LayerNorm, InstanceNorm, RMSNorm and timm's norms, e.g. ``LayerNorm2d``). Zero on the paper's networks, so
  Table 1's BatchNorm column is the batchnorm category unchanged; on a GroupNorm ResNet or a ViT it holds every
  norm parameter.
- output: the final classifier's weight and bias (``model.get_classifier()``).
- shortcut: the 1x1 projection convs only (their norms count as batchnorm or other_norm).
- other: everything else (every other conv and linear, a ViT's class token and position embedding).
The five categories partition ``model.parameters()``.
"""
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from bnonly.norms import is_affine_norm

CATEGORIES = ('batchnorm', 'other_norm', 'output', 'shortcut', 'other')
NORM_CATEGORIES = ('batchnorm', 'other_norm')
# Container names of projection shortcuts: ours (CifarResNet) and timm's/torchvision's ResNets.
_SHORTCUT_CONTAINERS = ('shortcut', 'downsample')


def _is_shortcut_conv(name: str, module: nn.Module) -> bool:
    parts = name.split('.')
    return isinstance(module, nn.Conv2d) and len(parts) >= 2 and parts[-2] in _SHORTCUT_CONTAINERS


def parameter_categories(model: nn.Module) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """Map each category to its (qualified name, parameter) pairs."""
    classifier = model.get_classifier()
    output_ids = {id(p) for p in classifier.parameters()}
    category_of = {}
    for module_name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            category = 'batchnorm'
        elif is_affine_norm(module):
            category = 'other_norm'
        elif _is_shortcut_conv(module_name, module):
            category = 'shortcut'
        else:
            continue
        # recurse: under random_k a conv's tensors live in its .parametrizations (original and values).
        for param in module.parameters():
            category_of[id(param)] = category
    categories = {category: [] for category in CATEGORIES}
    for name, param in model.named_parameters():
        category = 'output' if id(param) in output_ids else category_of.get(id(param), 'other')
        categories[category].append((name, param))
    return categories


def census(model: nn.Module) -> dict[str, int]:
    """Parameter counts: total and one per category (Table 1, plus other_norm)."""
    counts = {category: sum(p.numel() for _, p in params) for category, params in parameter_categories(model).items()}
    return {'total': sum(p.numel() for p in model.parameters()), **counts}
