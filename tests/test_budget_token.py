"""The budget token e<N> of a run name (bnonly.vocabulary): train.epochs = N with the recipe's LR milestones
scaled to it, read by the grid's cells (bnonly.paper.grid.Cell.epochs) and set by the train stage's --run."""
import importlib.util

import pytest
import yaml

from bnonly.config import ConfigError, load_params
from bnonly.paper.grid import Cell, GridError, train_cells
from bnonly.vocabulary import budget_milestones, parse_run
from dvc_repo import PROJECT

RECIPE = {'epochs': 4, 'batch_size': 128, 'lr': 0.1, 'momentum': 0.9, 'weight_decay': 0.0001,
          'milestones': [2, 3], 'gamma': 0.1, 'warmup_epochs': 0}


def train_stage():
    spec = importlib.util.spec_from_file_location('train_stage', PROJECT / 'stages' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('run, variants', [
    ('cifar_resnet32-bn_only-e12', {'epochs': 12}),
    ('cifar_resnet14-bn_only-fixed-e40', {'norm_init': 'fixed', 'epochs': 40}),
    ('cifar_resnet14-random_k-e8-k1', {'epochs': 8, 'k': 1}),
])
def test_the_token_sets_the_epochs_and_reads_back_as_written(run, variants):
    assert parse_run(run)[2] == variants
    cell = Cell.from_run(run, 7)
    assert cell.run == run and cell.epochs == variants['epochs']
    assert cell.model_variants == {k: v for k, v in variants.items() if k != 'epochs'}
    assert Cell.from_run('cifar_resnet32-bn_only', 7).epochs is None


@pytest.mark.parametrize('run, message', [
    ('cifar_resnet14-bn_only-e0', "'e0' is not a variant; valid: .*train.epochs: e<N>"),
    ('cifar_resnet14-bn_only-e012', "'e012' is not a variant"),
    ('cifar_resnet14-bn_only-e4-e12', "'e4' and 'e12' both set train.epochs"),
])
def test_bad_budget_tokens_are_config_errors(run, message):
    with pytest.raises(ConfigError, match=message):
        parse_run(run)


def test_milestones_scale_with_the_budget_or_fail_in_one_line():
    assert budget_milestones([2, 3], 4, 12) == (6, 9)
    assert budget_milestones([2, 3], 4, 40) == (20, 30)
    assert budget_milestones([], 4, 12) == ()
    with pytest.raises(ConfigError) as error:
        budget_milestones([2, 3], 4, 6, 'cifar_resnet14-bn_only-e6')
    assert str(error.value) == ("run 'cifar_resnet14-bn_only-e6': train.milestones [2, 3] of 4 epochs do not "
                                'scale to whole epochs at 6 (3, 4.5)')


def test_the_train_stage_sets_epochs_and_scaled_milestones(tmp_path):
    stage = train_stage()
    params = tmp_path / 'train.yaml'
    params.write_text(yaml.safe_dump({'dataset': 'fashion_mnist', 'train': RECIPE,
                                      'model': {'norm_init': 'uniform', 'weight_init': 'kaiming_normal',
                                                'k': 2}}))
    args = stage.parse_args(['--data', 'd', '--out', 'o', '--params', str(params),
                             '--run', 'cifar_resnet32-bn_only-fixed-e12', '--set', 'seed=7'])
    overrides = stage.run_overrides(args)
    assert overrides == ['arch=cifar_resnet32', 'trainable=bn_only', 'model.norm_init=fixed',
                         'train.epochs=12', 'train.milestones=[6, 9]', 'seed=7']
    loaded = load_params(params, overrides)
    assert (loaded['train']['epochs'], loaded['train']['milestones']) == (12, [6, 9])
    assert {k: v for k, v in loaded['train'].items() if k not in ('epochs', 'milestones')} == \
        {k: v for k, v in RECIPE.items() if k not in ('epochs', 'milestones')}
    # An explicit --set still wins over the token.
    args = stage.parse_args(['--data', 'd', '--out', 'o', '--params', str(params),
                             '--run', 'cifar_resnet32-bn_only-e12', '--set', 'train.milestones=[5]'])
    assert load_params(params, stage.run_overrides(args))['train']['milestones'] == [5]


def test_the_train_stage_refuses_a_budget_its_milestones_do_not_fit(tmp_path, capsys):
    stage = train_stage()
    params = tmp_path / 'train.yaml'
    params.write_text(yaml.safe_dump({'dataset': 'fashion_mnist', 'train': RECIPE}))
    code = stage.main(['--data', str(tmp_path), '--out', str(tmp_path / 'o'), '--params', str(params),
                       '--run', 'cifar_resnet14-bn_only-e6', '--set', 'seed=0'])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'do not scale to whole epochs at 6 (3, 4.5)' in err


def test_the_grid_refuses_such_a_budget_before_any_cell():
    grid = load_params(PROJECT / 'grid.yaml')['grid']
    assert [cell.epochs for cell in train_cells({**grid, 'runs': ['cifar_resnet14-bn_only-e12'], 'seeds': [0]})] \
        == [12]
    with pytest.raises(GridError, match='do not scale to whole epochs at 6'):
        train_cells({**grid, 'runs': ['cifar_resnet14-bn_only-e6'], 'seeds': [0]})
