"""Each stage's deps in dvc.yaml (and in extensions/dvc.yaml) are the library files its script imports: no
more (a docstring edit elsewhere reruns nothing) and no less (an edit to a module a stage runs reruns that stage).

The closure is what importing the stage script loads, in a fresh interpreter: every ``bnonly`` module in
``sys.modules`` afterwards, plus the modules the script imports inside a function (``ON_DEMAND``) when the
stage's command does not switch them off. A module's package data (``DATA_FILES``) counts with the module.
A folder dep covers the files under it and must hold at least one of them. A pipeline in a subfolder runs
its stages there, so its paths are read relative to that folder.

Training and analysis share only the layers below both (``bnonly.norms``, ``bnonly.evaluation``, the models,
the data): an edit to the analysis reruns no training cell, and an edit to the optimiser no analysis.
"""
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
CLOSURE = '''
import importlib, importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location('stage', sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
for module in sys.argv[2:]:
    importlib.import_module(module)
print(json.dumps(sorted({os.path.relpath(m.__file__) for name, m in list(sys.modules.items())
                         if name.split('.')[0] == 'bnonly' and getattr(m, '__file__', None)})))
'''
PIPELINES = ('dvc.yaml', 'extensions/dvc.yaml')
# Modules a stage script imports inside a function, each with the command-line flag that skips that import.
ON_DEMAND = {'bnonly.analysis.plots': '--no-plots'}
# Package data a module reads: a stage that imports the module lists the file too.
DATA_FILES = {'src/bnonly/data/integrity.py': 'src/bnonly/data/checksums.json'}
TRAINING_STAGES = ('train', 'grid_train', 'grid_train_fixed')
ANALYSIS_STAGES = ('analyze', 'grid_analyze')


def _from_project(pipeline: str, path: str) -> str:
    """A path written in ``pipeline`` (relative to its folder, the stages' working directory), relative to the
    project root."""
    return os.path.normpath(os.path.join(os.path.dirname(pipeline), path))


def stages() -> dict[str, dict]:
    """'<pipeline>:<stage name>' -> definition, foreach/matrix templates taken once (they share their deps'
    code part), with the command's script and the deps as paths relative to the project root."""
    found = {}
    for pipeline in PIPELINES:
        for name, stage in yaml.safe_load((PROJECT / pipeline).read_text())['stages'].items():
            stage = stage.get('do', stage)
            script = re.search(r'python (\S+\.py)', stage['cmd']).group(1)
            found[f'{pipeline}:{name}'] = {'script': _from_project(pipeline, script), 'cmd': stage['cmd'],
                                           'deps': [_from_project(pipeline, dep) for dep in stage['deps']]}
    return found


def deferred_imports(script: str) -> set[str]:
    """The ``bnonly`` modules ``script`` imports inside a function (``from bnonly.x import y`` or ``import``)."""
    tree = ast.parse((PROJECT / script).read_text())
    nested = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split('.')[0] == 'bnonly':
                nested.add(node.module)
            elif isinstance(node, ast.Import):
                nested.update(alias.name for alias in node.names if alias.name.split('.')[0] == 'bnonly')
    return nested


def closure(script: str, cmd: str = '') -> set[str]:
    """The library files running ``script`` with the command line ``cmd`` imports."""
    on_demand = [module for module in sorted(deferred_imports(script)) if ON_DEMAND[module] not in cmd.split()]
    result = subprocess.run([sys.executable, '-c', CLOSURE, script, *on_demand], cwd=PROJECT, capture_output=True,
                            text=True, check=True)
    modules = set(json.loads(result.stdout))
    return modules | {DATA_FILES[module] for module in modules & set(DATA_FILES)}


def test_every_deferred_import_of_a_stage_script_is_known():
    """A stage script's import inside a function is invisible to the closure unless ON_DEMAND names it."""
    for stage in stages().values():
        assert deferred_imports(stage['script']) <= set(ON_DEMAND), stage['script']


@pytest.mark.parametrize('name', sorted(stages()))
def test_deps_are_the_code_the_stage_runs(name):
    stage = stages()[name]
    script = stage['script']
    code = {dep for dep in stage['deps'] if dep.startswith('src/')}
    imported = closure(script, stage['cmd'])
    assert script in stage['deps']
    uncovered = {f for f in imported if not any(f == dep or f.startswith(dep.rstrip('/') + '/') for dep in code)}
    assert not uncovered, f'{name} imports files its deps do not list: {sorted(uncovered)}'
    unused = {dep for dep in code if not any(f == dep or f.startswith(dep.rstrip('/') + '/') for f in imported)}
    assert not unused, f'{name} lists deps it never imports: {sorted(unused)}'


@pytest.mark.parametrize('pipeline', PIPELINES)
def test_report_stages_depend_on_no_engine_code(pipeline):
    """Rewording a docstring in the training engine reruns no report stage."""
    for name in ('grid_recipe', 'grid_aggregate', 'figure', 'claims'):
        assert not [dep for dep in stages()[f'{pipeline}:{name}']['deps']
                    if dep.startswith(('src/bnonly/training', 'src/bnonly/models'))], (pipeline, name)


def test_the_extensions_pipeline_runs_the_root_scripts_on_its_own_outputs():
    """Its scripts and library are the root's; its stages write inside extensions/ only."""
    ext = {name: stage for name, stage in stages().items() if name.startswith('extensions/')}
    assert ext and all(stage['script'].startswith('stages/') for stage in ext.values())
    definitions = yaml.safe_load((PROJECT / 'extensions/dvc.yaml').read_text())['stages']
    for name, stage in definitions.items():
        stage = stage.get('do', stage)
        for section in ('outs', 'metrics', 'plots'):
            for out in stage.get(section, []):
                path = next(iter(out)) if isinstance(out, dict) else out
                assert _from_project('extensions/dvc.yaml', path).startswith('extensions/'), (name, path)


@pytest.mark.parametrize('pipeline', PIPELINES)
def test_training_and_analysis_share_no_code_above_their_common_floor(pipeline):
    """A training cell lists no analysis file, and an analysis cell no training file beyond the two engine
    helpers its script and the data loaders import (the numerics settings and the host-memory check)."""
    everything = stages()
    training_stages = [name for name in TRAINING_STAGES if f'{pipeline}:{name}' in everything]
    analysis_stages = [name for name in ANALYSIS_STAGES if f'{pipeline}:{name}' in everything]
    assert 'grid_train' in training_stages and 'grid_analyze' in analysis_stages
    for name in training_stages:
        deps = everything[f'{pipeline}:{name}']['deps']
        assert 'src/bnonly/training' in deps, (pipeline, name)
        assert not [dep for dep in deps if dep.startswith('src/bnonly/analysis')], (pipeline, name)
    for name in analysis_stages:
        deps = everything[f'{pipeline}:{name}']['deps']
        training = {dep for dep in deps if dep.startswith('src/bnonly/training')}
        assert training <= {'src/bnonly/training/__init__.py', 'src/bnonly/training/numerics.py',
                            'src/bnonly/training/host_memory.py'}, (pipeline, name, sorted(training))
        assert any(dep.startswith('src/bnonly/analysis') for dep in deps), (pipeline, name)
