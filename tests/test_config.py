"""params.yaml is read safely and every bad value fails before any work, naming the key and what is valid."""
import dataclasses
import subprocess
import sys

import pytest
import yaml

from bnonly import config
from bnonly.config import ConfigError, load_params
from dvc_repo import PROJECT


@pytest.fixture
def params_file(tmp_path):
    def write(edit=None, text=None):
        path = tmp_path / 'params.yaml'
        if text is not None:
            path.write_text(text)
            return path
        params = yaml.safe_load((PROJECT / 'params.yaml').read_text())
        if edit:
            edit(params)
        path.write_text(yaml.safe_dump(params))
        return path
    return write


def test_project_params_are_valid():
    params = load_params(PROJECT / 'params.yaml')
    assert params['trainable'] == 'all'  # so `dvc exp run -S trainable=bn_only` is the central comparison


@pytest.mark.parametrize('edit, message', [
    (lambda p: p.update(arch='cifar_resnet15'), "arch: 'cifar_resnet15' is not valid; valid: cifar_resnet14"),
    (lambda p: p.update(trainable='bn'), "trainable: 'bn' is not valid; valid: all, all_but_bn, bn_only"),
    (lambda p: p.update(dataset='mnist'), "dataset: 'mnist' is not valid; valid: fashion_mnist, cifar10, imagenet"),
    (lambda p: p['train'].update(lr='fast'), "train.lr: expected a number, got 'fast'"),
    (lambda p: p['train'].update(lr=-0.1), 'train.lr: must be > 0'),
    (lambda p: p['train'].update(epochs=0), 'train.epochs: must be > 0'),
    (lambda p: p['train'].update(epochs=2.5), 'train.epochs: expected an integer'),
    (lambda p: p['train'].update(lr=float('nan')), 'train.lr: expected a finite number'),
    (lambda p: p['train'].update(learning_rate=0.1), "unknown params key 'train.learning_rate'"),
    (lambda p: p.update(trainabel='all'), "did you mean 'trainable'?"),
    (lambda p: p['model'].update(batchnorm_init='ones'), "model.batchnorm_init: 'ones' is not valid; valid: "),
])
def test_bad_values_are_named(params_file, edit, message):
    with pytest.raises(ConfigError) as error:
        load_params(params_file(edit))
    assert message in str(error.value)


def test_yaml_cannot_run_code(params_file):
    path = params_file(text='arch: !!python/object/apply:os.system ["echo owned"]\n')
    with pytest.raises(yaml.YAMLError):
        load_params(path)


def test_overrides_are_parsed_not_evaluated(params_file):
    params = load_params(params_file(), ['train.milestones=[1, 2]', 'seed=3'])
    assert params['train']['milestones'] == [1, 2] and params['seed'] == 3
    with pytest.raises(ConfigError, match='train.epochs: expected an integer'):
        load_params(params_file(), ['train.epochs=__import__("os")'])


def test_train_stage_refuses_missing_prepared_data(tmp_path, params_file):
    result = subprocess.run([sys.executable, str(PROJECT / 'stages' / 'train.py'), '--data', str(tmp_path / 'none'),
                             '--out', str(tmp_path / 'out'), '--params', str(params_file())],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert 'dvc repro prepare' in result.stderr and not (tmp_path / 'out').exists()


def test_norm_layer_is_a_checked_model_setting(params_file):
    with pytest.raises(ConfigError, match="model.norm_layer: 'batchnormal' is not valid; valid: batchnorm, groupnorm, "
                                          "layernorm"):
        load_params(params_file(lambda p: p['model'].update(norm_layer='batchnormal')))
    assert load_params(params_file(lambda p: p['model'].update(norm_layer='groupnorm')))['model']['norm_layer'] == \
        'groupnorm'


def test_allowed_names_are_those_their_modules_define():
    from bnonly import models, trainable
    from bnonly.analysis import dead_relu
    from bnonly.data import DATASETS
    from bnonly.models import cifar_resnet
    from bnonly.training import compiling, numerics
    assert config.choices(config.RunSettings, 'dataset') == DATASETS
    assert config.choices(config.RunSettings, 'arch') == tuple(models.ARCHITECTURES)
    assert config.choices(config.RunSettings, 'trainable') == tuple(trainable.TRAINABLE_SETS)
    assert config.choices(config.ModelSettings, 'norm_layer') == cifar_resnet.NORM_LAYERS
    assert config.choices(config.TrainSettings, 'precision') == numerics.PRECISIONS
    assert config.choices(config.TrainSettings, 'memory_format') == tuple(numerics.MEMORY_FORMATS)
    assert config.choices(config.TrainSettings, 'compile') == compiling.COMPILE_MODES
    assert config.choices(config.AnalyzeSettings, 'dead_relu_granularity') == dead_relu.GRANULARITIES


@pytest.mark.parametrize('section, settings', [('data', config.DataSettings), ('model', config.ModelSettings),
                                               ('train', config.TrainSettings), ('analyze', config.AnalyzeSettings),
                                               ('figures', config.FiguresSettings)])
def test_every_default_passes_its_own_check(section, settings):
    for field in dataclasses.fields(settings):
        if field.default is not dataclasses.MISSING:
            value = list(field.default) if isinstance(field.default, tuple) else field.default
            config.validate({section: {field.name: value}})


def test_defaults_that_stages_fall_back_on_are_the_project_files():
    """A params file without a key draws and analyses as the project's own files do (one home for each default)."""
    grid = yaml.safe_load((PROJECT / 'grid.yaml').read_text())
    assert dataclasses.asdict(config.FiguresSettings()) == {k: tuple(v) if isinstance(v, list) else v
                                                            for k, v in grid['figures'].items()}
    single = yaml.safe_load((PROJECT / 'params.yaml').read_text())
    assert config.default(config.TrainSettings, 'eval_batch_size') == single['train']['eval_batch_size']
    from bnonly.analysis import AnalysisSettings
    settings = AnalysisSettings.from_params({'analyze': {'thresholds': [0.5, 0.1]}})
    assert settings == AnalysisSettings(**{**single['analyze'], 'thresholds': (0.1, 0.5)})


def test_the_grid_model_section_has_no_batchnorm_init(tmp_path):
    """Each cell sets the BatchNorm init itself (bnonly.paper.grid): the grid file cannot."""
    grid = yaml.safe_load((PROJECT / 'grid.yaml').read_text())
    grid['grid']['model']['batchnorm_init'] = 'fixed'
    path = tmp_path / 'grid.yaml'
    path.write_text(yaml.safe_dump(grid))
    with pytest.raises(ConfigError, match="unknown params key 'grid.model.batchnorm_init'"):
        load_params(path)
