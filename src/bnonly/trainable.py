"""The trainable sets the paper compares, and the freezing that implements them.

Frozen means ``requires_grad=False``: the tensor is not given to the optimizer, so it gets neither
updates nor weight decay. BatchNorm running statistics are buffers and keep updating in training mode
whatever is frozen. Definitions: shared/PAPER.md, "Which parameters train".
"""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import parametrize

from bnonly.census import parameter_groups

# Which census groups each set trains (random_k's chosen conv entries are added separately).
_TRAINED_GROUPS = {
    'all': {'batchnorm', 'output', 'shortcut', 'other'},
    'all_but_bn': {'output', 'shortcut', 'other'},
    'bn_only': {'batchnorm'},
    'output_only': {'output'},
    'bn_output': {'batchnorm', 'output'},
    'random_k': set(),
    'random_k_output': {'output'},
}
TRAINABLE_SETS = tuple(_TRAINED_GROUPS)


class RandomKEntries(nn.Module):
    """A parametrization of a conv weight: k entries per output channel are trainable, the rest frozen.

    The trainable entries live in ``values`` (out_channels x k); the forward scatters them into the frozen
    weight. The frozen entries are never touched by the optimizer, so they stay bit-identical, and weight
    decay and momentum act on the chosen entries exactly as if only they were parameters.
    """

    def __init__(self, weight: torch.Tensor, k: int, generator: torch.Generator):
        super().__init__()
        out_channels, fan_in = weight.shape[0], weight[0].numel()
        if not 1 <= k <= fan_in:
            raise ValueError(f'random_k needs 1 <= k <= {fan_in} (entries per output channel), got k={k}')
        # k distinct positions per output channel, uniformly at random.
        index = torch.rand(out_channels, fan_in, generator=generator).argsort(dim=1)[:, :k]
        self.register_buffer('index', index)
        self.values = nn.Parameter(weight.detach().reshape(out_channels, fan_in).gather(1, index).clone())

    def forward(self, frozen: torch.Tensor) -> torch.Tensor:
        flat = frozen.reshape(self.index.shape[0], -1)
        return flat.scatter(1, self.index, self.values.to(flat.dtype)).reshape(frozen.shape)


def _attach_random_k(model: nn.Module, k: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if any(parametrize.is_parametrized(conv, 'weight') for conv in convs):
        raise ValueError('random_k is already attached to this model; build a fresh model to choose again')
    for conv in convs:
        parametrize.register_parametrization(conv, 'weight', RandomKEntries(conv.weight, k, generator))
        conv.parametrizations.weight.original.requires_grad_(False)


def merge_random_k(model: nn.Module) -> nn.Module:
    """Fold random_k parametrizations back into plain conv weights (for a checkpoint any model can load)."""
    for module in model.modules():
        if parametrize.is_parametrized(module, 'weight'):
            parametrize.remove_parametrizations(module, 'weight', leave_parametrized=True)
    return model


def set_trainable(model: nn.Module, name: str, *, k: int = 2, seed: int = 0) -> list[nn.Parameter]:
    """Freeze ``model`` to the trainable set ``name`` and return the tensors the optimizer should get.

    ``all_but_bn`` sets γ = 1 and β = 0 and keeps them there. ``random_k`` and ``random_k_output`` train k
    randomly chosen weights per output channel of every conv (stem and shortcuts included), chosen from
    ``seed``; with k = 2 that is exactly the BatchNorm parameter count, since every conv feeds one BN.
    """
    if name not in _TRAINED_GROUPS:
        raise ValueError(f'unknown trainable set {name!r}; valid: {", ".join(TRAINABLE_SETS)}')
    trained = _TRAINED_GROUPS[name]
    for group, params in parameter_groups(model).items():
        for _, param in params:
            param.requires_grad_(group in trained)
    if name == 'all_but_bn':
        for module in model.modules():
            if isinstance(module, _BatchNorm) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    if name.startswith('random_k'):
        _attach_random_k(model, k, seed)
    return [p for p in model.parameters() if p.requires_grad]
