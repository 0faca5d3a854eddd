"""bnonly.vocabulary: the names a params file chooses from, in one torch-free module that the modules
implementing them agree with, and that params.yaml's comments list."""
import ast
import dataclasses
import json
import re
import subprocess
import sys
import typing

import pytest
import timm
import torch

from bnonly import vocabulary
from bnonly.settings import AnalyzeSettings, ModelSettings, RunSettings, TrainSettings, choices
from dvc_repo import PROJECT


def test_the_config_checks_every_name_without_torch(tmp_path):
    """In a fresh interpreter (this one imported torch in conftest.py): the project files load, and a name
    typo is refused, with neither torch nor timm imported."""
    typo = tmp_path / 'grid.yaml'
    typo.write_text((PROJECT / 'grid.yaml').read_text().replace('cifar_resnet14-bn_only,', 'cifar_resnt14-bn_only,', 1))
    code = (
        'import json, sys\n'
        'import bnonly.vocabulary\n'
        'from bnonly.config import ConfigError, load_params\n'
        'load_params("params.yaml"), load_params("grid.yaml")\n'
        'try:\n'
        f'    load_params({str(typo)!r})\n'
        '    error = None\n'
        'except ConfigError as caught:\n'
        '    error = str(caught)\n'
        'print(json.dumps([error, [m for m in ("torch", "timm") if m in sys.modules]]))\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    error, heavy = json.loads(result.stdout.splitlines()[-1])
    assert heavy == []
    assert error == f"{typo}: grid.runs[1] (arch): 'cifar_resnt14' is not valid; valid: " \
                    f"{', '.join(vocabulary.ARCHITECTURES)}"


def test_the_vocabulary_imports_only_the_standard_library():
    imported = set()
    for node in ast.walk(ast.parse((PROJECT / 'src/bnonly/vocabulary.py').read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split('.')[0])
    assert imported and imported <= set(sys.stdlib_module_names), imported


def test_run_names_can_be_split_on_dashes():
    """A run is ARCH-TRAINABLE[-VARIANT]... (vocabulary.parse_run): no name in it may contain a '-'."""
    named = vocabulary.ARCHITECTURES + vocabulary.TRAINABLE_SETS + vocabulary.NORM_LAYERS + \
        vocabulary.NORM_INITS + vocabulary.WEIGHT_INITS
    assert not [name for name in named if '-' in name]


def test_keyed_refuses_a_table_that_drifted():
    assert vocabulary.keyed(('a', 'b'), {'a': 1, 'b': 2}) == {'a': 1, 'b': 2}
    for table in ({'a': 1}, {'a': 1, 'b': 2, 'c': 3}, {'b': 2, 'a': 1}):
        with pytest.raises(TypeError, match="are not the vocabulary's a, b"):
            vocabulary.keyed(('a', 'b'), table)


def test_every_architecture_is_in_timms_registry():
    import bnonly.models  # registers ours
    registered = set(timm.list_models())
    assert [name for name in vocabulary.ARCHITECTURES if name not in registered] == []
    # ... and we register nothing the vocabulary does not name
    assert set(timm.list_models('cifar_*')) == set(vocabulary.CIFAR_DEEP + vocabulary.CIFAR_WIDE)
    assert set(timm.list_models('vit_fmnist*')) == set(vocabulary.VIT_ARCHITECTURES)
    assert bnonly.models.ARCHITECTURES is vocabulary.ARCHITECTURES


def test_the_owners_tables_are_keyed_by_the_vocabulary():
    from bnonly import initialization, trainable
    from bnonly.data import datasets
    from bnonly.training import numerics
    assert tuple(trainable._TRAINED_CATEGORIES) == vocabulary.TRAINABLE_SETS
    assert tuple(datasets.MODULES) == vocabulary.DATASETS
    assert tuple(initialization._WEIGHT_INIT) == vocabulary.WEIGHT_INITS
    assert tuple(initialization._NORM_INIT) == vocabulary.NORM_INITS
    assert tuple(numerics._MEMORY_FORMAT) == vocabulary.MEMORY_FORMATS


def test_the_owners_functions_take_every_name_and_refuse_others():
    from bnonly.analysis.dead_relu import ReluZeroCounts
    from bnonly.models.cifar_resnet import make_norm
    from bnonly.training import compiling, numerics
    for name in vocabulary.NORM_LAYERS:
        assert isinstance(make_norm(name, 16), torch.nn.Module)
    for name in vocabulary.PRECISIONS:
        numerics.autocast(torch.device('cpu'), name)
    for name in vocabulary.MEMORY_FORMATS:
        assert isinstance(numerics.memory_format(name), torch.memory_format)
    for name in vocabulary.COMPILE_MODES:
        assert compiling.compile_mode(name) == name
    counts = ReluZeroCounts('act', 'stem', torch.zeros(2, 3, 3, dtype=torch.int64), inputs=4)
    assert [counts.zero_probability(name).shape for name in vocabulary.GRANULARITIES] == [(2,), (18,)]
    for refuse in (lambda: make_norm('nonorm', 16), lambda: numerics.autocast(torch.device('cpu'), 'fp16'),
                   lambda: numerics.memory_format('nhwc'), lambda: compiling.compile_mode('fast'),
                   lambda: counts.zero_probability('unit')):
        with pytest.raises(ValueError, match='valid|one of'):
            refuse()


# params.yaml's comments list a key's choices as `key: value  # a | b (why) | c{1,2,...,9}`, continued on
# lines of their own that start with `# |`; a {..., ...} range elides the middle of a numbered family.
_CHOICES_SECTIONS = {None: RunSettings, 'model': ModelSettings, 'train': TrainSettings, 'analyze': AnalyzeSettings}


def _comments(text: str) -> dict[str, str]:
    """Dotted key -> its comment, continuation lines joined, for each key of params.yaml with a comment."""
    comments, section, key = {}, None, None
    for line in text.splitlines():
        entry = re.fullmatch(r'( *)(\w+):([^#]*)(?:#(.*))?', line)
        continued = re.fullmatch(r' *# *(\|.*)', line)
        if continued and key:
            comments[key] += ' ' + continued.group(1)
        elif entry:
            indent, name, value, comment = entry.groups()
            if not indent:
                section = name if not value.strip() else None
            key = f'{section}.{name}' if indent else name
            if comment:
                comments[key] = comment
        else:
            key = None
    return comments


def _listed(comment: str, vocabulary_names: tuple) -> list[str]:
    """The names a choices comment lists: the first word of each alternative, ranges expanded."""
    alternatives = re.sub(r'\([^)]*\)', '', comment).split('|')
    alternatives[0] = alternatives[0].rpartition(': ')[2]  # after a description: 'torch.compile the model: false'
    names = []
    for alternative in alternatives:
        word = re.match(r'\s*([\w.{},-]+)', alternative).group(1)
        brace = re.fullmatch(r'(\w*)\{([\w.,]+)\}(\w*)', word)
        if not brace:
            names.append(word)
            continue
        prefix, items, suffix = brace.group(1), brace.group(2).split(','), brace.group(3)
        family = [name for name in vocabulary_names if re.fullmatch(rf'{prefix}\d+{suffix}', name)]
        spelled = [f'{prefix}{item}{suffix}' for item in items if item != '...']
        if '...' in items:
            assert family and [family[0], family[-1]] == [spelled[0], spelled[-1]], (word, family)
            names += family
        else:
            names += spelled
    return names


def _choice_fields():
    for section, settings in _CHOICES_SECTIONS.items():
        for field in dataclasses.fields(settings):
            if 'choices' in field.metadata:
                also_bool = bool in typing.get_args(typing.get_type_hints(settings)[field.name])
                key = f'{section}.{field.name}' if section else field.name
                yield key, (('false', 'true') if also_bool else ()) + choices(settings, field.name)


@pytest.mark.parametrize('key, allowed', list(_choice_fields()), ids=[key for key, _ in _choice_fields()])
def test_params_yaml_lists_exactly_the_vocabularys_choices(key, allowed):
    comments = _comments((PROJECT / 'params.yaml').read_text())
    assert key in comments, f'params.yaml: {key} has no comment listing its choices'
    listed = _listed(comments[key], allowed)
    assert len(listed) == len(set(listed)) and set(listed) == set(allowed), (key, listed)


def test_the_comment_reader_sees_a_missing_choice():
    comment = _comments('train:\n  compile: false  # the model: false | true | default (x)\n')['train.compile']
    assert _listed(comment, ()) == ['false', 'true', 'default']
    comment = _comments('arch: a  # cifar_resnet{14,...,866} | resnet18\n    # | vit_fmnist_tiny\n')['arch']
    assert _listed(comment, vocabulary.ARCHITECTURES) == list(vocabulary.CIFAR_DEEP) + ['resnet18', 'vit_fmnist_tiny']
