"""The trainable sets the paper compares, the normalisation-agnostic sets beyond it, and the freezing that
implements them.

Frozen means ``requires_grad=False``: the tensor is not given to the optimizer, so it gets neither
updates nor weight decay. BatchNorm running statistics are buffers and keep updating in training mode
whatever is frozen. Definitions of the paper's sets: docs/paper.md.

Sets beyond the paper (any affine normalisation, ``bnonly.norms.is_affine_norm``: BatchNorm, GroupNorm,
LayerNorm, timm's LayerNorm2d ...):
- ``norm_only``: γ and β of every normalisation layer; on a BatchNorm network exactly ``bn_only``.
- ``gamma_only``: γ (the ``weight``) of every normalisation layer; β stays at its init (0 by default).
- ``beta_only``: β (the ``bias``) of every normalisation layer; γ stays at its init (U[0, 1) by default).
The BatchNorm-named sets (``bn_only``, ``bn_output``, ``all_but_bn``) refuse a network without BatchNorm,
where they would silently train nothing, only the output, or everything.

Equal-count random baselines: one mechanism, ``random_k`` (and ``random_k_output``), with k chosen to match
the set (``EQUAL_COUNT_BASELINE``): k = 2 for bn_only and norm_only, k = 1 for gamma_only and beta_only. The
argument is in ``set_trainable``'s docstring; ``tests/test_trainable.py`` checks the counts on ResNet-14,
WRN-14-2, the GroupNorm/LayerNorm ResNets and the ViT.
"""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import parametrize

from bnonly.census import NORM_CATEGORIES, parameter_categories
from bnonly.norms import norm_layers
from bnonly.vocabulary import TRAINABLE_SETS, keyed

# Which census categories each set trains as whole tensors (random_k's chosen entries and the γ or β of
# gamma_only/beta_only are added separately).
_TRAINED_CATEGORIES = keyed(TRAINABLE_SETS, {
    'all': {'batchnorm', 'other_norm', 'output', 'shortcut', 'other'},
    'all_but_bn': {'other_norm', 'output', 'shortcut', 'other'},
    'bn_only': {'batchnorm'},
    'output_only': {'output'},
    'bn_output': {'batchnorm', 'output'},
    'random_k': set(),
    'random_k_output': {'output'},
    'norm_only': set(NORM_CATEGORIES),
    'gamma_only': set(),
    'beta_only': set(),
})
# The attribute of every normalisation layer that gamma_only and beta_only train.
_NORM_ATTRIBUTE = {'gamma_only': 'weight', 'beta_only': 'bias'}
_BATCHNORM_SETS = ('bn_only', 'bn_output', 'all_but_bn')
# set -> (its random baseline with the same trainable count, the k that gives that count).
EQUAL_COUNT_BASELINE = {
    'bn_only': ('random_k', 2),
    'norm_only': ('random_k', 2),
    'gamma_only': ('random_k', 1),
    'beta_only': ('random_k', 1),
    'bn_output': ('random_k_output', 2),
}


