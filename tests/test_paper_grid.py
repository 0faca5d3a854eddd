"""The grid's definition: cell names as DVC names them, the recipe files, the params schema, profiles, cost."""
import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bnonly.config import ConfigError, load_params
from bnonly.models import ARCHITECTURES
from bnonly.paper import cost, profile
from bnonly.paper.grid import Cell, GridError, analysed_cells, arch_info, recipe, train_cells
from bnonly.training import RunSpec

PROJECT = Path(__file__).resolve().parents[1]
SINGLE_RUN_KEYS = {'dataset', 'arch', 'trainable', 'seed', 'data', 'model', 'train', 'analyze'}


@pytest.fixture(scope='module')
def params():
    return load_params(PROJECT / 'params.yaml')


def test_cell_names_and_folders():
    cell = Cell('grid', 'cifar_resnet110', 'bn_only', 0)
    assert cell.name == 'cifar_resnet110-bn_only-0'
    assert cell.train_stage == 'grid_train@cifar_resnet110-bn_only-0'
    assert cell.analyze_stage == 'grid_analyze@cifar_resnet110-bn_only-0'
    assert cell.train_dir == Path('results/grid/cifar_resnet110-bn_only-0/train')
    assert cell.analyze_dir == Path('results/grid/cifar_resnet110-bn_only-0/analyze')
    fixed = Cell('fixed_init', 'cifar_resnet14', 'all_but_bn', 3)
    assert fixed.train_stage == 'grid_train_fixed@cifar_resnet14-all_but_bn-3'
    assert fixed.train_dir == Path('results/grid_fixed/cifar_resnet14-all_but_bn-3/train')
    assert (cell.batchnorm_init, fixed.batchnorm_init) == ('uniform', 'fixed')


def test_cells_are_the_stages_dvc_generates(params, tmp_path):
    """The names in bnonly.paper.grid are exactly the matrix stages of dvc.yaml, in the same order."""
    dvc = Path(sys.executable).parent / 'dvc'
    env = dict(os.environ, DVC_NO_ANALYTICS='1', DVC_SITE_CACHE_DIR=str(tmp_path / 'site_cache'))
    listing = subprocess.run([str(dvc), 'stage', 'list', '--name-only'], cwd=PROJECT, capture_output=True, text=True,
                             env=env, check=True).stdout.split()
    grid = params['grid']
    trained = [name for name in listing if name.startswith(('grid_train@', 'grid_train_fixed@'))]
    analysed = [name for name in listing if name.startswith('grid_analyze@')]
    assert trained == [cell.train_stage for cell in train_cells(grid)]
    assert analysed == [cell.analyze_stage for cell in analysed_cells(grid)]
    assert len(trained) == (len(grid['archs']) * len(grid['trainables'])
                            + len(grid['fixed_init']['archs']) * len(grid['fixed_init']['trainables'])) \
        * len(grid['seeds'])


def test_grid_stages_never_read_single_run_params():
    """`dvc exp run -S trainable=...` on the single experiment must not touch a grid cell."""
    stages = yaml.safe_load((PROJECT / 'dvc.yaml').read_text())['stages']
    grid_stages = {name: stage for name, stage in stages.items() if name.startswith(('grid_', 'figure', 'claims'))}
    assert {'grid_train', 'grid_train_fixed', 'grid_analyze', 'grid_aggregate', 'claims'} <= set(grid_stages)
    for name, stage in grid_stages.items():
        for key in stage.get('params', []):
            assert isinstance(key, str) and key.split('.')[0] in ('grid', 'figures'), (name, key)
        if name.startswith(('grid_train', 'grid_analyze')):  # their settings: a recipe file, a dep
            recipe = f'results/grid_recipe/{"analyze" if name == "grid_analyze" else "train"}.yaml'
            assert f'--params {recipe}' in stage['cmd'] and recipe in stage['deps'], name
            assert 'params' not in stage, name


def test_figure_stages_depend_only_on_aggregated_files():
    stages = yaml.safe_load((PROJECT / 'dvc.yaml').read_text())['stages']
    for number in range(1, 8):
        data = [d for d in stages[f'figure{number}']['deps'] if not d.startswith(('stages/', 'src/'))]
        assert set(data) <= {'reports/grid_summary.csv', 'results/grid_summary.json', 'results/grid_bn_values.csv'}


def test_analysed_sets_must_be_trained(params):
    grid = copy.deepcopy(params['grid'])
    grid['analyze_trainables'] = ['bn_output']
    with pytest.raises(GridError, match='bn_output not in grid.trainables'):
        analysed_cells(grid)


def test_recipe_holds_only_the_grid_section(params, tmp_path):
    """Each recipe file is a valid params file; a cell's run is the grid's recipe plus its arch, set and seed."""
    files = recipe(params['grid'])
    changed = copy.deepcopy(params)
    changed.update(arch='cifar_resnet866', trainable='all_but_bn', seed=7, dataset='cifar10')
    changed['train']['lr'] = 0.5
    changed['analyze']['thresholds'] = [0.3]
    assert recipe(changed['grid']) == files  # single-run keys never reach the grid

    for name, content in files.items():
        assert set(content) <= SINGLE_RUN_KEYS, name
    path = tmp_path / 'train.yaml'
    path.write_text(yaml.safe_dump(files['train']))
    spec = RunSpec.from_params(load_params(path, ['arch=cifar_resnet32', 'trainable=bn_only', 'seed=1']))
    grid = params['grid']
    assert (spec.arch, spec.trainable, spec.seed, spec.dataset) == ('cifar_resnet32', 'bn_only', 1, grid['dataset'])
    assert (spec.epochs, list(spec.milestones), spec.examples) == \
        (grid['train']['epochs'], grid['train']['milestones'], grid['train']['examples'])
    assert spec.batchnorm_init == 'uniform'


