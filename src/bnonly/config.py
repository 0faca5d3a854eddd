"""params.yaml and grid.yaml: the schema, as typed dataclasses, and a safe reader that checks every key and value
before any work starts.

Each section of a params file is one dataclass below; each of its fields is one key, with its type, its default
(a field without one is a key the stages that read it require) and, in the field's metadata, what values it
allows (``choices``, ``minimum``/``maximum``, ``unique`` ...: ``_check_value``). The training settings
(``RunSettings``, ``ModelSettings``, ``TrainSettings``) are also the fields of ``bnonly.training.RunSpec``, and
``AnalyzeSettings`` those of ``bnonly.analysis.AnalysisSettings``: adding a setting is adding a field here (and
using it). A misspelt key, an unknown name or a value out of range raises ``ConfigError`` naming the key and
what is valid. Values are never evaluated.

This module imports neither torch nor timm. The allowed names (data sets, architectures, trainable sets,
initialisations, normalisations, precisions, memory formats, compile modes, dead-ReLU granularities) are the
plain tuples of ``bnonly.vocabulary``, which the modules that implement them import too: every stage, the
torch-free report stages included, checks every name it reads.
"""
import dataclasses
import difflib
import functools
import numbers
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bnonly import vocabulary
from bnonly.vocabulary import ConfigError, parse_run


def _run(key: str, value) -> None:
    """A grid run (parse_run): its variant tokens, and its arch and trainable set valid choices."""
    try:
        arch, trainable, _ = parse_run(value)
    except ConfigError as error:
        raise ConfigError(f'{key}: {error}') from None
    _check_value(f'{key} (arch)', arch, str, {'choices': vocabulary.ARCHITECTURES})
    _check_value(f'{key} (trainable)', trainable, str, {'choices': vocabulary.TRAINABLE_SETS})


# Field metadata (read by _check_value):
#   choices       the allowed values: a tuple (of bnonly.vocabulary, for names)
#   minimum, strict, maximum   bounds of a number (strict: the minimum itself is not allowed)
#   what          how an error names a free string ('a path')
#   non_empty     a list must not be empty (default True); unique: nor repeat an item (a repeated matrix value
#                 would give two DVC stages one name)
#   item          a function checking each item of a list itself, instead of its type and the rules above
#   exclude       fields of a nested section's dataclass that this section does not have
#   omit_default  bnonly.training.RunSpec leaves the field out of its as_dict (and so of its fingerprint) while
#                 it has its default: a setting added later keeps the runs that do not use it the same runs
#   model_keyword the field is a keyword of bnonly.models.create_model beyond the paper's network, passed (and
#                 recorded in the checkpoint) only when it is not its default: model_keywords
_section = dataclass(frozen=True, kw_only=True)  # every settings class: immutable, fields by name only


@_section
class DataSettings:
    """Where the raw files are and whether they are checked (the prepare stage)."""
    root: str | None = field(default=None, metadata={'what': 'a path'})  # None: the data set's default
    verify_checksums: bool = True  # False only for stand-in data, which cannot match the recorded checksums


@_section
class RunSettings:
    """The top-level keys of a params file: which run."""
    dataset: str = field(metadata={'choices': vocabulary.DATASETS})
    arch: str = field(metadata={'choices': vocabulary.ARCHITECTURES})
    trainable: str = field(metadata={'choices': vocabulary.TRAINABLE_SETS})
    seed: int = field(metadata={'minimum': 0})


@_section
class ModelSettings:
    """How the network is built and initialised."""
    batchnorm_init: str = field(metadata={'choices': vocabulary.BATCHNORM_INITS})
    weight_init: str = field(metadata={'choices': vocabulary.WEIGHT_INITS})
    random_k: int = field(metadata={'minimum': 1})
    # Beyond the paper (CIFAR ResNets only): the normalisation every BatchNorm is replaced by.
    norm_layer: str = field(default='batchnorm', metadata={
        'choices': vocabulary.NORM_LAYERS, 'omit_default': True, 'model_keyword': True})


