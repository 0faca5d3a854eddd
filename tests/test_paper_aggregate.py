"""Aggregation of grid cells: tidy rows, mean/std/n over seeds, the summary JSON, and clear errors."""
import json
import math

import pandas as pd
import pytest
import yaml

from bnonly.paper import aggregate
from bnonly.paper.grid import Cell, GridError
from bnonly.paper.synthetic import write_analysis, write_cell

GRID = {'runs': ['cifar_resnet14-all', 'cifar_resnet14-bn_only', 'cifar_wide_resnet14_2-all',
                 'cifar_wide_resnet14_2-bn_only', 'cifar_resnet14-all-fixed', 'cifar_resnet14-all_but_bn-fixed'],
        'seeds': [0, 1, 2], 'analyze_runs': ['cifar_resnet14-bn_only', 'cifar_wide_resnet14_2-bn_only'],
        'analyze': {'thresholds': [0.01, 0.1]}}
ACCURACY = {0: 0.50, 1: 0.60, 2: 0.70}  # per seed, for ResNet-14 bn_only


def set_accuracy(root, cell: Cell, value: float) -> None:
    path = root / cell.train_dir / 'metrics.json'
    metrics = json.loads(path.read_text())
    metrics['test_accuracy'] = value
    path.write_text(json.dumps(metrics))


@pytest.fixture
def grid_root(tmp_path):
    from bnonly.paper.synthetic import write_grid
    write_grid(GRID, tmp_path)
    for seed, value in ACCURACY.items():
        set_accuracy(tmp_path, Cell('cifar_resnet14', 'bn_only', seed), value)
    return tmp_path


def test_tidy_rows_one_per_cell_and_metric(grid_root):
    cells, bn_values, history, profile = aggregate.collect(GRID, grid_root)
    assert list(cells.columns) == ['arch', 'trainable', 'norm_init', 'seed', 'source', 'metric', 'value',
                                   'run', 'norm_layer', 'weight_init', 'k']  # the older columns first
    assert not cells.duplicated(['run', 'seed', 'source', 'metric']).any()
    trained = cells[cells.source == 'train'][['run', 'seed']].drop_duplicates()
    assert len(trained) == (2 * 2 + 1 * 2) * 3
    analysed = cells[cells.source == 'analysis'][['arch', 'trainable', 'seed']].drop_duplicates()
    assert len(analysed) == 2 * 1 * 3
    assert {'gamma.frac_abs_below.t0p01', 'clamped.t0p1.delta', 'dead_relu.fraction', 'dead_relu.site.block'} <= \
        set(cells[cells.source == 'analysis'].metric)
    assert 'dead_relu.granularity' not in set(cells.metric)  # strings are not values
    inits = cells.groupby('run').norm_init.unique().map(list).to_dict()
    assert inits == {**{run: ['uniform'] for run in GRID['runs']},
                     'cifar_resnet14-all-fixed': ['fixed'], 'cifar_resnet14-all_but_bn-fixed': ['fixed']}
    assert set(bn_values.columns) == {'arch', 'trainable', 'seed', 'layer', 'channel', 'gamma', 'beta', 'run'}
    assert set(bn_values.trainable) == {'bn_only'} and bn_values.seed.nunique() == 3
    assert profile['cells_trained'] == 18 and profile['cells_analysed'] == 6 and profile['seeds'] == 3
    assert profile['dataset'] == 'fashion_mnist'


def test_summary_mean_std_n(grid_root):
    cells, _, _, _ = aggregate.collect(GRID, grid_root)
    summary = aggregate.summarize(cells)
    row = summary[(summary.run == 'cifar_resnet14-bn_only') & (summary.source == 'train')
                  & (summary.metric == 'test_accuracy')].iloc[0]
    assert row['mean'] == pytest.approx(0.6)
    assert row['std'] == pytest.approx(0.1)  # sample std (ddof = 1) of 0.5, 0.6, 0.7
    assert row['n'] == 3
    assert (row['label'], row['family'], row['depth'], row['width'], row['batchnorm_params']) == \
        ('ResNet-14', 'deep', 14, 1, 1120)
    wide = summary[summary.arch == 'cifar_wide_resnet14_2'].iloc[0]
    assert (wide['family'], wide['width'], wide['batchnorm_params']) == ('wide', 2, 2240)
    assert not summary.duplicated(aggregate.SUMMARY_KEYS).any()


