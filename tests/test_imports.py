"""The stages that only read CSV, JSON and YAML files start without torch or timm (3-5 s of imports each).

Each check runs in a fresh interpreter: this test process has imported torch long before (conftest.py).
"""
import ast
import json
import os
import subprocess
import sys

import pytest

from bnonly.pipelines import PIPELINES
from dvc_repo import PROJECT

# figures and claims serve every table (bnonly.figure_sets, bnonly.claims_tables), one per pipeline
# (bnonly.pipelines), each with the first figure of its set
REPORT_STAGES = ['aggregate', 'figures', 'claims', 'grid_recipe']
TABLES = {p.table: str(p.figures[0]) for p in PIPELINES}
HEAVY = ('torch', 'timm')
# The modules that read and check params files, lowest first: each imports bnonly modules only from the layers
# below its own (the vocabulary the standard library only; tests/test_vocabulary.py), so the schema never
# depends on its reader.
LAYERS = [('bnonly.vocabulary',), ('bnonly.settings',), ('bnonly.config',)]


def run_python(code: str):
    """Run ``code`` in a fresh interpreter in the project's root; the JSON its last line of output prints."""
    result = subprocess.run([sys.executable, '-c', f'import json\n{code}'], cwd=PROJECT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def heavy_imports(code: str) -> list[str]:
    """Which of torch and timm are in sys.modules after running ``code`` in a fresh interpreter."""
    return run_python(f'{code}\nimport sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))')


def import_stage(name: str) -> str:
    # Runs the script's module body (its imports) but not its main: __name__ is not '__main__'.
    return f'import runpy; runpy.run_path({str(PROJECT / "stages" / f"{name}.py")!r}, run_name="imported")'


@pytest.mark.parametrize('stage', REPORT_STAGES)
def test_report_stage_imports_neither_torch_nor_timm(stage):
    assert heavy_imports(import_stage(stage)) == []


@pytest.mark.parametrize('table', sorted(TABLES))
def test_the_claims_and_a_figure_of_each_table_run_without_torch(table, tmp_path):
    """Running, not only importing: the claims stage and one figure of the table, in one fresh interpreter, on
    a small synthetic grid's aggregated tables (bnonly.paper.synthetic, never measurements)."""
    from bnonly.paper import aggregate
    from bnonly.paper.synthetic import write_grid
    grid = {'runs': ['cifar_resnet14-bn_only', 'cifar_resnet14-random_k'], 'seeds': [0, 1, 2], 'analyze_runs': []}
    write_grid(grid, tmp_path / 'cells')
    out = tmp_path / 'tables'
    aggregate.write(grid, tmp_path / 'cells', cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                    bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                    summary_json_path=out / 'summary.json')
    figure = TABLES[table]
    tables = ['--summary', str(out / 'summary.csv'), '--summary-json', str(out / 'summary.json')]
    claims = ['--table', table, '--cells', str(out / 'cells.csv'), *tables, '--out', str(tmp_path / 'claims.md'),
              '--csv', str(tmp_path / 'claims.csv')]
    figures = ['--table', table, '--figure', figure, *tables, '--history', str(out / 'history.csv'),
               '--params', 'grid.yaml', '--out', str(tmp_path / 'figure')]
    code = (f'import runpy\n'
            f'for script, argv in (("claims", {claims!r}), ("figures", {figures!r})):\n'
            f'    assert runpy.run_path(f"stages/{{script}}.py", run_name="imported")["main"](argv) == 0, script')
    assert heavy_imports(code) == []
    assert (tmp_path / 'claims.md').is_file() and (tmp_path / 'figure.png').is_file()


def test_the_probe_sees_torch_and_timm():
    # The census stage builds every network, so it imports both: the check above can fail.
    assert heavy_imports(import_stage('census')) == ['torch', 'timm']


def test_import_bnonly_is_light_and_its_names_load_on_use():
    assert heavy_imports('import bnonly') == []
    # One interpreter for the steps that import torch: each import costs seconds.
    steps = run_python(
        'import sys, timm, bnonly\n'
        'steps = [sorted(m for m in ("torch", "bnonly.models") if m in sys.modules),\n'
        '         "cifar_resnet110" in timm.list_models("cifar_*")]\n'
        'from bnonly import TRAINABLE_SETS, census\n'
        'steps.append([TRAINABLE_SETS[:2], callable(census), "bnonly.models" in sys.modules])\n'
        'bnonly.create_model\n'  # imports bnonly.models, which registers the CIFAR ResNets with timm
        'steps.append("cifar_resnet110" in timm.list_models("cifar_*"))\n'
        'print(json.dumps(steps))')
    # timm itself imports torch; plain `import bnonly` registers nothing, bnonly.models does.
    assert steps == [['torch'], False, [['all', 'all_but_bn'], True, False], True]


def test_training_and_analysis_do_not_import_each_other():
    """Both stand on bnonly.norms and bnonly.evaluation; neither package imports the other."""
    loaded = run_python(
        'import sys\n'
        'import bnonly.training.loop\n'
        'steps = [sorted(m for m in sys.modules if m.startswith("bnonly.analysis"))]\n'
        'for name in [m for m in sys.modules if m.startswith("bnonly")]:\n'
        '    del sys.modules[name]\n'
        'import bnonly.analysis.run, bnonly.analysis.metrics, bnonly.analysis.tables, bnonly.analysis.plots\n'
        'steps.append(sorted(m for m in sys.modules if m.startswith("bnonly.training")))\n'
        'print(json.dumps(steps))')
    assert loaded == [[], []]


def test_a_lazy_name_that_is_also_a_submodule_stays_the_name():
    """``bnonly.data.prepare`` the function and the module: importing the module first does not hide it."""
    steps = run_python(
        'import sys, bnonly.data\n'
        'steps = ["bnonly.data.loaders" in sys.modules]\n'  # the package itself loads no submodule
        'import bnonly.data.prepare\n'
        'from bnonly.data import prepare\n'
        'steps.append(callable(prepare) and not isinstance(bnonly.data.prepare, type(sys)))\n'
        'print(json.dumps(steps))')
    assert steps == [False, True]


GRID_FILES = [os.path.normpath(os.path.join(p.folder, p.grid)) for p in PIPELINES] + \
    sorted(str(path.relative_to(PROJECT)) for path in (PROJECT / 'params').glob('paper_*.yaml'))


@pytest.mark.parametrize('grid_file', GRID_FILES)
def test_every_grid_is_planned_without_torch(grid_file, tmp_path):
    """grid_recipe checks and writes each grid's recipe, and the grid's cells (what the aggregate, the figures and
    the claims select from) are listed, variant runs and all, without torch or timm."""
    code = (f'import runpy, sys\n'
            f'sys.argv = ["grid_recipe", "--params", {grid_file!r}, "--out", {str(tmp_path)!r}]\n'
            f'try:\n'
            f'    runpy.run_path("stages/grid_recipe.py", run_name="__main__")\n'
            f'except SystemExit as end:\n'
            f'    assert end.code in (0, None), end.code\n'
            f'from bnonly.config import load_params\n'
            f'from bnonly.paper.grid import analysed_cells, train_cells\n'
            f'grid = load_params({grid_file!r})["grid"]\n'
            f'assert train_cells(grid) and analysed_cells(grid) is not None')
    assert heavy_imports(code) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ['analyze.yaml', 'prepare.yaml', 'train.yaml']


def bnonly_imports(module: str) -> set[str]:
    """The ``bnonly`` modules ``module``'s source imports, at its top or inside a function."""
    tree = ast.parse((PROJECT / 'src' / f'{module.replace(".", "/")}.py').read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from bnonly import x` names the module bnonly.x
            imported.update(f'{node.module}.{alias.name}' if node.module == 'bnonly' else node.module
                            for alias in node.names)
    return {name for name in imported if name.split('.')[0] == 'bnonly'}


@pytest.mark.parametrize('level', range(len(LAYERS)), ids=[' '.join(layer) for layer in LAYERS])
def test_the_params_modules_import_only_the_layers_below(level):
    below = {module for layer in LAYERS[:level] for module in layer}
    for module in LAYERS[level]:
        assert bnonly_imports(module) <= below, module


def test_the_layer_check_sees_imports():
    # The reader imports the schema and the vocabulary: the check above has imports to refuse.
    assert bnonly_imports('bnonly.config') == {'bnonly.settings', 'bnonly.vocabulary'}
