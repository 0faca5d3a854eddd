"""The grid's definition: cell names as DVC names them, the recipe files, the params schema, the paper grids, cost."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bnonly.config import ConfigError, load_params
from bnonly.models import ARCHITECTURES, VIT_ARCHITECTURES
from bnonly.paper import cost
from bnonly.paper.grid import (Cell, GridError, analysed_cells, arch_info, paper_runs, recipe, split_run, train_cells,
                               variant_runs)
from bnonly.training import RunSpec

PROJECT = Path(__file__).resolve().parents[1]
SINGLE_RUN_KEYS = {'dataset', 'arch', 'trainable', 'seed', 'data', 'model', 'train', 'analyze'}


@pytest.fixture(scope='module')
def params():
    return load_params(PROJECT / 'grid.yaml')


def runs(grid: dict, key: str = 'runs') -> list[tuple[str, str]]:
    return [split_run(run) for run in grid[key]]


def test_cell_names_and_folders():
    cell = Cell('cifar_resnet110', 'bn_only', 0)
    assert cell.name == 'cifar_resnet110-bn_only-0'
    assert cell.train_stage == 'grid_train@cifar_resnet110-bn_only-0'
    assert cell.analyze_stage == 'grid_analyze@cifar_resnet110-bn_only-0'
    assert cell.train_dir == Path('results/grid/cifar_resnet110-bn_only-0/train')
    assert cell.analyze_dir == Path('results/grid/cifar_resnet110-bn_only-0/analyze')
    fixed = Cell.from_run('cifar_resnet14-all_but_bn-fixed', 3)   # Figure 1's cells: one more run
    assert fixed.train_stage == 'grid_train@cifar_resnet14-all_but_bn-fixed-3'
    assert fixed.train_dir == Path('results/grid/cifar_resnet14-all_but_bn-fixed-3/train')
    assert (cell.norm_init, fixed.norm_init) == ('uniform', 'fixed')


def test_cells_are_the_stages_dvc_generates(params, tmp_path):
    """The names in bnonly.paper.grid are exactly the matrix stages of dvc.yaml, in the same order."""
    dvc = Path(sys.executable).parent / 'dvc'
    env = dict(os.environ, DVC_NO_ANALYTICS='1', DVC_SITE_CACHE_DIR=str(tmp_path / 'site_cache'))
    listing = subprocess.run([str(dvc), 'stage', 'list', '--name-only'], cwd=PROJECT, capture_output=True, text=True,
                             env=env, check=True).stdout.split()
    grid = params['grid']
    trained = [name for name in listing if name.startswith('grid_train@')]
    analysed = [name for name in listing if name.startswith('grid_analyze@')]
    assert trained == [cell.train_stage for cell in train_cells(grid)]
    assert analysed == [cell.analyze_stage for cell in analysed_cells(grid)]
    assert len(trained) == len(grid['runs']) * len(grid['seeds'])


def test_grid_stages_never_read_single_run_params():
    """`dvc exp run -S trainable=...` on the single experiment must not touch a grid cell."""
    stages = yaml.safe_load((PROJECT / 'dvc.yaml').read_text())['stages']
    grid_stages = {name: stage.get('do', stage) for name, stage in stages.items()
                   if name.startswith(('grid_', 'figure', 'claims'))}
    assert {'grid_train', 'grid_analyze', 'grid_aggregate', 'figure', 'claims'} <= set(grid_stages)
    for name, stage in grid_stages.items():
        for entry in stage.get('params', []):
            assert isinstance(entry, dict) and list(entry) == ['grid.yaml'], (name, entry)  # never params.yaml
            assert all(key.split('.')[0] in ('grid', 'figures') for key in entry['grid.yaml']), (name, entry)
        if name.startswith(('grid_train', 'grid_analyze')):  # their settings: a recipe file, a dep
            recipe = f'results/grid_recipe/{"analyze" if name == "grid_analyze" else "train"}.yaml'
            assert f'--params {recipe}' in stage['cmd'] and recipe in stage['deps'], name
            assert 'params' not in stage, name


def test_figure_stages_depend_only_on_aggregated_files():
    stage = yaml.safe_load((PROJECT / 'dvc.yaml').read_text())['stages']['figure']
    assert stage['foreach'] == list(range(1, 9))
    data = [d for d in stage['do']['deps'] if not d.startswith(('stages/', 'src/'))]
    assert set(data) <= {'reports/grid_summary.csv', 'results/grid_summary.json', 'results/grid_bn_values.csv',
                         'results/grid_history.csv'}


def test_analysed_sets_must_be_trained(params):
    grid = copy.deepcopy(params['grid'])
    grid['analyze_runs'] = ['cifar_resnet14-bn_output']
    with pytest.raises(GridError, match='cifar_resnet14-bn_output not in grid.runs'):
        analysed_cells(grid)


@pytest.mark.parametrize('run', ['cifar_resnet14', '-bn_only', 'cifar_resnet14-', 'cifar_resnet14-bn_only-', ''])
def test_a_run_is_one_arch_and_one_set(run):
    with pytest.raises(GridError, match=r'expected ARCH-TRAINABLE\[-VARIANT\]'):
        split_run(run)
    assert split_run('cifar_wide_resnet14_2-random_k_output') == ('cifar_wide_resnet14_2', 'random_k_output')


@pytest.mark.parametrize('run, variants', [
    ('cifar_resnet14-norm_only-groupnorm', {'norm_layer': 'groupnorm'}),
    ('cifar_resnet14-bn_only-fixed', {'norm_init': 'fixed'}),
    ('cifar_resnet14-bn_only-orthogonal', {'weight_init': 'orthogonal'}),
    ('cifar_resnet14-random_k-k1-layernorm', {'k': 1, 'norm_layer': 'layernorm'}),
    ('cifar_resnet14-all-positivenegative-k12-binary-batchnorm',
     {'norm_init': 'positivenegative', 'k': 12, 'weight_init': 'binary', 'norm_layer': 'batchnorm'}),
])
def test_a_run_may_carry_variants(run, variants):
    cell = Cell.from_run(run, 2)
    assert (cell.arch, cell.trainable, dict(cell.variants)) == ('cifar_resnet14', run.split('-')[1], variants)
    assert list(cell.variants) == list(variants)  # the run's order
    assert cell.run == run and cell.name == f'{run}-2'  # verbatim: DVC's matrix names the cell so
    assert cell.train_dir == Path(f'results/grid/{run}-2/train')
    assert split_run(run) == ('cifar_resnet14', run.split('-')[1])
    assert cell.norm_init == variants.get('norm_init', 'uniform')
    assert (cell.norm_layer, cell.weight_init, cell.k) == \
        tuple(variants.get(key) for key in ('norm_layer', 'weight_init', 'k'))


def test_variant_vocabularies_are_the_librarys():
    """Each token comes from the allowed values of the model setting it sets (the library imports the same
    tuples); they do not overlap."""
    from bnonly.settings import ModelSettings, choices
    from bnonly.vocabulary import RUN_VARIANT_KEYS, variant_tokens
    expected = {key: set(choices(ModelSettings, key)) for key in ('norm_layer', 'norm_init', 'weight_init')}
    assert {key: {t for t, k in variant_tokens().items() if k == key} for key in expected} == expected
    assert sum(map(len, expected.values())) == len(variant_tokens())  # disjoint
    assert RUN_VARIANT_KEYS == ('norm_layer', 'norm_init', 'weight_init', 'k')


@pytest.mark.parametrize('run, message', [
    ('cifar_resnet14-bn_only-0', r"'0' is not a variant; valid: model.norm_layer: batchnorm, groupnorm, layernorm; "
                                 r"model.norm_init: uniform, fixed, .*model.k: k<N>"),
    ('cifar_resnet14-bn_only-k0', "'k0' is not a variant"),
    ('cifar_resnet14-bn_only-k01', "'k01' is not a variant"),  # one spelling per value: names stay verbatim
    ('cifar_resnet14-bn_only-GroupNorm', "'GroupNorm' is not a variant"),
    ('cifar_resnet14-bn_only-groupnorm-layernorm', "'groupnorm' and 'layernorm' both set model.norm_layer"),
    ('cifar_resnet14-random_k-k1-k2', "'k1' and 'k2' both set model.k"),
    ('cifar_resnet14-bn_only-fixed-fixed', "'fixed' and 'fixed' both set model.norm_init"),
])
def test_bad_variants_name_the_token(run, message):
    with pytest.raises(GridError, match=message):
        split_run(run)


def test_norm_layer_applies_to_the_cifar_resnets_only(params):
    """timm's own networks would take a norm_layer too and build something else: refused, as a variant or in
    the recipe."""
    grid = copy.deepcopy(params['grid'])
    grid.update(runs=['cifar_wide_resnet14_2-bn_only-layernorm', 'vit_fmnist_tiny-norm_only'])
    assert [cell.norm_layer for cell in train_cells(grid)[::len(grid['seeds'])]] == ['layernorm', None]
    grid['runs'].append('vit_fmnist_tiny-norm_only-groupnorm')
    with pytest.raises(GridError, match='vit_fmnist_tiny-norm_only-groupnorm: model.norm_layer=groupnorm'):
        train_cells(grid)
    grid.update(runs=['cifar_resnet14-bn_only', 'resnet18-bn_only'], model=dict(grid['model'], norm_layer='groupnorm'))
    with pytest.raises(GridError, match='resnet18-bn_only: model.norm_layer=groupnorm'):
        train_cells(grid)
    assert (arch_info('vit_fmnist_tiny').builtin_norm, arch_info('cifar_resnet14').builtin_norm) == ('layernorm', None)


def test_recipe_holds_only_the_grid_section(params, tmp_path):
    """Each recipe file is a valid params file; a cell's run is the grid's recipe plus its arch, set and seed."""
    files = recipe(params['grid'])
    single = load_params(PROJECT / 'params.yaml')
    assert 'grid' not in single  # the single experiment's file cannot reach a cell

    for name, content in files.items():
        assert set(content) <= SINGLE_RUN_KEYS, name
    path = tmp_path / 'train.yaml'
    path.write_text(yaml.safe_dump(files['train']))
    spec = RunSpec.from_params(load_params(path, ['arch=cifar_resnet32', 'trainable=bn_only', 'seed=1']))
    grid = params['grid']
    assert (spec.arch, spec.trainable, spec.seed, spec.dataset) == ('cifar_resnet32', 'bn_only', 1, grid['dataset'])
    assert (spec.epochs, list(spec.milestones), spec.examples) == \
        (grid['train']['epochs'], grid['train']['milestones'], grid['train']['examples'])
    assert spec.norm_init == 'uniform'


def test_recipe_passes_the_grids_norm_layer(params, tmp_path):
    """grid.model.norm_layer (default batchnorm) reaches every cell's recipe; a run's variant still wins."""
    grid = copy.deepcopy(params['grid'])
    grid['model']['norm_layer'] = 'groupnorm'
    path = tmp_path / 'grid.yaml'
    path.write_text(yaml.safe_dump(dict(params, grid=grid)))
    train = recipe(load_params(path)['grid'])['train']
    assert train['model']['norm_layer'] == 'groupnorm'
    path.write_text(yaml.safe_dump(train))
    assert RunSpec.from_params(load_params(path, ['arch=cifar_resnet14', 'trainable=bn_only', 'seed=0'])).norm_layer \
        == 'groupnorm'
    assert RunSpec.from_params(load_params(path, ['arch=cifar_resnet14', 'trainable=bn_only', 'seed=0',
                                                  'model.norm_layer=layernorm'])).norm_layer == 'layernorm'


@pytest.mark.parametrize('arch', [a for a in ARCHITECTURES if a not in VIT_ARCHITECTURES])
def test_every_paper_architecture_has_a_family(arch):
    info = arch_info(arch)
    assert info.family in ('deep', 'wide', 'imagenet') and info.depth >= 14 and info.width >= 1
    assert info.label.startswith(('ResNet-', 'WRN-14-'))


def test_arch_info_examples():
    assert arch_info('cifar_resnet32') == arch_info('cifar_resnet32')
    assert (arch_info('cifar_wide_resnet14_2').label, arch_info('cifar_wide_resnet14_2').width) == ('WRN-14-2', 2)
    assert arch_info('cifar_resnet14').in_width_family and not arch_info('cifar_resnet32').in_width_family
    with pytest.raises(GridError):
        arch_info('vgg16')


def test_the_vit_is_a_grid_network_outside_the_depth_and_width_families():
    from bnonly.models.vit import VIT_FMNIST_TINY
    assert VIT_ARCHITECTURES == ('vit_fmnist_tiny',)
    info = arch_info('vit_fmnist_tiny')
    assert (info.family, info.depth, info.width, info.label) == ('vit', VIT_FMNIST_TINY['depth'], 1, 'ViT-tiny')
    assert not info.in_depth_family and not info.in_width_family


@pytest.mark.parametrize('key, value, message', [
    ('seeds', [0, 0], 'grid.seeds: repeated 0'),
    ('runs', ['cifar_resnet15-all'], "grid.runs\\[0\\] \\(arch\\): 'cifar_resnet15' is not valid"),
    ('runs', ['cifar_resnet14-bn'], "grid.runs\\[0\\] \\(trainable\\): 'bn' is not valid"),
    ('runs', ['cifar_resnet14'], "grid.runs\\[0\\]: 'cifar_resnet14' is not a run"),
    ('runs', ['cifar_resnet14-bn_only-groupnorm-bn'], "grid.runs\\[0\\]: run .*'bn' is not a variant"),
    ('runs', ['cifar_resnet15-bn_only-groupnorm'], "grid.runs\\[0\\] \\(arch\\): 'cifar_resnet15' is not valid"),
    ('runs', [], 'grid.runs: expected a non-empty list'),
    ('colour', 'red', "unknown params key 'grid.colour'"),
])
def test_schema_rejects_a_bad_grid(tmp_path, params, key, value, message):
    bad = copy.deepcopy(params)
    bad['grid'][key] = value
    path = tmp_path / 'grid.yaml'
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=message):
        load_params(path)


def test_default_grid_has_what_each_claim_needs(params):
    """At least 1,000 SGD steps per cell over at least 3 seeds; two depths, two widths, a depth/width pair."""
    grid = params['grid']
    train = grid['train']
    steps = train['epochs'] * -(-train['examples'] // train['batch_size'])
    assert steps >= 1000 and len(grid['seeds']) >= 3
    trained = set(runs(grid))
    by_set = lambda trainable: {arch for arch, t in trained if t == trainable}  # noqa: E731
    assert {'cifar_resnet14', 'cifar_resnet32', 'cifar_wide_resnet14_2'} <= by_set('bn_only')  # depth, width, pair
    assert by_set('random_k') and by_set('output_only') and by_set('all')
    assert by_set('random_k') | by_set('output_only') <= by_set('bn_only')  # every baseline has its BN-only pair
    assert {run for run in grid['runs'] if run.endswith('-fixed')} == {'cifar_resnet14-all-fixed',
                                                                        'cifar_resnet14-all_but_bn-fixed'}  # Figure 1
    analysed = set(runs(grid, 'analyze_runs'))
    assert {(arch, 'bn_only') for arch in by_set('all')} <= analysed and {(a, 'all') for a in by_set('all')} <= analysed


def test_the_cost_model_predicts_the_measured_run(params):
    """The estimate, built from the last run's measured cell speeds (reports/grid_summary.csv), is within 25% of
    that run's measured wall time (benchmarks/results/time_breakdown.csv: every stage process plus DVC's own
    work). The hour the default grid is sized to is a property of the machine that ran it, so it is not asserted
    here: machines without AVX-512 train about half as fast."""
    breakdown = pd.read_csv(PROJECT / 'benchmarks/results/time_breakdown.csv')
    measured = breakdown.loc[breakdown.kind.isin(['all', 'dvc']), 'seconds'].sum()
    estimated = cost.estimate(params['grid']).seconds
    assert 0.75 <= estimated / measured <= 1.25, f'estimated {estimated / 60:.1f} min, measured {measured / 60:.1f} min'


def test_cost_model_uses_measured_speeds_and_scales_the_rest(tmp_path):
    summary = tmp_path / 'summary.csv'
    rows = [('cifar_resnet14', 'all', 2000.0), ('cifar_resnet14', 'bn_only', 2700.0), ('cifar_resnet32', 'all', 900.0)]
    table = [dict(arch=a, trainable=t, run=f'{a}-{t}', source='train', metric='images_per_second', mean=v)
             for a, t, v in rows]
    table.append(dict(table[0], run='cifar_resnet14-all-fixed', mean=1.0))  # a variant run: not the paper run's speed
    pd.DataFrame(table).to_csv(summary, index=False)
    measured = cost.measured_speeds(summary)
    assert cost.train_speed('cifar_resnet14', 'bn_only', measured) == (2700, True)
    speed, known = cost.train_speed('cifar_resnet56', 'all', measured)
    assert not known and speed == pytest.approx(2000 / 4.5)  # (56 - 2) / 12 x ResNet-14's conv work
    speed, known = cost.train_speed('cifar_wide_resnet14_4', 'bn_only', measured)
    assert not known and speed == pytest.approx(2700 / 16)
    # Not measured anywhere: random_k_output as random_k, and that as all times their measured ratio.
    assert cost.train_speed('cifar_resnet32', 'random_k_output', measured) == (900, False)
    measured[('cifar_resnet14', 'random_k')] = 1600.0
    assert cost.train_speed('cifar_resnet32', 'random_k_output', measured) == (pytest.approx(900 * 0.8), False)
    assert cost.train_speed('cifar_resnet32', 'random_k', measured) == (pytest.approx(900 * 0.8), False)
    with pytest.raises(ValueError, match='lacks ResNet-14 gamma_only'):
        cost.train_speed('cifar_resnet14', 'gamma_only', {})
    with pytest.raises(ValueError):
        cost.relative_cost('resnet50')
    with pytest.raises(ValueError, match='no measurement'):
        cost.relative_cost('vit_fmnist_tiny')


def test_cost_of_variant_runs_and_the_vit(params, tmp_path):
    """A variant run costs its paper run's time, marked estimated; the ViT is listed as not estimated."""
    grid = copy.deepcopy(params['grid'])
    grid['runs'] = ['cifar_resnet14-bn_only', 'cifar_resnet14-bn_only-groupnorm', 'vit_fmnist_tiny-norm_only']
    grid['analyze_runs'] = ['cifar_resnet14-bn_only-groupnorm', 'vit_fmnist_tiny-norm_only']
    cells = cost.estimate(grid).cells.set_index(['run', 'part'])
    paper, variant = cells.loc[('cifar_resnet14-bn_only', 'training')], cells.loc[('cifar_resnet14-bn_only-groupnorm',
                                                                                    'training')]
    assert variant.seconds.sum() == pytest.approx(paper.seconds.sum()) and not variant.measured.any()
    assert set(cells.loc['vit_fmnist_tiny-norm_only'].index) == {'not estimated'}
    text = cost.report(grid)
    assert '| ResNet-14 | bn_only-groupnorm |' in text and '| ViT-tiny | norm_only |' in text
    assert 'no measurement' in text and 'Not estimated, and not in the total: vit_fmnist_tiny-norm_only' in text
    assert "~ variant runs (cifar_resnet14-bn_only-groupnorm): estimated at their paper run's speed" in text


