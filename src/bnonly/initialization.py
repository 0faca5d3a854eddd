"""The paper's initialisation (open_lth ``models/initializers.py`` and ``models/bn_initializers.py``).

Defaults: conv and linear weights Kaiming-normal with fan_in (std = sqrt(2 / fan_in)); linear bias
PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm γ ~ U[0, 1), β = 0, which is PyTorch's
default before 1.2 and the init of every experiment from Figure 2 on. Figure 1 uses ``fixed`` (γ = 1, β = 0).

Beyond the paper, the norm inits (``NORM_INITS``, the ``norms`` argument) apply to every affine
normalisation the census knows (GroupNorm, LayerNorm, RMSNorm ...: ``bnonly.norms.is_affine_norm``), so a
GroupNorm ResNet or a ViT starts from the same γ and β distribution as the paper's networks; a norm without
β (RMSNorm) gets γ only. A ViT's learned class token and position embedding (timm's ``cls_token``,
``reg_token``, ``pos_embed``) are drawn N(0, 1): see ``_embedding``.

All draws come from one ``torch.Generator`` seeded by ``seed``, so the same seed gives bit-identical
weights whatever else used the global RNG before.
"""
import math

import torch
from torch import nn

from bnonly.norms import is_affine_norm
from bnonly.vocabulary import NORM_INITS, WEIGHT_INITS, keyed

# timm's names for learned token and position embeddings held directly by a model (its VisionTransformer).
EMBEDDING_PARAMETERS = ('cls_token', 'reg_token', 'pos_embed')


def _kaiming_normal(weight, generator):
    nn.init.kaiming_normal_(weight, generator=generator)


def _kaiming_uniform(weight, generator):
    nn.init.kaiming_uniform_(weight, generator=generator)


def _orthogonal(weight, generator):
    nn.init.orthogonal_(weight, generator=generator)


def _binary(weight, generator):
    # open_lth: the sign of a Kaiming-normal draw, times that distribution's standard deviation.
    nn.init.kaiming_normal_(weight, generator=generator)
    std = math.sqrt(2.0 / nn.init._calculate_correct_fan(weight, 'fan_in'))
    with torch.no_grad():
        weight.copy_(torch.sign(weight) * std)


def _zero_bias(norm):
    # A norm without β (torch's RMSNorm) may not even have the attribute.
    if getattr(norm, 'bias', None) is not None:
        nn.init.zeros_(norm.bias)


def _uniform(norm, generator):
    with torch.no_grad():
        norm.weight.copy_(torch.rand(norm.weight.shape, generator=generator))
    _zero_bias(norm)


def _fixed(norm, generator):
    nn.init.ones_(norm.weight)
    _zero_bias(norm)


def _oneone(norm, generator):
    nn.init.ones_(norm.weight)
    if getattr(norm, 'bias', None) is not None:
        nn.init.ones_(norm.bias)


def _positivenegative(norm, generator):
    with torch.no_grad():
        norm.weight.copy_(torch.rand(norm.weight.shape, generator=generator) * 2 - 1)
    _zero_bias(norm)


def _embedding(parameter, generator):
    # N(0, 1), not timm's 0.02 (or zero class token): these tensors are frozen in every set but ``all``, and
    # the patch tokens they are added to have a standard deviation of about 1.4 under the Kaiming-normal
    # patch embedding. At 0.02 a frozen position embedding would be ~1% of each token and a frozen network
    # could barely tell positions apart; at 1 it is a fixed random code of each position, on the tokens' scale.
    nn.init.normal_(parameter, generator=generator)


_WEIGHT_INIT = keyed(WEIGHT_INITS, {'kaiming_normal': _kaiming_normal, 'kaiming_uniform': _kaiming_uniform,
                                     'orthogonal': _orthogonal, 'binary': _binary})
_NORM_INIT = keyed(NORM_INITS, {'uniform': _uniform, 'fixed': _fixed, 'oneone': _oneone,
                                'positivenegative': _positivenegative})


def _lookup(table: dict, name: str, what: str):
    if name not in table:
        raise ValueError(f'unknown {what} {name!r}; valid: {", ".join(sorted(table))}')
    return table[name]


def initialize(model: nn.Module, *, weights: str = 'kaiming_normal', norms: str = 'uniform',
               seed: int | None = None) -> nn.Module:
    """Re-initialise every conv, linear and affine normalisation of ``model`` in place, as open_lth does its
    convs, linears and BatchNorms; and a ViT's token and position embeddings (``EMBEDDING_PARAMETERS``)."""
    init_weight = _lookup(_WEIGHT_INIT, weights, 'weight init')
    init_norm = _lookup(_NORM_INIT, norms, 'norm init')
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            init_weight(module.weight, generator)
            if module.bias is not None:
                bound = 1 / math.sqrt(nn.init._calculate_correct_fan(module.weight, 'fan_in'))
                with torch.no_grad():
                    module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * 2 * bound - bound)
        elif is_affine_norm(module):
            init_norm(module, generator)
        for name in EMBEDDING_PARAMETERS:
            parameter = getattr(module, name, None)
            if isinstance(parameter, nn.Parameter):
                _embedding(parameter, generator)
    return model
