"""Every name a params file may choose from: data sets, architectures, trainable sets, initialisations,
normalisations, precisions, memory formats, compile modes and dead-ReLU granularities, as plain tuples; the
grammar of a grid run's name, which spells an architecture, a trainable set and model settings in one string;
and the key a |γ| threshold is spelled with in the metrics, histories and reports (``threshold_key``).

One home that imports only the standard library, so that ``bnonly.config`` checks every name of params.yaml
and grid.yaml without torch (the report stages, grid_recipe among them, never import it), and so that a
stage that reads a name depends on this file, which its deps list says. The modules that implement the
names (the models, ``bnonly.trainable``, ``bnonly.data.datasets`` ...) import them from here; where one keeps
a mapping keyed by them, ``keyed`` checks at import that it has exactly these keys, in this order.
"""
import functools
import re
from collections.abc import Mapping


class ConfigError(ValueError):
    """A params file, grid file or run name that asks for something the schema or this vocabulary does not have
    (``bnonly.config`` raises it for every key; defined here so that a run name needs nothing above this file)."""

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
NORM_INITS = ('uniform', 'fixed', 'oneone', 'positivenegative')  # γ and β of every affine norm, not only BN
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


# A grid run (bnonly.paper.grid, and stages/train.py --run) is ARCH-TRAINABLE[-VARIANT]...: no architecture or
# trainable-set name contains a '-', and each VARIANT token sets one model setting: the string settings' tokens
# are their own names (disjoint sets, so a token names its setting); model.k's token is k<N>. The run string
# is the cells' name prefix, so it is kept as written.
RUN_VARIANT_TOKENS = {'norm_layer': NORM_LAYERS, 'norm_init': NORM_INITS, 'weight_init': WEIGHT_INITS}
RUN_VARIANT_KEYS = (*RUN_VARIANT_TOKENS, 'k')
_K_TOKEN = re.compile(r'k([1-9][0-9]*)')  # no leading zero: one token per value, so a run reads back as written
# The budget token e<N> sets train.epochs = N, the one run setting outside the model: the recipe's LR milestones
# scale with it (budget_milestones), so that one grid holds one recipe at several budgets (study/grid.yaml).
BUDGET_KEY = 'epochs'
_BUDGET_TOKEN = re.compile(r'e([1-9][0-9]*)')
_RUN_SYNTAX = 'ARCH-TRAINABLE[-VARIANT]..., e.g. cifar_resnet14-bn_only or cifar_resnet14-bn_only-groupnorm'


@functools.cache
def variant_tokens() -> dict[str, str]:
    """Token -> the model setting it sets."""
    owner = {}
    for key, names in RUN_VARIANT_TOKENS.items():
        for name in names:
            if name in owner:
                raise TypeError(f'{name!r} is a value of both model.{owner[name]} and model.{key}: '
                                f'a run token must name one setting')
            owner[name] = key
    return owner


def _variant_help() -> str:
    named = [f'model.{key}: {", ".join(names)}' for key, names in RUN_VARIANT_TOKENS.items()]
    return '; '.join(named + ['model.k: k<N> with N >= 1', 'train.epochs: e<N> with N >= 1'])


def variant_token(key: str, value) -> str:
    """The run token that sets ``key`` (a model key, or BUDGET_KEY) to ``value`` (the inverse of parse_run's
    reading)."""
    return f'k{value}' if key == 'k' else f'e{value}' if key == BUDGET_KEY else str(value)


def budget_milestones(milestones, recipe_epochs: int, epochs: int, run: str = '') -> tuple[int, ...]:
    """The recipe's LR milestones (epochs) scaled to a budget of ``epochs``: each x epochs / recipe_epochs, which
    must be a whole epoch (a ConfigError naming the run otherwise)."""
    scaled = tuple(milestone * epochs / recipe_epochs for milestone in milestones)
    if any(value != int(value) for value in scaled):
        where = f'run {run!r}: ' if run else ''
        raise ConfigError(f'{where}train.milestones {list(milestones)} of {recipe_epochs} epochs do not scale to '
                          f'whole epochs at {epochs} ({", ".join(f"{v:g}" for v in scaled)})')
    return tuple(int(value) for value in scaled)


def parse_run(run: str) -> tuple[str, str, dict]:
    """``'ARCH-TRAINABLE[-VARIANT]...'`` -> (arch, trainable, {model key: value} in the run's order; a budget
    token adds BUDGET_KEY: its number of epochs).

    The one reader of run strings (the grid's cells, the train stage's --run). The arch and trainable set are
    not checked here (the fields they fill are, where bnonly.config validates them), only the variant tokens:
    an unknown token or two tokens for one setting is a ConfigError naming the token and the allowed values."""
    parts = run.split('-') if isinstance(run, str) else []
    if len(parts) < 2 or not all(parts):
        raise ConfigError(f'{run!r} is not a run; expected {_RUN_SYNTAX}')
    arch, trainable, *tokens = parts
    variants = {}
    for token in tokens:
        match = _K_TOKEN.fullmatch(token)
        budget = _BUDGET_TOKEN.fullmatch(token)
        key, value = (('k', int(match.group(1))) if match else (BUDGET_KEY, int(budget.group(1))) if budget
                      else (variant_tokens().get(token), token))
        if key is None:
            raise ConfigError(f'run {run!r}: {token!r} is not a variant; valid: {_variant_help()}')
        if key in variants:
            section = 'train' if key == BUDGET_KEY else 'model'
            raise ConfigError(f'run {run!r}: {variant_token(key, variants[key])!r} and {token!r} both set '
                              f'{section}.{key}; a run sets each at most once')
        variants[key] = value
    return arch, trainable, variants


def threshold_key(threshold: float) -> str:
    """How a |γ| threshold is spelled in a metric key or a column name (the analysis metrics, the training
    history, the aggregated tables and the claims): 't' + the threshold written with '%g', its '.' as 'p', since
    DVC reserves dots for nesting: 0.01 -> 't0p01', 1e-05 -> 't1e-05'."""
    return 't' + format(threshold, 'g').replace('.', 'p')


def key_threshold(key: str) -> float:
    """The inverse of ``threshold_key``: 't0p01' -> 0.01, 't1e-05' -> 1e-05."""
    return float(key[1:].replace('p', '.'))