def test_cost_model_reads_the_committed_summary():
    committed = pd.read_csv(PROJECT / 'reports' / 'grid_summary.csv')
    speed = committed[(committed.run == 'cifar_resnet14-bn_only') & (committed.metric == 'images_per_second')]['mean']
    speed = speed.iloc[0]
    assert cost.train_speed('cifar_resnet14', 'bn_only') == (pytest.approx(speed), True)


@pytest.mark.parametrize('name, dataset, archs, seeds, epochs', [
    ('paper_cifar10', 'cifar10', 12, 5, 160), ('paper_imagenet', 'imagenet', 5, 3, 90)])
def test_a_paper_grid_file_is_a_whole_grid_file(name, dataset, archs, seeds, epochs):
    """Switching to a paper grid is `cp params/<name>.yaml grid.yaml`: each such file is complete and valid."""
    paper = load_params(PROJECT / 'params' / f'{name}.yaml')
    assert set(paper) == set(load_params(PROJECT / 'grid.yaml'))
    grid = paper['grid']
    assert (grid['dataset'], len({arch for arch, _ in runs(grid)}), len(grid['seeds']), grid['train']['epochs']) == \
        (dataset, archs, seeds, epochs)
    analysed_cells(grid)


def test_paper_cifar10_yaml_is_the_papers_grid():
    grid = yaml.safe_load((PROJECT / 'params' / 'paper_cifar10.yaml').read_text())['grid']
    archs = {arch for arch, _ in runs(grid)}
    depths = sorted(arch_info(a).depth for a in archs if arch_info(a).family == 'deep')
    widths = sorted(arch_info(a).width for a in archs if arch_info(a).in_width_family)
    assert depths == [14, 32, 56, 110, 218, 434, 866] and widths == [1, 2, 4, 8, 16, 32]
    assert grid['train']['milestones'] == [80, 120] and grid['train']['examples'] is None
    assert {t for _, t in runs(grid)} == {
        'all', 'all_but_bn', 'bn_only', 'output_only', 'bn_output', 'random_k', 'random_k_output'}
    assert len(grid['runs']) == 12 * 6 + 12 * 2  # every set on every network, and Figure 1's all and all_but_bn
    assert {run for run in grid['runs'] if run.endswith('-fixed')} == {
        f'{arch}-{t}-fixed' for arch in archs for t in ('all', 'all_but_bn')}