@pytest.mark.parametrize('arch', ARCHITECTURES)
def test_every_architecture_has_a_family(arch):
    info = arch_info(arch)
    assert info.family in ('deep', 'wide', 'imagenet') and info.depth >= 14 and info.width >= 1
    assert info.label.startswith(('ResNet-', 'WRN-14-'))


def test_arch_info_examples():
    assert arch_info('cifar_resnet32') == arch_info('cifar_resnet32')
    assert (arch_info('cifar_wide_resnet14_2').label, arch_info('cifar_wide_resnet14_2').width) == ('WRN-14-2', 2)
    assert arch_info('cifar_resnet14').in_width_family and not arch_info('cifar_resnet32').in_width_family
    with pytest.raises(GridError):
        arch_info('vgg16')


@pytest.mark.parametrize('key, value, message', [
    ('seeds', [0, 0], 'grid.seeds: repeated 0'),
    ('archs', ['cifar_resnet15'], "grid.archs\\[0\\]: 'cifar_resnet15' is not valid"),
    ('trainables', [], 'grid.trainables: expected a non-empty list'),
    ('colour', 'red', "unknown params key 'grid.colour'"),
])
def test_schema_rejects_a_bad_grid(tmp_path, params, key, value, message):
    bad = copy.deepcopy(params)
    bad['grid'][key] = value
    path = tmp_path / 'params.yaml'
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=message):
        load_params(path)


def test_default_grid_shows_the_paper_comparisons(params):
    grid = params['grid']
    assert {'all', 'bn_only', 'random_k', 'output_only'} <= set(grid['trainables'])
    assert set(grid['fixed_init']['trainables']) == {'all', 'all_but_bn'}
    assert len(grid['seeds']) >= 2  # error bars
    assert {'cifar_resnet32', 'cifar_wide_resnet14_2'} <= set(grid['archs'])  # depth vs width at ≈ equal BN count
    assert 0.01 in grid['analyze']['thresholds']  # the paper's small-γ cut-off (claims)


def test_default_grid_fits_the_cpu_budget(params):
    minutes = cost.estimate(params['grid']).seconds / 60
    assert 30 <= minutes <= 45, f'the default grid is estimated at {minutes:.1f} min on an idle 2-core CPU'


def test_cost_model_uses_measured_speeds_and_scales_the_rest():
    assert cost.train_speed('cifar_resnet14', 'bn_only') == (2700, True)
    speed, measured = cost.train_speed('cifar_resnet56', 'all')
    assert not measured and speed == pytest.approx(2080 / 4.5)  # (56 - 2) / 12 x ResNet-14's conv work
    speed, measured = cost.train_speed('cifar_wide_resnet14_4', 'bn_only')
    assert not measured and speed == pytest.approx(2700 / 16)
    assert cost.train_speed('cifar_resnet20', 'all_but_bn') == (1480, False)
    assert cost.train_speed('cifar_resnet32', 'random_k_output') == (pytest.approx(930 * 0.78), False)
    with pytest.raises(ValueError):
        cost.relative_cost('resnet50')


@pytest.mark.parametrize('name, dataset, archs, seeds, epochs', [
    ('paper_cifar10', 'cifar10', 12, 5, 160), ('paper_imagenet', 'imagenet', 5, 3, 90),
    ('fashion_mnist_cpu', 'fashion_mnist', 4, 2, 3)])
def test_profiles_swap_only_the_grid_section(tmp_path, name, dataset, archs, seeds, epochs):
    original = (PROJECT / 'params.yaml').read_text()
    path = tmp_path / 'params.yaml'
    path.write_text(original)
    profile.apply(PROJECT / 'params' / f'{name}.yaml', path)
    swapped = load_params(path)
    grid = swapped['grid']
    assert (grid['dataset'], len(grid['archs']), len(grid['seeds']), grid['train']['epochs']) == \
        (dataset, archs, seeds, epochs)
    before = yaml.safe_load(original)
    assert {k: v for k, v in swapped.items() if k != 'grid'} == {k: v for k, v in before.items() if k != 'grid'}
    outside = lambda text: [line for line in text.splitlines() if not line.startswith((' ', 'grid:'))]  # noqa: E731
    assert outside(path.read_text()) == outside(original)  # comments outside the block survive
    profile.apply(PROJECT / 'params' / 'fashion_mnist_cpu.yaml', path)
    assert path.read_text() == original  # and the default profile is exactly params.yaml's grid section


def test_paper_cifar10_profile_is_the_papers_grid():
    grid = yaml.safe_load((PROJECT / 'params' / 'paper_cifar10.yaml').read_text())['grid']
    depths = sorted(arch_info(a).depth for a in grid['archs'] if arch_info(a).family == 'deep')
    widths = sorted(arch_info(a).width for a in grid['archs'] if arch_info(a).in_width_family)
    assert depths == [14, 32, 56, 110, 218, 434, 866] and widths == [1, 2, 4, 8, 16, 32]
    assert grid['train']['milestones'] == [80, 120] and grid['train']['examples'] is None
    assert set(grid['trainables']) | set(grid['fixed_init']['trainables']) == {
        'all', 'all_but_bn', 'bn_only', 'output_only', 'bn_output', 'random_k', 'random_k_output'}


def test_a_bad_profile_leaves_params_untouched(tmp_path):
    path = tmp_path / 'params.yaml'
    path.write_text((PROJECT / 'params.yaml').read_text())
    bad = tmp_path / 'bad.yaml'
    bad.write_text('grid:\n  dataset: mnist\n')
    with pytest.raises(ConfigError):
        profile.apply(bad, path)
    assert path.read_text() == (PROJECT / 'params.yaml').read_text()