@_section
class TrainSettings:
    """open_lth's recipe, and how its arithmetic is done (bnonly.training.numerics, .compiling)."""
    epochs: int = field(metadata={'minimum': 0, 'strict': True})
    batch_size: int = field(metadata={'minimum': 1})
    lr: float = field(metadata={'minimum': 0, 'strict': True})
    momentum: float = field(metadata={'minimum': 0, 'maximum': 1})
    weight_decay: float = field(metadata={'minimum': 0})
    milestones: tuple[int, ...] = field(metadata={'minimum': 0, 'non_empty': False})
    gamma: float = field(metadata={'minimum': 0, 'strict': True})
    warmup_epochs: int = field(metadata={'minimum': 0})
    eval_batch_size: int = field(default=128, metadata={'minimum': 1})
    examples: int | None = field(default=None, metadata={'minimum': 1})  # a fixed subset of the training set
    # The defaults are open_lth's fp32, eager; channels_last computes the same values (numerics.py).
    precision: str = field(default='fp32', metadata={'choices': vocabulary.PRECISIONS})
    memory_format: str = field(default='channels_last', metadata={'choices': vocabulary.MEMORY_FORMATS})
    compile: bool | str = field(default=False, metadata={'choices': vocabulary.COMPILE_MODES})
    # Test after every epoch (open_lth), or only after the last one (history.py). In the fingerprint: a resume
    # state with per-epoch test columns is not the same run as one without.
    eval_every_epoch: bool = True


@_section
class AnalyzeSettings:
    """What the analysis measures (bnonly.analysis)."""
    thresholds: tuple[float, ...] = field(metadata={'minimum': 0, 'strict': True})  # |γ| thresholds
    dead_relu_probability: float = field(default=0.99, metadata={'minimum': 0, 'maximum': 1})
    dead_relu_granularity: str = field(default='channel', metadata={'choices': vocabulary.GRANULARITIES})
    histogram_bins: int = field(default=50, metadata={'minimum': 1})


_RUNS = {'unique': True, 'item': _run}


@_section
class GridSettings:
    """The paper grid (bnonly.paper.grid): its cells, and its own copy of the recipe, so that experiments on
    the single run never change a grid cell. The recipe's BatchNorm init is the paper's; a run sets another
    with a variant token (``-fixed``: γ = 1, β = 0, Figure 1's cells)."""
    dataset: str = field(metadata={'choices': vocabulary.DATASETS})
    data: DataSettings
    runs: tuple[str, ...] = field(metadata=_RUNS)
    seeds: tuple[int, ...] = field(metadata={'minimum': 0, 'unique': True})
    analyze_runs: tuple[str, ...] = field(metadata=_RUNS)
    model: ModelSettings = field(metadata={'exclude': ('batchnorm_init',)})
    train: TrainSettings
    analyze: AnalyzeSettings


@_section
class FiguresSettings:
    """Drawing the grid's figures (bnonly.paper.figures); changing these reruns only the figure stages."""
    dpi: int = field(default=150, metadata={'minimum': 50, 'maximum': 1200})
    histogram_bins: int = field(default=40, metadata={'minimum': 2})  # Figure 4
    gamma_thresholds: tuple[float, ...] = field(  # Figure 5
        default=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
        metadata={'minimum': 0, 'strict': True, 'unique': True})


@_section
class ParamsFile(RunSettings):
    """A whole params file. Every key is optional here: a stage requires what it reads (``require``,
    ``section_values``). params.yaml holds the single run's sections, grid.yaml the grid's and the figures'."""
    data: DataSettings
    model: ModelSettings
    train: TrainSettings
    analyze: AnalyzeSettings
    grid: GridSettings
    figures: FiguresSettings


