"""stages/train.py's command line: --run ARCH-TRAINABLE[-VARIANT]... (how the paper grid's DVC matrix names a
cell)."""
import importlib.util
from pathlib import Path

import pytest

from bnonly.config import ConfigError, load_params

REPO = Path(__file__).resolve().parents[1]


def load_stage():
    spec = importlib.util.spec_from_file_location('train_stage', REPO / 'stages' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_sets_arch_and_trainable(tmp_path):
    stage = load_stage()
    (tmp_path / 'params.yaml').write_text('arch: cifar_resnet14\ntrainable: all\nseed: 0\n')
    args = stage.parse_args(['--data', 'd', '--out', 'o', '--run', 'cifar_wide_resnet14_2-bn_only',
                             '--set', 'seed=3'])
    overrides = stage.run_overrides(args)
    assert overrides == ['arch=cifar_wide_resnet14_2', 'trainable=bn_only', 'seed=3']
    params = load_params(tmp_path / 'params.yaml', overrides)
    assert (params['arch'], params['trainable'], params['seed']) == ('cifar_wide_resnet14_2', 'bn_only', 3)


def test_without_run_only_the_sets_apply():
    stage = load_stage()
    args = stage.parse_args(['--data', 'd', '--out', 'o', '--set', 'seed=1'])
    assert stage.run_overrides(args) == ['seed=1']


def test_run_variants_set_model_keys_before_the_sets(tmp_path):
    stage = load_stage()
    model = 'model: {norm_init: uniform, weight_init: kaiming_normal, k: 2}\n'
    (tmp_path / 'params.yaml').write_text('arch: cifar_resnet14\ntrainable: all\nseed: 0\n' + model)
    args = stage.parse_args(['--data', 'd', '--out', 'o', '--run', 'cifar_resnet14-random_k-k1-groupnorm-fixed',
                             '--set', 'model.norm_init=oneone'])
    overrides = stage.run_overrides(args)
    assert overrides == ['arch=cifar_resnet14', 'trainable=random_k', 'model.k=1', 'model.norm_layer=groupnorm',
                         'model.norm_init=fixed', 'model.norm_init=oneone']
    model = load_params(tmp_path / 'params.yaml', overrides)['model']
    assert model == {'norm_init': 'oneone', 'weight_init': 'kaiming_normal', 'k': 1,  # --set wins
                     'norm_layer': 'groupnorm'}


@pytest.mark.parametrize('run, message', [
    ('cifar_resnet14', 'is not a run'), ('-bn_only', 'is not a run'), ('cifar_resnet14-', 'is not a run'),
    ('', 'is not a run'), ('cifar_resnet14-bn_only-x', "'x' is not a variant; valid: model.norm_layer"),
    ('cifar_resnet14-bn_only-uniform-fixed', "'uniform' and 'fixed' both set model.norm_init")])
def test_bad_runs_are_config_errors(run, message):
    stage = load_stage()
    args = stage.parse_args(['--data', 'd', '--out', 'o', f'--run={run}'])  # '=': a run may start with '-'
    with pytest.raises(ConfigError, match=message):
        stage.run_overrides(args)


def test_bad_run_is_a_clean_error(tmp_path, capsys):
    stage = load_stage()
    (tmp_path / 'params.yaml').write_text('arch: cifar_resnet14\n')
    assert stage.main(['--data', str(tmp_path), '--out', str(tmp_path / 'o'), '--params',
                       str(tmp_path / 'params.yaml'), '--run', 'cifar_resnet14_bn_only']) == 1
    assert 'is not a run' in capsys.readouterr().err
