"""Each stage's deps in dvc.yaml are the library files its script imports: no more (a docstring edit elsewhere
reruns nothing) and no less (an edit to a module a stage runs reruns that stage).

The closure is what importing the stage script loads, in a fresh interpreter: every ``bnonly`` module in
``sys.modules`` afterwards. A folder dep covers the files under it and must hold at least one of them.
"""
import json
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


def stages() -> dict[str, dict]:
    """Stage name -> definition, with foreach/matrix templates taken once (they share their deps' code part)."""
    return {name: stage.get('do', stage) for name, stage in yaml.safe_load((PROJECT / 'dvc.yaml').read_text())
            ['stages'].items()}


def closure(script: str) -> set[str]:
    result = subprocess.run([sys.executable, '-c', CLOSURE, script], cwd=PROJECT, capture_output=True, text=True,
                            check=True)
    return set(json.loads(result.stdout))


@pytest.mark.parametrize('name', sorted(stages()))
def test_deps_are_the_code_the_stage_runs(name):
    stage = stages()[name]
    script = re.search(r'python (stages/\w+\.py)', stage['cmd']).group(1)
    code = {dep for dep in stage['deps'] if dep.startswith('src/')}
    imported = closure(script)
    assert script in stage['deps']
    uncovered = {f for f in imported if not any(f == dep or f.startswith(dep.rstrip('/') + '/') for dep in code)}
    assert not uncovered, f'{name} imports files its deps do not list: {sorted(uncovered)}'
    unused = {dep for dep in code if not any(f == dep or f.startswith(dep.rstrip('/') + '/') for f in imported)}
    assert not unused, f'{name} lists deps it never imports: {sorted(unused)}'


def test_report_stages_depend_on_no_engine_code():
    """Rewording a docstring in the training engine reruns no report stage."""
    for name in ('grid_recipe', 'grid_aggregate', 'figure', 'claims'):
        assert not [dep for dep in stages()[name]['deps'] if dep.startswith(('src/bnonly/training',
                                                                               'src/bnonly/models'))], name