@functools.cache
def _fields(cls) -> dict[str, tuple[dataclasses.Field, object]]:
    """Field name -> (field, resolved type) of a settings dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def choices(cls, name: str) -> tuple:
    """The values the field ``name`` of ``cls`` allows."""
    return tuple(_fields(cls)[name][0].metadata['choices'])


def default(cls, name: str):
    """The default of the field ``name`` of ``cls``."""
    value = _fields(cls)[name][0].default
    if value is dataclasses.MISSING:
        raise KeyError(f'{cls.__name__}.{name} has no default')
    return value


def _check_number(key: str, value, *, integer: bool, meta: Mapping) -> None:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f'{key}: expected {"an integer" if integer else "a number"}, got {value!r}')
    if value != value or value in (float('inf'), float('-inf')):
        raise ConfigError(f'{key}: expected a finite number, got {value!r}')
    minimum, strict, maximum = meta.get('minimum'), meta.get('strict', False), meta.get('maximum')
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ConfigError(f'{key}: must be {">" if strict else ">="} {minimum}, got {value!r}')
    if maximum is not None and value > maximum:
        raise ConfigError(f'{key}: must be <= {maximum}, got {value!r}')


def _check_choice(key: str, value, meta: Mapping, *, also_bool: bool, nullable: bool) -> None:
    """A string among ``meta['choices']`` (true and false also allowed where the type admits a bool)."""
    allowed = meta.get('choices')
    if allowed is None:
        if not isinstance(value, str):
            raise ConfigError(f'{key}: expected {meta.get("what", "a string")}{" or null" if nullable else ""}, '
                              f'got {value!r}')
        return
    if value not in allowed:
        valid = ', '.join((('false', 'true') if also_bool else ()) + tuple(map(str, allowed)))
        raise ConfigError(f'{key}: {value!r} is not valid; valid: {valid}')


def _check_list(key: str, value, item_type, meta: Mapping) -> None:
    non_empty = meta.get('non_empty', True)
    if not isinstance(value, (list, tuple)) or (non_empty and not value):
        raise ConfigError(f'{key}: expected a {"non-empty " if non_empty else ""}list, got {value!r}')
    for index, item in enumerate(value):
        if 'item' in meta:
            meta['item'](f'{key}[{index}]', item)
        else:
            _check_value(f'{key}[{index}]', item, item_type, meta)
    if meta.get('unique'):
        items = list(value)
        repeated = sorted({str(item) for item in items if items.count(item) > 1})
        if repeated:
            raise ConfigError(f'{key}: repeated {", ".join(repeated)}')


def _check_value(key: str, value, hint, meta: Mapping) -> None:
    """Check one value against a field's type and metadata; the errors name ``key``."""
    nullable = also_bool = False
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        members = typing.get_args(hint)
        nullable, also_bool = type(None) in members, bool in members
        if (nullable and value is None) or (also_bool and isinstance(value, bool)):
            return
        (hint,) = [m for m in members if m not in (type(None), bool)]
    if dataclasses.is_dataclass(hint):
        _check_section(hint, value, f'{key}.', meta.get('exclude', ()))
    elif typing.get_origin(hint) is tuple:
        _check_list(key, value, typing.get_args(hint)[0], meta)
    elif hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f'{key}: expected true or false, got {value!r}')
    elif hint in (int, float):
        _check_number(key, value, integer=hint is int, meta=meta)
    elif hint is str:
        _check_choice(key, value, meta, also_bool=also_bool, nullable=nullable)
    else:
        raise TypeError(f'{key}: no rule for fields of type {hint!r}')


def _check_section(cls, params, prefix: str = '', exclude=()) -> None:
    if not isinstance(params, dict):
        raise ConfigError(f'{prefix.rstrip(".") or "params"}: expected a mapping, got {params!r}')
    known = {name: entry for name, entry in _fields(cls).items() if name not in exclude}
    for key, value in params.items():
        full = f'{prefix}{key}'
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f'; did you mean {prefix + close[0]!r}?' if close else ''
            raise ConfigError(f'unknown params key {full!r}{hint} valid keys here: {", ".join(known)}')
        rule, hint_type = known[key]
        _check_value(full, value, hint_type, rule.metadata)


def validate(params: dict) -> None:
    """Check every key and value of a params file's content (``load_params`` does this on reading)."""
    _check_section(ParamsFile, params)


def check_settings(settings, prefix: str = '') -> None:
    """Check the values of a settings dataclass built in code (not read from a file) as a file's would be."""
    params = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    _check_section(type(settings), params, prefix)


class Params(dict):
    """A params file's content as ``load_params`` returns it: a plain dict that remembers where it came from, so
    that ``require`` can name the file a missing key belongs in."""
    __slots__ = ('source',)

    def __init__(self, content: dict, source: str):
        super().__init__(content)
        self.source = source


# Written back as the mapping it is (a copy of what load_params read is still a Params).
yaml.SafeDumper.add_representer(Params, yaml.SafeDumper.represent_dict)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's report on one line: where (1-based line and column) and what."""
    mark = getattr(error, 'problem_mark', None) or getattr(error, 'context_mark', None)
    where = f'line {mark.line + 1}, column {mark.column + 1}: ' if mark is not None else ''
    what = getattr(error, 'problem', None) or str(error)
    return ' '.join(f'{where}{what}'.split())


