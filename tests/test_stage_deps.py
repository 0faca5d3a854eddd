"""Each stage's deps in every pipeline file are the library files its script imports: no more (a docstring edit
elsewhere reruns nothing) and no less (an edit to a module a stage runs reruns that stage).

The pipeline files are generated with these deps (bnonly.pipelines, from bnonly.stage_deps' closure); the tests
here read the committed files and check them against the closure on their own terms: a folder dep covers the
files under it and must hold at least one of them. A pipeline in a subfolder runs its stages there, so its
paths are read relative to that folder.

Training and analysis share only the layers below both (``bnonly.norms``, ``bnonly.evaluation``, the models,
the data): an edit to the analysis reruns no training cell, and an edit to the optimiser no analysis. The
claims and figure stages serve every grid but run, and list, only the table their ``--table`` names: an edit to
the study reruns none of the paper's stages.
"""
import ast
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bnonly.pipelines import PIPELINES as DECLARED
from bnonly.registry import Registry
from bnonly.stage_deps import (CHOSEN, DATA_FILES, ON_DEMAND, as_deps, chosen, closure, covers, deferred_imports,
                               hashed_files)

PROJECT = Path(__file__).resolve().parents[1]
PIPELINES = tuple(p.path for p in DECLARED)
TRAINING_STAGES = ('train', 'grid_train')
REPORT_SCRIPTS = {'claims': 'stages/claims.py', 'figure': 'stages/figures.py'}
# What a pipeline's report stages must not list: another grid's package and its folder (the paper's package is
# the machinery the other grids stand on).
# Each grid beside the root's has its own package and folder (bnonly.<folder>, <folder>/); the paper's modules are
# the machinery every grid shares.
FOREIGN = {p.path: tuple(path for other in DECLARED if other.folder not in ('.', p.folder)
                         for path in (f'src/bnonly/{other.folder}', f'{other.folder}/'))
           for p in DECLARED}
REGISTRIES = {'claims': 'bnonly.claims_tables.TABLES', 'figure': 'bnonly.figure_sets.FIGURE_SETS'}
ANALYSIS_STAGES = ('analyze', 'grid_analyze')


def _registry(name: str) -> Registry:
    """The registry ``name`` ('<module>.<name>', as ``CHOSEN`` names it)."""
    module, _, attribute = name.rpartition('.')
    return getattr(importlib.import_module(module), attribute)


def _entry_file(stage: str, table: str) -> str:
    """The file (relative to the project root) of the module that declares ``table`` for the report stage
    ``stage``."""
    return os.path.relpath(importlib.util.find_spec(_registry(REGISTRIES[stage]).modules[table]).origin, PROJECT)


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


def test_every_deferred_import_of_a_stage_script_is_known():
    """A stage script's import inside a function is invisible to the closure unless ON_DEMAND names it."""
    for stage in stages().values():
        assert deferred_imports(stage['script']) <= set(ON_DEMAND), stage['script']


@pytest.mark.parametrize('name', sorted(stages()))
def test_deps_are_the_code_the_stage_runs(name):
    stage = stages()[name]
    script = stage['script']
    # the library, and the package data its modules read (a data file may live outside src/: the study's
    # registration)
    code = {dep for dep in stage['deps'] if dep.startswith('src/') or dep in DATA_FILES.values()}
    imported = closure(script, stage['cmd'])
    assert script in stage['deps']
    uncovered = {f for f in imported if not any(covers(dep, f) for dep in code)}
    assert not uncovered, f'{name} imports files its deps do not list: {sorted(uncovered)}'
    unused = {dep for dep in code if not any(covers(dep, f) for f in imported)}
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


def test_a_folder_dep_stands_for_every_file_in_it_or_the_files_are_listed():
    """A closure is written with a folder only when every file DVC hashes in it is in the closure."""
    models, analysis = hashed_files('src/bnonly/models'), hashed_files('src/bnonly/analysis')
    assert 'src/bnonly/analysis/plots.py' in analysis and 'src/bnonly/models/__init__.py' in models
    assert as_deps(models | {'src/bnonly/norms.py'}) == ['src/bnonly/models', 'src/bnonly/norms.py']
    assert as_deps(analysis | models) == ['src/bnonly/analysis', 'src/bnonly/models']
    fewer = analysis - {'src/bnonly/analysis/plots.py'}
    assert as_deps(fewer) == sorted(fewer)


