"""stages/train.py's command line: --run ARCH-TRAINABLE (how the paper grid's DVC matrix names a cell)."""
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


@pytest.mark.parametrize('run', ['cifar_resnet14', 'cifar_resnet14-bn_only-x', '-bn_only', 'cifar_resnet14-', ''])
def test_run_needs_exactly_one_dash(run):
    stage = load_stage()
    with pytest.raises(ConfigError, match='exactly one'):
        stage.split_run(run)


def test_bad_run_is_a_clean_error(tmp_path, capsys):
    stage = load_stage()
    (tmp_path / 'params.yaml').write_text('arch: cifar_resnet14\n')
    assert stage.main(['--data', str(tmp_path), '--out', str(tmp_path / 'o'), '--params',
                       str(tmp_path / 'params.yaml'), '--run', 'cifar_resnet14_bn_only']) == 1
    assert 'exactly one' in capsys.readouterr().err
