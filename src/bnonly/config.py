"""params.yaml: read safely, check every key and value before any work starts.

The schema below is the single list of what params.yaml may contain. A misspelt key, an unknown name or a
value out of range raises ``ConfigError`` naming the key and what is valid. Values are never evaluated.

This module imports neither torch nor timm. The names the model code defines (architectures, trainable sets,
initialisations, compile modes) are looked up in their own modules, which import torch, only when a value
is checked against them; ``load_params(..., check_names=False)`` skips those look-ups (see there).
"""
import contextvars
import difflib
import importlib
import numbers
from pathlib import Path

import yaml

DATASETS = ('fashion_mnist', 'cifar10', 'imagenet')


class ConfigError(ValueError):
    pass


def _choice(options):
    def check(key, value):
        if value not in options:
            raise ConfigError(f'{key}: {value!r} is not valid; valid: {", ".join(map(str, options))}')
    return check


def _number(minimum=None, *, integer=False, strict=False, maximum=None):
    def check(key, value):
        kind = numbers.Integral if integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(f'{key}: expected {"an integer" if integer else "a number"}, got {value!r}')
        if value != value or value in (float('inf'), float('-inf')):
            raise ConfigError(f'{key}: expected a finite number, got {value!r}')
        if minimum is not None and (value <= minimum if strict else value < minimum):
            raise ConfigError(f'{key}: must be {">" if strict else ">="} {minimum}, got {value!r}')
        if maximum is not None and value > maximum:
            raise ConfigError(f'{key}: must be <= {maximum}, got {value!r}')
    return check


def _list_of(check_item, *, non_empty=True):
    def check(key, value):
        if not isinstance(value, list) or (non_empty and not value):
            raise ConfigError(f'{key}: expected a {"non-empty " if non_empty else ""}list, got {value!r}')
        for index, item in enumerate(value):
            check_item(f'{key}[{index}]', item)
    return check


def _boolean(key, value):
    if not isinstance(value, bool):
        raise ConfigError(f'{key}: expected true or false, got {value!r}')


def _optional_count(key, value):
    if value is not None:
        _number(1, integer=True)(key, value)


def _optional_path(key, value):
    if value is not None and not isinstance(value, str):
        raise ConfigError(f'{key}: expected a path or null, got {value!r}')


# False while load_params(..., check_names=False) validates: the rules below then check only the type.
_names_checked = contextvars.ContextVar('names_checked', default=True)


def _name_defined_in(module: str, attribute: str):
    """A choice among the names ``module.attribute`` lists. The module imports torch, so it is imported when
    a value is checked, not when this module is."""
    def check(key, value):
        if not _names_checked.get():
            if not isinstance(value, str):
                raise ConfigError(f'{key}: expected a name, got {value!r}')
            return
        _choice(tuple(getattr(importlib.import_module(module), attribute)))(key, value)
    return check


_architecture = _name_defined_in('bnonly.models', 'ARCHITECTURES')
_trainable_set = _name_defined_in('bnonly.trainable', 'TRAINABLE_SETS')


def _compile_option(key, value):
    if not _names_checked.get():
        if not isinstance(value, (bool, str)):
            raise ConfigError(f'{key}: expected true, false or a mode name, got {value!r}')
        return
    from bnonly.training.compiling import COMPILE_MODES  # here: bnonly.training imports this module
    if not isinstance(value, bool) and value not in COMPILE_MODES:
        raise ConfigError(f'{key}: {value!r} is not valid; valid: false, true, {", ".join(COMPILE_MODES)}')


# Sections and keys are optional in a params file only where a stage does not need them; the stages ask
# for what they read with ``require``.
SCHEMA = {
    'dataset': _choice(DATASETS),
    'arch': _architecture,
    'trainable': _trainable_set,
    'seed': _number(0, integer=True),
    'data': {'root': _optional_path, 'verify_checksums': _boolean},
    'model': {
        'batchnorm_init': _name_defined_in('bnonly.initialization', 'BATCHNORM_INITS'),
        'weight_init': _name_defined_in('bnonly.initialization', 'WEIGHT_INITS'),
        'random_k': _number(1, integer=True),
    },
    'train': {
        'epochs': _number(0, integer=True, strict=True),
        'batch_size': _number(1, integer=True),
        'lr': _number(0, strict=True),
        'momentum': _number(0, maximum=1),
        'weight_decay': _number(0),
        'milestones': _list_of(_number(0, integer=True), non_empty=False),
        'gamma': _number(0, strict=True),
        'warmup_epochs': _number(0, integer=True),
        'eval_batch_size': _number(1, integer=True),
        'examples': _optional_count,
        # How the arithmetic is done (bnonly.training.numerics, .compiling); optional, defaults in RunSpec.
        'precision': _choice(('fp32', 'bf16')),
        'memory_format': _choice(('channels_last', 'contiguous')),
        'compile': _compile_option,
        # false: test only after the last epoch (history's earlier test cells empty); optional, default true
        'eval_every_epoch': _boolean,
    },
    'analyze': {
        'thresholds': _list_of(_number(0, strict=True)),
        'dead_relu_probability': _number(0, maximum=1),
        'dead_relu_granularity': _choice(('channel', 'channel_position')),
        'histogram_bins': _number(1, integer=True),
    },
}