def test_single_seed_has_no_std(tmp_path):
    grid = dict(GRID, seeds=[0])
    from bnonly.paper.synthetic import write_grid
    write_grid(grid, tmp_path)
    summary = aggregate.summarize(aggregate.collect(grid, tmp_path)[0])
    assert (summary['n'] == 1).all() and summary['std'].isna().all()
    document = aggregate.summary_json(summary, {})
    assert document['cifar_resnet14']['all']['test_accuracy']['std'] is None  # valid JSON, no NaN


def test_summary_json_for_dvc_metrics(grid_root, tmp_path):
    out = tmp_path / 'out'
    aggregate.write(GRID, grid_root, cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                    bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                    summary_json_path=out / 'summary.json')
    document = json.loads((out / 'summary.json').read_text())
    accuracy = document['cifar_resnet14']['bn_only']['test_accuracy']
    assert accuracy['mean'] == pytest.approx(0.6) and accuracy['n'] == 3
    assert set(document['cifar_resnet14']['bn_only']['gamma']['frac_abs_below']) == {'t0p01', 't0p1'}
    assert set(document) == {'profile', 'cifar_resnet14', 'cifar_wide_resnet14_2', 'cifar_resnet14-all-fixed',
                             'cifar_resnet14-all_but_bn-fixed'}  # a variant run under its own name
    assert document['cifar_resnet14-all-fixed']['test_accuracy']['n'] == 3
    assert 'train_loss' not in document['cifar_resnet14']['all']  # headline numbers only

    def keys(node, prefix=''):
        for key, value in node.items():
            assert '.' not in key, f'{prefix}{key}: DVC joins keys with dots'
            if isinstance(value, dict):
                yield from keys(value, f'{prefix}{key}.')
    list(keys(document))
    assert pd.read_csv(out / 'summary.csv').shape[0] > 0 and pd.read_csv(out / 'bn.csv').shape[0] > 0


def test_orphan_cells_are_ignored(grid_root):
    """A removed arch or seed leaves its folder behind (DVC does not delete it): it must not be counted."""
    write_cell(Cell('cifar_resnet32', 'all', 0), grid_root)
    write_cell(Cell('cifar_resnet14', 'bn_only', 9), grid_root)
    cells, _, _, _ = aggregate.collect(GRID, grid_root)
    assert 'cifar_resnet32' not in set(cells.arch) and 9 not in set(cells.seed)


def test_a_missing_cell_is_left_out_and_named(grid_root, tmp_path):
    """A failed cell (here: its training left nothing) is named, with its analysis; the others are aggregated."""
    for name in ('metrics.json', 'config.yaml'):
        (grid_root / 'results/grid/cifar_resnet14-bn_only-1/train' / name).unlink()
    out = tmp_path / 'out'
    summary = aggregate.write(GRID, grid_root, cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                              bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                              summary_json_path=out / 'summary.json')
    profile = json.loads((out / 'summary.json').read_text())['profile']
    # The analysis files of seed 1 are still there, but describe a model that no longer exists.
    assert profile['cells_missing'] == ['grid_train@cifar_resnet14-bn_only-1', 'grid_analyze@cifar_resnet14-bn_only-1']
    assert profile['complete'] is False and profile['cells_trained'] == 17 and profile['cells_analysed'] == 5
    assert aggregate.partial_grid_message(profile) == ('partial grid: 2 stages without results: '
                                                       'grid_train@cifar_resnet14-bn_only-1, '
                                                       'grid_analyze@cifar_resnet14-bn_only-1')
    accuracy = summary[(summary.run == 'cifar_resnet14-bn_only') & (summary.metric == 'test_accuracy')].iloc[0]
    assert (accuracy['n'], accuracy['mean']) == (2, pytest.approx((ACCURACY[0] + ACCURACY[2]) / 2))
    assert 1 not in set(pd.read_csv(out / 'bn.csv').query('arch == "cifar_resnet14"').seed)


def test_a_complete_grid_says_so(grid_root):
    profile = aggregate.collect(GRID, grid_root)[3]
    assert profile['complete'] is True and profile['cells_missing'] == []
    assert aggregate.partial_grid_message(profile) is None


def test_a_missing_analysis_alone_is_named(grid_root):
    (grid_root / 'results/grid/cifar_wide_resnet14_2-bn_only-2/analyze/tables/bn_values.csv').unlink()
    profile = aggregate.collect(GRID, grid_root)[3]
    assert profile['cells_missing'] == ['grid_analyze@cifar_wide_resnet14_2-bn_only-2']


