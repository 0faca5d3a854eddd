"""The paper's initialisation (open_lth ``models/initializers.py`` and ``models/bn_initializers.py``).

Defaults: conv and linear weights Kaiming-normal with fan_in (std = sqrt(2 / fan_in)); linear bias
PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm γ ~ U[0, 1), β = 0, which is PyTorch's
default before 1.2 and the init of every experiment from Figure 2 on. Figure 1 uses ``fixed`` (γ = 1, β = 0).

All draws come from one ``torch.Generator`` seeded by ``seed``, so the same seed gives bit-identical
weights whatever else used the global RNG before.
"""
import math

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


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


def _uniform(bn, generator):
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.weight.shape, generator=generator))
        bn.bias.zero_()


def _fixed(bn, generator):
    nn.init.ones_(bn.weight)
    nn.init.zeros_(bn.bias)


def _oneone(bn, generator):
    nn.init.ones_(bn.weight)
    nn.init.ones_(bn.bias)


def _positivenegative(bn, generator):
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.weight.shape, generator=generator) * 2 - 1)
        bn.bias.zero_()


WEIGHT_INITS = {'kaiming_normal': _kaiming_normal, 'kaiming_uniform': _kaiming_uniform,
                'orthogonal': _orthogonal, 'binary': _binary}
BATCHNORM_INITS = {'uniform': _uniform, 'fixed': _fixed, 'oneone': _oneone,
                   'positivenegative': _positivenegative}


def _lookup(table: dict, name: str, what: str):
    if name not in table:
        raise ValueError(f'unknown {what} {name!r}; valid: {", ".join(sorted(table))}')
    return table[name]


def initialize(model: nn.Module, *, weights: str = 'kaiming_normal', batchnorm: str = 'uniform',
               seed: int | None = None) -> nn.Module:
    """Re-initialise every conv, linear and BatchNorm of ``model`` in place, as open_lth does."""
    init_weight = _lookup(WEIGHT_INITS, weights, 'weight init')
    init_batchnorm = _lookup(BATCHNORM_INITS, batchnorm, 'batchnorm init')
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
        elif isinstance(module, _BatchNorm) and module.affine:
            init_batchnorm(module, generator)
    return model