def _unique_list_of(check_item):
    """A non-empty list without repeats (a repeated matrix value would give two DVC stages one name)."""
    def check(key, value):
        _list_of(check_item)(key, value)
        repeated = sorted({str(item) for item in value if value.count(item) > 1})
        if repeated:
            raise ConfigError(f'{key}: repeated {", ".join(repeated)}')
    return check


def _run(key, value):
    """A grid run: '<arch>-<trainable>' (bnonly.paper.grid.split_run), each part a valid choice."""
    parts = value.split('-') if isinstance(value, str) else []
    if len(parts) != 2:
        raise ConfigError(f'{key}: {value!r} is not a run; expected <arch>-<trainable>, e.g. cifar_resnet14-bn_only')
    _architecture(f'{key} (arch)', parts[0])
    _trainable_set(f'{key} (trainable)', parts[1])


# The paper grid (dvc.yaml grid_* stages, bnonly.paper): its own copy of the recipe, so experiments on the
# single run above never change a grid cell; and the figures drawn from the grid.
SCHEMA['grid'] = {
    'dataset': _choice(DATASETS),
    'data': dict(SCHEMA['data']),
    'runs': _unique_list_of(_run),
    'seeds': _unique_list_of(_number(0, integer=True)),
    'analyze_runs': _unique_list_of(_run),
    'fixed_init': {'runs': _unique_list_of(_run)},
    'model': {key: SCHEMA['model'][key] for key in ('weight_init', 'random_k')},
    'train': dict(SCHEMA['train']),
    'analyze': dict(SCHEMA['analyze']),
}
SCHEMA['figures'] = {
    'dpi': _number(50, integer=True, maximum=1200),
    'histogram_bins': _number(2, integer=True),
    'gamma_thresholds': _unique_list_of(_number(0, strict=True)),
}


def _validate(params: dict, schema: dict, prefix: str = '') -> None:
    if not isinstance(params, dict):
        raise ConfigError(f'{prefix.rstrip(".") or "params"}: expected a mapping, got {params!r}')
    for key, value in params.items():
        full = f'{prefix}{key}'
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f'; did you mean {prefix}{close[0]!r}?' if close else ''
            raise ConfigError(f'unknown params key {full!r}{hint} valid keys here: {", ".join(schema)}')
        rule = schema[key]
        if isinstance(rule, dict):
            _validate(value, rule, f'{full}.')
        else:
            rule(full, value)


def load_params(path: str | Path = 'params.yaml', overrides: list[str] = (), *, check_names: bool = True) -> dict:
    """Read and validate a params file with a safe YAML loader.

    ``overrides`` are ``dotted.key=value`` strings (values parsed as YAML scalars or lists, never evaluated),
    applied before validation: how a paper-grid cell sets its architecture, trainable set and seed.

    ``check_names=False`` checks every key and value except whether an architecture, trainable set,
    initialisation or compile mode names one that exists: looking those up imports torch (3-5 s), which the
    stages that only read CSV, JSON and YAML files (grid_recipe, aggregate, figures) otherwise never need.
    The stages that build a model (train, analyze) check the names they use.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'{path}: params file not found')
    with path.open() as handle:
        params = yaml.safe_load(handle) or {}
    for override in overrides:
        key, sep, text = override.partition('=')
        if not sep or not key:
            raise ConfigError(f'override {override!r}: expected dotted.key=value')
        *parents, leaf = key.split('.')
        node = params
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f'override {override!r}: {part!r} is not a section')
        node[leaf] = yaml.safe_load(text)
    token = _names_checked.set(check_names)
    try:
        _validate(params, SCHEMA)
    finally:
        _names_checked.reset(token)
    return params


def require(params: dict, *keys: str) -> None:
    """Fail clearly if a dotted key a stage needs is absent."""
    for dotted in keys:
        node = params
        for part in dotted.split('.'):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f'params key {dotted!r} is missing')
            node = node[part]