def test_a_grid_without_any_results_is_an_error(tmp_path):
    with pytest.raises(GridError, match="none of the grid's 24 stages has results yet"):
        aggregate.write(GRID, tmp_path, cells_csv=tmp_path / 'c.csv', summary_csv=tmp_path / 's.csv',
                        bn_values_csv=tmp_path / 'b.csv', history_csv=tmp_path / 'h.csv',
                        summary_json_path=tmp_path / 's.json')


def test_stale_cell_folder_is_refused(grid_root):
    path = grid_root / 'results/grid/cifar_resnet14-all-fixed-0/train/config.yaml'
    config = yaml.safe_load(path.read_text())
    config['run']['norm_init'] = 'uniform'
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(GridError, match='not the cell'):
        aggregate.collect(GRID, grid_root)


def test_flatten_and_threshold_keys():
    """The reports read the keys the analysis writes: bnonly.paper.names (torch-free) spells them as
    bnonly.analysis.metrics does."""
    from bnonly.analysis.metrics import threshold_key
    from bnonly.paper import names
    assert aggregate.flatten({'a': 1, 'b': {'c': 2.5, 'd': 'x', 'e': True}}) == {'a': 1.0, 'b.c': 2.5}
    for threshold in (0.01, 1e-05, 0.5, 0.25):
        assert names.threshold_key(threshold) == threshold_key(threshold)
        assert names.key_threshold(threshold_key(threshold)) == threshold


def test_write_analysis_fixture_matches_the_analysis_schema(tmp_path):
    """The synthetic analysis files use the real stage's keys (bnonly.analysis.metrics)."""
    from bnonly.analysis.metrics import threshold_key
    cell = Cell('cifar_resnet14', 'bn_only', 0)
    write_analysis(cell, tmp_path, thresholds=(0.01, 0.25))
    metrics = json.loads((tmp_path / cell.analyze_dir / 'metrics.json').read_text())
    assert set(metrics['clamped']) == {threshold_key(0.01), threshold_key(0.25)}
    assert not math.isnan(metrics['dead_relu']['fraction'])


# A variant run beside its paper run: its cells, settings and summary must stay apart from the paper run's.
VARIANT = 'cifar_resnet14-bn_only-groupnorm-orthogonal'
VARIANT_GRID = {'runs': ['cifar_resnet14-bn_only', VARIANT, 'cifar_resnet14-random_k-k1', 'vit_fmnist_tiny-all',
                         'cifar_resnet14-bn_only-fixed', 'cifar_resnet14-all-fixed'], 'seeds': [0, 1],
                'analyze_runs': ['cifar_resnet14-bn_only', VARIANT], 'analyze': {'thresholds': [0.1]}}


def record_settings(root, cell: Cell, **settings) -> None:
    """What the train stage records in config.yaml's run section (synthetic cells leave these out)."""
    path = root / cell.train_dir / 'config.yaml'
    config = yaml.safe_load(path.read_text())
    config['run'].update(settings)
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def variant_root(tmp_path):
    from bnonly.paper.grid import train_cells
    from bnonly.paper.synthetic import write_grid
    write_grid(VARIANT_GRID, tmp_path)
    for cell in train_cells(VARIANT_GRID):
        record_settings(tmp_path, cell, **{'weight_init': 'kaiming_normal', 'k': 2, **cell.variants})
    for seed in (0, 1):
        set_accuracy(tmp_path, Cell.from_run(VARIANT, seed), 0.3)
    return tmp_path


