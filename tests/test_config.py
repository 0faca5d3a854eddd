"""params.yaml is read safely and every bad value fails before any work, naming the key and what is valid."""
import copy
import dataclasses
import subprocess
import sys

import pytest
import yaml

from bnonly import config, settings
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
    (lambda p: p['model'].update(norm_init='ones'), "model.norm_init: 'ones' is not valid; valid: "),
    (lambda p: p['model'].update(k=0), 'model.k: must be >= 1, got 0'),
])
def test_bad_values_are_named(params_file, edit, message):
    with pytest.raises(ConfigError) as error:
        load_params(params_file(edit))
    assert message in str(error.value)


def test_yaml_cannot_run_code(params_file):
    path = params_file(text='arch: !!python/object/apply:os.system ["echo owned"]\n')
    with pytest.raises(ConfigError, match='could not determine a constructor') as error:
        load_params(path)
    assert str(error.value).startswith(f'{path}: not valid YAML: line 1, column 7: ')
    assert isinstance(error.value.__cause__, yaml.YAMLError)


def one_line_error(path, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as error:
        params = load_params(path, *args, **kwargs)
        config.require(params, *(f'grid.{key}' for key in settings.required_keys(settings.GridSettings)))
    message = str(error.value)
    assert '\n' not in message and message.startswith(str(path)), message
    return message


# What a truncated or hand-broken file looks like to the reader: cut inside a value, cut at a line's end (valid
# YAML, keys missing), a tab indent, a list instead of a mapping, bytes that are not text.
BROKEN = {
    'cut mid-value': (lambda text: text[:text.index('  seeds:') + 10], 'not valid YAML: line '),
    'cut at a line end': (lambda text: text[:text.index('  seeds:')], "params key 'grid.seeds' is missing"),
    'tab indent': (lambda text: text.replace('  seeds:', '\tseeds:'), "found character '\\t' that cannot start"),
    'a list': (lambda text: '- grid\n- figures\n', 'params: expected a mapping'),
}


@pytest.mark.parametrize('name', list(BROKEN))
def test_a_broken_grid_file_is_one_line_naming_it(tmp_path, name):
    edit, message = BROKEN[name]
    path = tmp_path / 'grid.yaml'
    path.write_text(edit((PROJECT / 'grid.yaml').read_text()))
    assert message in one_line_error(path)


def test_a_params_file_that_is_not_text_is_named(tmp_path):
    path = tmp_path / 'params.yaml'
    path.write_bytes(b'\xff\xfe\x00 not text')
    assert 'unreadable' in one_line_error(path)


def test_a_run_token_typo_names_the_file_the_key_and_the_valid_sets(tmp_path):
    path = tmp_path / 'grid.yaml'
    grid = (PROJECT / 'grid.yaml').read_text()
    path.write_text(grid.replace('cifar_resnet14-bn_only,', 'cifar_resnet14-bn_onyl,', 1))
    assert one_line_error(path) == (f"{path}: grid.runs[1] (trainable): 'bn_onyl' is not valid; valid: "
                                    f"{', '.join(settings.choices(settings.RunSettings, 'trainable'))}")
    path.write_text(grid.replace('cifar_resnet14-bn_only,', 'cifar_resnet14-bn_only-groupnrom,', 1))
    assert ("grid.runs[1]: run 'cifar_resnet14-bn_only-groupnrom': 'groupnrom' is not a variant; valid: "
            "model.norm_layer: batchnorm, groupnorm, layernorm") in one_line_error(path)


def test_an_override_that_breaks_a_value_is_named_with_the_file(params_file):
    path = params_file()
    with pytest.raises(ConfigError) as error:
        load_params(path, ['arch=cifar_resnet14', 'trainable=bn_onyl'])
    assert str(error.value).startswith(f"{path} with arch=cifar_resnet14 trainable=bn_onyl: trainable: 'bn_onyl' "
                                       f"is not valid; valid: all, all_but_bn, bn_only")
    with pytest.raises(ConfigError, match=r"override 'train.milestones=\[1,': not a YAML value"):
        load_params(path, ['train.milestones=[1,'])


def test_a_missing_key_names_the_file_it_belongs_in(params_file):
    path = params_file(lambda p: p['train'].pop('lr'))
    params = load_params(path)
    with pytest.raises(ConfigError, match=f"^{path}: params key 'train.lr' is missing$"):
        config.section_values(settings.TrainSettings, params, 'train')
    assert params == yaml.safe_load(path.read_text())  # still a plain dict to every reader
    assert yaml.safe_load(yaml.safe_dump(copy.deepcopy(params))) == params


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
    assert settings.choices(settings.RunSettings, 'dataset') == DATASETS
    assert settings.choices(settings.RunSettings, 'arch') == tuple(models.ARCHITECTURES)
    assert settings.choices(settings.RunSettings, 'trainable') == tuple(trainable.TRAINABLE_SETS)
    assert settings.choices(settings.ModelSettings, 'norm_layer') == cifar_resnet.NORM_LAYERS
    assert settings.choices(settings.TrainSettings, 'precision') == numerics.PRECISIONS
    assert settings.choices(settings.TrainSettings, 'memory_format') == tuple(numerics.MEMORY_FORMATS)
    assert settings.choices(settings.TrainSettings, 'compile') == compiling.COMPILE_MODES
    assert settings.choices(settings.AnalyzeSettings, 'dead_relu_granularity') == dead_relu.GRANULARITIES


@pytest.mark.parametrize('section, cls', [('data', settings.DataSettings), ('model', settings.ModelSettings),
                                          ('train', settings.TrainSettings), ('analyze', settings.AnalyzeSettings),
                                          ('figures', settings.FiguresSettings)])
def test_every_default_passes_its_own_check(section, cls):
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            value = list(field.default) if isinstance(field.default, tuple) else field.default
            config.validate({section: {field.name: value}})


def test_defaults_that_stages_fall_back_on_are_the_project_files():
    """A params file without a key draws and analyses as the project's own files do (one home for each default)."""
    grid = yaml.safe_load((PROJECT / 'grid.yaml').read_text())
    assert dataclasses.asdict(settings.FiguresSettings()) == {k: tuple(v) if isinstance(v, list) else v
                                                            for k, v in grid['figures'].items()}
    single = yaml.safe_load((PROJECT / 'params.yaml').read_text())
    assert settings.default(settings.TrainSettings, 'eval_batch_size') == single['train']['eval_batch_size']
    from bnonly.analysis import AnalysisSettings
    analysis = AnalysisSettings.from_params({'analyze': {'thresholds': [0.5, 0.1]}})
    assert analysis == AnalysisSettings(**{**single['analyze'], 'thresholds': (0.1, 0.5)})


def test_the_grid_model_section_has_no_norm_init(tmp_path):
    """Each cell sets the norm init itself (bnonly.paper.grid): the grid file cannot."""
    grid = yaml.safe_load((PROJECT / 'grid.yaml').read_text())
    grid['grid']['model']['norm_init'] = 'fixed'
    path = tmp_path / 'grid.yaml'
    path.write_text(yaml.safe_dump(grid))
    with pytest.raises(ConfigError, match="unknown params key 'grid.model.norm_init'"):
        load_params(path)


def test_the_checker_names_what_dvc_may_not(tmp_path, capsys):
    """`python -m bnonly.config`: for a grid.yaml DVC fails on first (an empty list, a missing section), whose
    message from DVC names neither the file nor the key."""
    grid = (PROJECT / 'grid.yaml').read_text()
    path = tmp_path / 'grid.yaml'
    path.write_text(grid[:grid.index('  seeds:')])  # cut at a line end: every later key missing
    assert config.main([str(PROJECT / 'params.yaml'), str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == f'{PROJECT / "params.yaml"}: ok\n'
    assert err == f"error: {path}: params key 'grid.seeds' is missing\n"
    content = yaml.safe_load(grid)
    content['grid']['analyze'] = {}
    path.write_text(yaml.safe_dump(content))
    assert config.main([str(path)]) == 1
    assert "params key 'grid.analyze.thresholds' is missing" in capsys.readouterr().err
    content['grid']['analyse'] = content['grid'].pop('analyze')
    path.write_text(yaml.safe_dump(content))
    assert config.main([str(path)]) == 1
    assert "unknown params key 'grid.analyse'; did you mean 'grid.analyze'?" in capsys.readouterr().err
    for name in ('params.yaml', 'grid.yaml', 'params/paper_cifar10.yaml', 'params/paper_imagenet.yaml',
                 'extensions/grid.yaml'):
        assert config.main([str(PROJECT / name)]) == 0, capsys.readouterr().err