def load_params(path: str | Path = 'params.yaml', overrides: list[str] = ()) -> dict:
    """Read and validate a params file with a safe YAML loader.

    ``overrides`` are ``dotted.key=value`` strings (values parsed as YAML scalars or lists, never evaluated),
    applied before validation: how a paper-grid cell sets its architecture, trainable set and seed.

    Every error is one ``ConfigError`` line that starts with the file (and the overrides, when one of them may
    be the cause): unreadable YAML (a truncated file, a bad indent, a tag that would build an object) names
    the line and column; a bad value names the key and what is valid.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'{path}: params file not found')
    try:
        with path.open() as handle:
            content = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise ConfigError(f'{path}: not valid YAML: {_yaml_problem(error)}') from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f'{path}: unreadable ({error})') from error
    params = {} if content is None else content
    source = f'{path} with {" ".join(overrides)}' if overrides else str(path)
    try:
        for override in overrides:
            _apply_override(params, override)
        validate(params)
    except ConfigError as error:
        raise ConfigError(f'{source}: {error}') from None
    return Params(params, str(path))


def _apply_override(params, override: str) -> None:
    key, sep, text = override.partition('=')
    if not sep or not key:
        raise ConfigError(f'override {override!r}: expected dotted.key=value')
    if not isinstance(params, dict):
        return  # validate names what the file holds instead of a mapping
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f'override {override!r}: not a YAML value: {_yaml_problem(error)}') from None
    *parents, leaf = key.split('.')
    node = params
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f'override {override!r}: {part!r} is not a section')
    node[leaf] = value


def require(params: dict, *keys: str) -> None:
    """Fail clearly if a dotted key a stage needs is absent (naming the file, for what ``load_params`` read)."""
    for dotted in keys:
        node = params
        for part in dotted.split('.'):
            if not isinstance(node, dict) or part not in node:
                where = f'{params.source}: ' if isinstance(params, Params) else ''
                raise ConfigError(f'{where}params key {dotted!r} is missing')
            node = node[part]


def required_keys(cls) -> tuple[str, ...]:
    """The fields of ``cls`` without a default: the keys a stage reading that section needs."""
    return tuple(name for name, (f, _) in _fields(cls).items()
                 if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def section_values(cls, params: dict, section: str | None = None) -> dict:
    """The values of ``cls``'s fields from ``params[section]`` (the top level when None): a key that is absent
    gets its field's default, or is an error naming it when the field has none; lists become tuples where the
    field is a tuple (so settings compare and hash)."""
    node = params if section is None else (params.get(section) or {})
    prefix = '' if section is None else f'{section}.'
    require(params, *(f'{prefix}{name}' for name in required_keys(cls)))
    values = {}
    for name, (f, hint) in _fields(cls).items():
        if name not in node:
            continue  # its default
        value = node[name]
        values[name] = tuple(value) if typing.get_origin(hint) is tuple and isinstance(value, list) else value
    return values


def model_keywords(values: Mapping) -> dict:
    """The ``create_model`` keywords beyond the paper's network (fields marked ``model_keyword``) among
    ``values`` (a run's settings, or a checkpoint's fields), each only where it is present and not its
    default: a paper network is built, fingerprinted and saved exactly as before such settings existed."""
    return {name: values[name] for name, (f, _) in _fields(ModelSettings).items()
            if f.metadata.get('model_keyword') and name in values and values[name] != f.default}


def _required_in(params: dict) -> list[str]:
    """The dotted keys a stage reading what ``params`` holds will require: each section present, completely
    (nested sections too), and all the run keys once one is there."""
    def missing(cls, node: dict, prefix: str, exclude=()) -> list[str]:
        keys = []
        for name, (f, hint) in _fields(cls).items():
            if name in exclude:
                continue
            if name not in node:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    keys.append(f'{prefix}{name}')
                continue
            section = next((t for t in typing.get_args(hint) or (hint,) if dataclasses.is_dataclass(t)), None)
            if section is not None and isinstance(node[name], dict):
                keys += missing(section, node[name], f'{prefix}{name}.', f.metadata.get('exclude', ()))
        return keys

    run_keys = list(_fields(RunSettings))
    keys = run_keys if any(key in params for key in run_keys) else []
    for name, (f, hint) in _fields(ParamsFile).items():
        if name in params and dataclasses.is_dataclass(hint) and isinstance(params[name], dict):
            keys += missing(hint, params[name], f'{name}.', f.metadata.get('exclude', ()))
    return keys


def main(argv: list[str] | None = None) -> int:
    """``python -m bnonly.config [FILE ...]``: check params files (default: params.yaml and grid.yaml) as the
    stages will, names included; one line per file. For the errors DVC meets first: dvc.yaml reads grid.yaml
    itself (its ``vars``), and its messages for a broken grid.yaml may name neither the file nor the key."""
    import sys
    paths = argv if argv is not None else sys.argv[1:]
    failed = False
    for path in paths or ['params.yaml', 'grid.yaml']:
        try:
            params = load_params(path)
            require(params, *_required_in(params))
        except ConfigError as error:
            print(f'error: {error}', file=sys.stderr)
            failed = True
        else:
            print(f'{path}: ok')
    return 1 if failed else 0


if __name__ == '__main__':
    raise SystemExit(main())
