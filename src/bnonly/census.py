"""Which parameters are BatchNorm, output, shortcut or other: the paper's Table 1 categories.

- batchnorm: γ and β of every BatchNorm (stem, blocks and projection shortcuts). Running statistics are
  buffers, not parameters.
- output: the final classifier's weight and bias (``model.get_classifier()``).
- shortcut: the 1x1 projection convs only (their BNs count as batchnorm).
- other: everything else (every other conv).
The four groups partition ``model.parameters()``.
"""
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

GROUPS = ('batchnorm', 'output', 'shortcut', 'other')
# Container names of projection shortcuts: ours (CifarResNet) and timm's/torchvision's ResNets.
_SHORTCUT_CONTAINERS = ('shortcut', 'downsample')


def _is_shortcut_conv(name: str, module: nn.Module) -> bool:
    parts = name.split('.')
    return isinstance(module, nn.Conv2d) and len(parts) >= 2 and parts[-2] in _SHORTCUT_CONTAINERS


def parameter_groups(model: nn.Module) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """Map each group to its (qualified name, parameter) pairs."""
    classifier = model.get_classifier()
    output_ids = {id(p) for p in classifier.parameters()}
    group_of = {}
    for module_name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            group = 'batchnorm'
        elif _is_shortcut_conv(module_name, module):
            group = 'shortcut'
        else:
            continue
        # recurse: under random_k a conv's tensors live in its .parametrizations (original and values).
        for param in module.parameters():
            group_of[id(param)] = group
    groups = {group: [] for group in GROUPS}
    for name, param in model.named_parameters():
        group = 'output' if id(param) in output_ids else group_of.get(id(param), 'other')
        groups[group].append((name, param))
    return groups


def census(model: nn.Module) -> dict[str, int]:
    """Parameter counts: total and one per group (Table 1)."""
    counts = {group: sum(p.numel() for _, p in params) for group, params in parameter_groups(model).items()}
    return {'total': sum(p.numel() for p in model.parameters()), **counts}