def test_overheads_come_from_the_wall_time_log(tmp_path):
    """Known seconds in, known overheads out: evaluation speed, analysis cost per pass, time outside phases."""
    def record(script, out, start, end, **phases):
        return json.dumps({'argv': [script, '--out', out], 'process_start': start, 'script_start': start + 1,
                           'end': end, 'phases': phases})
    log = tmp_path / 'log.jsonl'
    log.write_text('\n'.join([
        record('stages/train.py', 'results/grid/cifar_resnet14-all-0/train', 0, 104, train_steps=100, test_eval=2),
        record('stages/train.py', 'results/grid/cifar_resnet32-all-0/train', 0, 210, train_steps=200, test_eval=5),
        record('stages/analyze.py', 'results/grid/cifar_resnet14-all-0/analyze', 0, 16, analysis_passes=12),
        record('stages/claims.py', 'reports/claims.md', 0, 1)]) + '\n')
    breakdown = tmp_path / 'breakdown.csv'
    breakdown.write_text('kind,component,processes,seconds,share_of_wall\ndvc,dvc,0,8.0,0.02\n')
    summary = tmp_path / 'summary.json'
    summary.write_text(json.dumps({'profile': {'test_images': 10000}, 'cifar_resnet14': {'all': {
        'clamped': {'t0p05': {'delta': {}}, 't0p1': {'delta': {}}}}}, 'cifar_resnet14-bn_only-fixed': {
        'clamped': {'t0p1': {'delta': {}}}}}))
    overheads = cost.measured_overheads(log, breakdown, summary)
    assert overheads.eval_resnet14 == pytest.approx(10000 / 2)             # ResNet-14 cells only
    assert overheads.analysis_slowdown == pytest.approx(12 / (5 * 10000) * 5000)  # 1 + 2 x 2 passes
    assert overheads.start == pytest.approx({'train': (2 + 5) / 2 + 8 / 4, 'analyze': 4 + 2, 'other': 1 + 2})


