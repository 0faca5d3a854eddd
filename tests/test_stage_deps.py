"""Each stage's deps in dvc.yaml (and in extensions/dvc.yaml) are the library files its script imports: no
more (a docstring edit elsewhere reruns nothing) and no less (an edit to a module a stage runs reruns that stage).

The closure is what importing the stage script loads, in a fresh interpreter: every ``bnonly`` module in
``sys.modules`` afterwards. A folder dep covers the files under it and must hold at least one of them. A
pipeline in a subfolder runs its stages there, so its paths are read relative to that folder.
"""
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
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location('stage', sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted({os.path.relpath(m.__file__) for name, m in list(sys.modules.items())
                         if name.split('.')[0] == 'bnonly' and getattr(m, '__file__', None)})))
'''
PIPELINES = ('dvc.yaml', 'extensions/dvc.yaml')


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
            found[f'{pipeline}:{name}'] = {'script': _from_project(pipeline, script),
                                           'deps': [_from_project(pipeline, dep) for dep in stage['deps']]}
    return found


def closure(script: str) -> set[str]:
    result = subprocess.run([sys.executable, '-c', CLOSURE, script], cwd=PROJECT, capture_output=True, text=True,
                            check=True)
    return set(json.loads(result.stdout))


@pytest.mark.parametrize('name', sorted(stages()))
def test_deps_are_the_code_the_stage_runs(name):
    stage = stages()[name]
    script = stage['script']
    code = {dep for dep in stage['deps'] if dep.startswith('src/')}
    imported = closure(script)
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