class RandomKEntries(nn.Module):
    """A parametrization of a conv or linear weight: k entries per output channel are trainable, the rest frozen.

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


def random_k_layers(model: nn.Module) -> list[nn.Module]:
    """The layers random_k chooses entries in: those whose outputs the normalisation layers normalise.

    - A convolutional network (ours, timm's ResNets): every conv, stem and shortcuts included. Each conv
      feeds exactly one normalisation layer of its width.
    - timm's VisionTransformer (pre-norm): the layers that write to the residual stream, i.e. the patch
      embedding and each block's attention output projection and MLP output layer. There are 2·depth + 1 of
      them, each embed_dim wide, as many as the LayerNorms (two per block and the final one), each embed_dim
      wide. qkv and the MLP's hidden layer are not chosen: they are wider (3 and mlp_ratio times embed_dim)
      and no norm follows them.
    """
    from timm.models.vision_transformer import VisionTransformer  # here: timm is needed only for a model
    if isinstance(model, VisionTransformer):
        return [model.patch_embed.proj] + [layer for block in model.blocks
                                           for layer in (block.attn.proj, block.mlp.fc2)]
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def _attach_random_k(model: nn.Module, k: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    layers = random_k_layers(model)
    if any(parametrize.is_parametrized(layer, 'weight') for layer in layers):
        raise ValueError('random_k is already attached to this model; build a fresh model to choose again')
    for layer in layers:
        parametrize.register_parametrization(layer, 'weight', RandomKEntries(layer.weight, k, generator))
        layer.parametrizations.weight.original.requires_grad_(False)


def merge_random_k(model: nn.Module) -> nn.Module:
    """Fold random_k parametrizations back into plain weights (for a checkpoint any model can load)."""
    for module in model.modules():
        if parametrize.is_parametrized(module, 'weight'):
            parametrize.remove_parametrizations(module, 'weight', leave_parametrized=True)
    return model


def _norm_halves(model: nn.Module, name: str) -> list[nn.Parameter]:
    """γ (gamma_only) or β (beta_only) of every normalisation layer that has one (torch's RMSNorm has no β)."""
    halves = [getattr(norm, _NORM_ATTRIBUTE[name], None) for _, norm in norm_layers(model)]
    return [param for param in halves if param is not None]


def _check_applies(model: nn.Module, name: str, categories: dict) -> None:
    if name in _BATCHNORM_SETS and not categories['batchnorm']:
        raise ValueError(f'{name!r} names BatchNorm but this network has no BatchNorm parameters; '
                         f'for its normalisation layers use norm_only, gamma_only or beta_only')
    if name == 'norm_only' and not any(categories[category] for category in NORM_CATEGORIES):
        raise ValueError('norm_only: this network has no affine normalisation layer')
    if name in _NORM_ATTRIBUTE and not _norm_halves(model, name):
        raise ValueError(f'{name}: this network has no normalisation layer with a '
                         f'{"γ (weight)" if name == "gamma_only" else "β (bias)"}')


def set_trainable(model: nn.Module, name: str, *, k: int = 2, seed: int = 0) -> list[nn.Parameter]:
    """Freeze ``model`` to the trainable set ``name`` and return the tensors the optimizer should get.

    ``all_but_bn`` sets γ = 1 and β = 0 and keeps them there. ``random_k`` and ``random_k_output`` train k
    randomly chosen weights per output channel of each layer ``random_k_layers`` names, chosen from ``seed``.

    Equal counts (``EQUAL_COUNT_BASELINE``): every normalisation layer has one γ and one β per channel, and
    ``random_k_layers`` has, in total, as many output channels as the normalisation layers have channels (a
    CNN: each conv feeds one norm of its width; a ViT: 2·depth + 1 residual writers and 2·depth + 1
    LayerNorms, all embed_dim wide). So k = 2 trains exactly as many weights as norm_only (= bn_only on a
    BatchNorm network), and k = 1 exactly as many as gamma_only or beta_only.
    """
    if name not in _TRAINED_CATEGORIES:
        raise ValueError(f'unknown trainable set {name!r}; valid: {", ".join(TRAINABLE_SETS)}')
    categories = parameter_categories(model)
    _check_applies(model, name, categories)
    trained = {id(param) for category in _TRAINED_CATEGORIES[name] for _, param in categories[category]}
    if name in _NORM_ATTRIBUTE:
        trained |= {id(param) for param in _norm_halves(model, name)}
    for param in model.parameters():
        param.requires_grad_(id(param) in trained)
    if name == 'all_but_bn':
        for module in model.modules():
            if isinstance(module, _BatchNorm) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    if name.startswith('random_k'):
        _attach_random_k(model, k, seed)
    return [p for p in model.parameters() if p.requires_grad]