def test_a_flag_that_skips_an_import_inside_a_function_leaves_the_module_out():
    flag, path = ON_DEMAND['bnonly.analysis.plots'], 'src/bnonly/analysis/plots.py'
    assert path in closure('stages/analyze.py', 'python stages/analyze.py')
    assert path not in closure('stages/analyze.py', f'python stages/analyze.py {flag}')


@pytest.mark.parametrize('pipeline', PIPELINES)
def test_report_stages_list_no_other_grids_code(pipeline):
    """The claims and figure stages load their own table from the registries (bnonly.claims_tables,
    bnonly.figure_sets), so the paper's depend on neither the study's modules and registration nor the
    extensions' modules."""
    table = next(p.table for p in DECLARED if p.path == pipeline)
    for name in REPORT_SCRIPTS:
        deps = stages()[f'{pipeline}:{name}']['deps']
        assert not [dep for dep in deps if dep.startswith(FOREIGN[pipeline])], (pipeline, name)
        # and they do list their own table's module, which only the registry imports
        assert any(covers(dep, _entry_file(name, table)) for dep in deps), (pipeline, name)


# Runs a report script's main on inputs that do not exist, in a fresh interpreter: it parses its options and
# loads its table, then stops (a missing file, or an unknown figure); prints the library files loaded by then.
_RUN_REPORT = '''
import json, os, runpy, sys
try:
    runpy.run_path(sys.argv[1], run_name='imported')['main'](sys.argv[2:])
except SystemExit:
    pass
print(json.dumps(sorted({os.path.relpath(m.__file__) for name, m in list(sys.modules.items())
                         if name.split('.')[0] == 'bnonly' and getattr(m, '__file__', None)})))
'''


@pytest.mark.parametrize('table', [p.table for p in DECLARED])
@pytest.mark.parametrize('name', sorted(REPORT_SCRIPTS))
def test_a_report_script_loads_what_its_closure_lists(name, table, tmp_path):
    """Running, not only importing: listing the tables for ``--table``'s choices and loading the one named
    imports exactly the closure's modules, none of another table's."""
    script = REPORT_SCRIPTS[name]
    missing = str(tmp_path / 'missing')
    args = ['--table', table, '--summary', missing, '--summary-json', missing]
    args += ['--cells', missing, '--out', missing, '--csv', missing] if name == 'claims' else \
        ['--figure', 'none', '--out', missing]
    result = subprocess.run([sys.executable, '-c', _RUN_REPORT, script, *args], cwd=PROJECT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    listed = closure(script, f'python {script} {" ".join(args)}')
    assert _entry_file(name, table) in loaded
    assert loaded == listed - set(DATA_FILES.values())
    pipeline = next(p.path for p in DECLARED if p.table == table)
    assert not [path for path in loaded if path.startswith(FOREIGN[pipeline])], sorted(loaded)


def test_every_registry_is_known_to_the_closure():
    """A registry CHOSEN does not name would load its entry unseen by the closure; each entry is declared
    under the name it is registered by."""
    declared = set()
    for path in sorted((PROJECT / 'src').rglob('*.py')):
        module = '.'.join(path.relative_to(PROJECT / 'src').with_suffix('').parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                    getattr(node.value.func, 'id', None) == Registry.__name__:
                declared.update(f'{module}.{target.id}' for target in node.targets)
    assert declared == set(CHOSEN) == set(REGISTRIES.values())
    for name in CHOSEN:
        registry = _registry(name)
        assert isinstance(registry, Registry) and set(registry) == {p.table for p in DECLARED}, name
        assert all(entry.name == key for key, entry in registry.items()), name


def test_a_command_naming_no_entry_of_its_registry_has_no_closure():
    files = {'src/bnonly/claims_tables.py'}
    assert chosen(files, 'python stages/claims.py --table=study') == ('bnonly.study.claims',)
    for cmd in ('python stages/claims.py', 'python stages/claims.py --table nowhere'):
        with pytest.raises(ValueError, match='names none of its entries with --table'):
            chosen(files, cmd)
    assert chosen({'src/bnonly/timing.py'}, 'python stages/aggregate.py') == ()