def test_variant_cells_carry_their_run_and_settings(variant_root, tmp_path):
    out = tmp_path / 'out'
    summary = aggregate.write(VARIANT_GRID, variant_root, cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                              bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                              summary_json_path=out / 'summary.json')
    cells = pd.read_csv(out / 'cells.csv')
    settings = cells[['run', 'norm_layer', 'weight_init', 'k']].drop_duplicates().set_index('run')
    assert settings.to_dict('index') == {  # norm_layer: batchnorm where config.yaml leaves out the default
        'cifar_resnet14-bn_only': dict(norm_layer='batchnorm', weight_init='kaiming_normal', k=2),
        VARIANT: dict(norm_layer='groupnorm', weight_init='orthogonal', k=2),
        'cifar_resnet14-random_k-k1': dict(norm_layer='batchnorm', weight_init='kaiming_normal', k=1),
        'vit_fmnist_tiny-all': dict(norm_layer='layernorm', weight_init='kaiming_normal', k=2),  # its own
        'cifar_resnet14-bn_only-fixed': dict(norm_layer='batchnorm', weight_init='kaiming_normal', k=2),
        'cifar_resnet14-all-fixed': dict(norm_layer='batchnorm', weight_init='kaiming_normal', k=2)}
    accuracy = summary[(summary.source == 'train') & (summary.metric == 'test_accuracy')].set_index('run')['mean']
    assert accuracy[VARIANT] == pytest.approx(0.3) and accuracy['cifar_resnet14-bn_only'] > 0.5
    assert not summary.duplicated(aggregate.SUMMARY_KEYS).any()
    inits = summary.drop_duplicates('run').set_index('run')['norm_init']
    assert (inits['cifar_resnet14-bn_only-fixed'], inits['cifar_resnet14-bn_only']) == ('fixed', 'uniform')
    assert list(summary.columns[-4:]) == ['run', 'norm_layer', 'weight_init', 'k']
    assert set(pd.read_csv(out / 'history.csv').run) == set(settings.index)
    assert set(pd.read_csv(out / 'bn.csv').run) == {'cifar_resnet14-bn_only', VARIANT}
    document = json.loads((out / 'summary.json').read_text())
    assert document[VARIANT]['test_accuracy']['mean'] == pytest.approx(0.3)  # not under arch.trainable
    assert document['cifar_resnet14']['bn_only']['test_accuracy']['mean'] > 0.5
    assert set(document['cifar_resnet14']) == {'bn_only'}
    vit = summary[summary.arch == 'vit_fmnist_tiny'].iloc[0]
    assert (vit['family'], vit['label'], vit['depth']) == ('vit', 'ViT-tiny', 4)


def test_a_variant_the_cell_did_not_train_with_is_refused(variant_root):
    record_settings(variant_root, Cell.from_run(VARIANT, 1), norm_layer='layernorm')
    with pytest.raises(GridError, match="'norm_layer': 'layernorm'.*not the cell"):
        aggregate.collect(VARIANT_GRID, variant_root)


def test_a_cells_table_from_before_run_columns_still_summarises():
    """Readers that build the columns from before the run and its settings themselves (the claims' tests); a
    grid_cells.csv from before model.batchnorm_init became norm_init is not one: grid_aggregate rewrites it."""
    old = pd.DataFrame([dict(group='grid', arch='cifar_resnet14', trainable='bn_only', norm_init='uniform',
                             seed=seed, source='train', metric=metric, value=value)
                        for seed in (0, 1) for metric, value in (('test_accuracy', 0.5 + seed / 10),
                                                                 ('batchnorm_params', 1120))])
    summary = aggregate.summarize(old)
    row = summary[summary.metric == 'test_accuracy'].iloc[0]
    assert (row['run'], row['mean'], row['n'], row['batchnorm_params']) == ('cifar_resnet14-bn_only', 0.55, 2, 1120)


@pytest.mark.parametrize('table', ['paper', 'extensions'])
def test_the_claims_stage_refuses_a_partial_grid(grid_root, tmp_path, capsys, table):
    """No verdict from part of a grid: the stage names the missing cells instead of testing what is left."""
    import runpy
    from dvc_repo import PROJECT
    (grid_root / 'results/grid/cifar_resnet14-all-1/train/metrics.json').unlink()
    out = tmp_path / 'out'
    aggregate.write(GRID, grid_root, cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                    bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                    summary_json_path=out / 'summary.json')
    main = runpy.run_path(str(PROJECT / 'stages' / 'claims.py'), run_name='test')['main']
    assert main(['--table', table, '--cells', str(out / 'cells.csv'), '--summary-json', str(out / 'summary.json'),
                 '--summary', str(out / 'summary.csv'), '--out', str(tmp_path / 'claims.md'),
                 '--csv', str(tmp_path / 'claims.csv')]) == 1
    assert capsys.readouterr().err == (
        f'claims: error: the grid is partial, {out / "summary.json"} lists 1 stages without results '
        f'(profile.cells_missing: grid_train@cifar_resnet14-all-1); finish them or remove them from grid.yaml\n')
    assert not (tmp_path / 'claims.md').exists()