def test_grid_recipe_stage_refuses_a_bad_run_before_writing(params, tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('grid_recipe', PROJECT / 'stages' / 'grid_recipe.py')
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    bad = copy.deepcopy(params)
    bad['grid']['runs'].append('resnet18-all-groupnorm')
    path = tmp_path / 'grid.yaml'
    path.write_text(yaml.safe_dump(bad))
    assert stage.main(['--params', str(path), '--out', str(tmp_path / 'recipe')]) == 1
    assert "resnet18-all-groupnorm: model.norm_layer=groupnorm swaps the CIFAR ResNets' BatchNorms only" \
        in capsys.readouterr().err
    assert not (tmp_path / 'recipe').exists()
    bad['grid']['runs'][-1] = 'cifar_resnet14-all-groupnorm'
    path.write_text(yaml.safe_dump(bad))
    assert stage.main(['--params', str(path), '--out', str(tmp_path / 'recipe')]) == 0


def test_paper_runs_leave_out_variant_runs_of_the_same_arch_and_set():
    frame = pd.DataFrame({'arch': ['cifar_resnet14'] * 4, 'trainable': ['bn_only'] * 4,
                          'run': ['cifar_resnet14-bn_only', 'cifar_resnet14-bn_only-fixed', 'cifar_resnet14-bn_only-k1',
                                  'cifar_resnet14-bn_only-fixed-k1']})
    assert paper_runs(frame)['run'].tolist() == ['cifar_resnet14-bn_only']
    assert variant_runs(frame, 'fixed')['run'].tolist() == ['cifar_resnet14-bn_only-fixed']  # Figure 1's, alone
    assert variant_runs(frame.drop(columns='run'), 'fixed').empty
    assert paper_runs(frame.drop(columns='run')).equals(frame.drop(columns='run'))  # older tables: all paper runs


def test_networks_sort_by_family_then_depth_then_width():
    archs = ['vit_fmnist_tiny', 'cifar_wide_resnet14_2', 'cifar_resnet32', 'cifar_resnet14', 'resnet18']
    assert sorted(archs, key=lambda a: arch_info(a).sort_key) == [
        'cifar_resnet14', 'cifar_resnet32', 'cifar_wide_resnet14_2', 'resnet18', 'vit_fmnist_tiny']
