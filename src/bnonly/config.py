"""params.yaml and grid.yaml: a safe reader that checks every key and value against the schema
(``bnonly.settings``) before any work starts, and takes a stage's settings from what it read.

A misspelt key, an unknown name or a value out of range raises ``ConfigError`` naming the key and what is
valid (``_check_value`` applies each field's metadata). Values are never evaluated. ``python -m bnonly.config``
checks the project's params files as the stages will.

This module imports neither torch nor timm: every stage, the torch-free report stages included, checks every
name it reads.
"""
import dataclasses
import difflib
import numbers
import types
import typing
from collections.abc import Mapping
from pathlib import Path

import yaml

from bnonly import vocabulary
from bnonly.settings import ParamsFile, RunSettings, fields_of, is_required, required_keys
from bnonly.vocabulary import ConfigError, parse_run


def _run(key: str, value) -> None:
    """A grid run (parse_run): its variant tokens, and its arch and trainable set valid choices."""
    try:
        arch, trainable, _ = parse_run(value)
    except ConfigError as error:
        raise ConfigError(f'{key}: {error}') from None
    _check_value(f'{key} (arch)', arch, str, {'choices': vocabulary.ARCHITECTURES})
    _check_value(f'{key} (trainable)', trainable, str, {'choices': vocabulary.TRAINABLE_SETS})


_ITEMS = {'run': _run}  # a list field's ``item`` metadata: what checks each of its items


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
            _ITEMS[meta['item']](f'{key}[{index}]', item)
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
    known = {name: entry for name, entry in fields_of(cls).items() if name not in exclude}
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


def section_values(cls, params: dict, section: str | None = None) -> dict:
    """The values of ``cls``'s fields from ``params[section]`` (the top level when None): a key that is absent
    gets its field's default, or is an error naming it when the field has none; lists become tuples where the
    field is a tuple (so settings compare and hash)."""
    node = params if section is None else (params.get(section) or {})
    prefix = '' if section is None else f'{section}.'
    require(params, *(f'{prefix}{name}' for name in required_keys(cls)))
    values = {}
    for name, (f, hint) in fields_of(cls).items():
        if name not in node:
            continue  # its default
        value = node[name]
        values[name] = tuple(value) if typing.get_origin(hint) is tuple and isinstance(value, list) else value
    return values


def _required_in(params: dict) -> list[str]:
    """The dotted keys a stage reading what ``params`` holds will require: each section present, completely
    (nested sections too), and all the run keys once one is there."""
    def missing(cls, node: dict, prefix: str, exclude=()) -> list[str]:
        keys = []
        for name, (f, hint) in fields_of(cls).items():
            if name in exclude:
                continue
            if name not in node:
                if is_required(f):
                    keys.append(f'{prefix}{name}')
                continue
            section = next((t for t in typing.get_args(hint) or (hint,) if dataclasses.is_dataclass(t)), None)
            if section is not None and isinstance(node[name], dict):
                keys += missing(section, node[name], f'{prefix}{name}.', f.metadata.get('exclude', ()))
        return keys

    run_keys = list(fields_of(RunSettings))
    keys = run_keys if any(key in params for key in run_keys) else []
    for name, (f, hint) in fields_of(ParamsFile).items():
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
