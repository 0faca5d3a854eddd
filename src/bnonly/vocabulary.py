"""Every name a params file may choose from: data sets, architectures, trainable sets, initialisations,
normalisations, precisions, memory formats, compile modes and dead-ReLU granularities, as plain tuples.

One home that imports only the standard library, so that ``bnonly.config`` checks every name of params.yaml
and grid.yaml without torch (the report stages, grid_recipe among them, never import it), and so that a
stage that reads a name depends on this file, which its deps list says. The modules that implement the
names (the models, ``bnonly.trainable``, ``bnonly.data.datasets`` ...) import them from here; where one keeps
a mapping keyed by them, ``keyed`` checks at import that it has exactly these keys, in this order.
"""
from collections.abc import Mapping

DATASETS = ('fashion_mnist', 'cifar10', 'imagenet')

# The paper's CIFAR ResNets (bnonly.models.cifar_resnet): ResNet-<depth>, and WRN-14-<multiplier>.
DEPTHS = (14, 20, 32, 44, 56, 110, 218, 434, 866)
WIDTH_MULTIPLIERS = (1, 2, 4, 8, 16, 32)
CIFAR_DEEP = tuple(f'cifar_resnet{depth}' for depth in DEPTHS)
CIFAR_WIDE = tuple(f'cifar_wide_resnet14_{k}' for k in WIDTH_MULTIPLIERS)
IMAGENET_RESNETS = ('resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet200')  # timm's own networks
VIT_ARCHITECTURES = ('vit_fmnist_tiny',)  # beyond the paper: bnonly.models.vit
ARCHITECTURES = CIFAR_DEEP + CIFAR_WIDE + IMAGENET_RESNETS + VIT_ARCHITECTURES

TRAINABLE_SETS = ('all', 'all_but_bn', 'bn_only', 'output_only', 'bn_output', 'random_k', 'random_k_output',
                  'norm_only', 'gamma_only', 'beta_only')

WEIGHT_INITS = ('kaiming_normal', 'kaiming_uniform', 'orthogonal', 'binary')
BATCHNORM_INITS = ('uniform', 'fixed', 'oneone', 'positivenegative')
NORM_LAYERS = ('batchnorm', 'groupnorm', 'layernorm')  # the CIFAR ResNets' model.norm_layer

PRECISIONS = ('fp32', 'bf16')
MEMORY_FORMATS = ('channels_last', 'contiguous')
COMPILE_MODES = ('default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs')  # torch.compile's

GRANULARITIES = ('channel', 'channel_position')  # dead ReLUs: per channel, or per channel and position


def keyed(names: tuple, mapping: Mapping) -> Mapping:
    """``mapping``, after checking that its keys are ``names`` in order: an owner's table cannot drift from
    the names a params file is checked against."""
    if tuple(mapping) != names:
        raise TypeError(f'keys {", ".join(map(str, mapping))} are not the vocabulary\'s {", ".join(map(str, names))}')
    return mapping
