"""Malformed inputs through `dvc repro`: a truncated or invalid params.yaml or grid.yaml, and a grid run with a
typo (refused by the grid_recipe stage, before any cell). Each stops before any training with one line naming
the file and the key (and the valid values where there is a list of them); no stage leaves outputs.

DVC reads both files itself before any stage of ours runs (params.yaml for the stages' params, grid.yaml as
dvc.yaml's ``vars``). For YAML it cannot parse it names the file; for a grid.yaml that parses but lacks what
dvc.yaml's matrices expand (a cut file) it names the key but not the file, or neither (an empty list:
"'Value' object is not iterable"). `python -m bnonly.config` then names both.
"""
import subprocess
import sys

import pytest

from bnonly import vocabulary
from dvc_repo import dvc_env

pytestmark = pytest.mark.slow


def stage_errors(output: str) -> list[str]:
    """The lines our stage scripts print on failure (``<stage>: error: ...``)."""
    assert 'Traceback' not in output, output
    return [line for line in output.splitlines() if ': error: ' in line and not line.startswith('ERROR')]


def checker(repo, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'bnonly.config', *files], cwd=repo.root, env=dvc_env(repo.root),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(prepared, tmp_path):
    return prepared.copy(tmp_path / 'repo')


def cut(path, before: str, extra: int = 0) -> None:
    """Truncate the file just before the first ``before`` (plus ``extra`` characters of it)."""
    text = path.read_text()
    path.write_text(text[:text.index(before) + extra])


def test_a_truncated_params_file_names_the_file_and_key(repo):
    cut(repo.root / 'params.yaml', '  momentum:')
    result = repo.run('dvc', 'repro', 'train', check=False)
    assert result.returncode != 0
    assert stage_errors(result.stdout + result.stderr) == \
        ["train: error: params.yaml: params key 'train.momentum' is missing"]
    assert not (repo.root / 'results' / 'train' / 'model.pt').exists()


def test_params_yaml_that_is_not_yaml_is_named_by_dvc_and_by_the_checker(repo):
    path = repo.root / 'params.yaml'
    path.write_text(path.read_text().replace('  batch_size:', ' batch_size:'))  # one space short
    result = repo.run('dvc', 'repro', 'train', check=False)
    assert result.returncode != 0
    assert "unable to read: 'params.yaml', YAML file structure is corrupted" in result.stderr, result.stderr
    check = checker(repo, 'params.yaml')
    assert check.returncode == 1
    assert check.stderr.startswith('error: params.yaml: not valid YAML: line ') and check.stderr.count('\n') == 1


@pytest.mark.parametrize('value, message', [
    ("'bn_onyl'", "trainable: 'bn_onyl' is not valid; valid: all, all_but_bn, bn_only, output_only"),
    ('-0.1', 'train.lr: must be > 0, got -0.1'),
])
def test_a_bad_value_names_the_file_key_and_valid_values(repo, value, message):
    path = repo.root / 'params.yaml'
    key = 'trainable' if 'bn' in value else '  lr'
    lines = [f'{key}: {value}' if line.startswith(f'{key}:') else line for line in path.read_text().splitlines()]
    path.write_text('\n'.join(lines) + '\n')
    result = repo.run('dvc', 'repro', 'train', check=False)
    assert result.returncode != 0
    (line,) = stage_errors(result.stdout + result.stderr)
    assert line.startswith(f'train: error: params.yaml: {message}'), line


def test_a_truncated_grid_file_is_named_by_the_checker(repo):
    cut(repo.root / 'grid.yaml', '  seeds:')
    result = repo.run('dvc', 'repro', 'train', check=False)  # even a single-experiment stage: DVC reads it first
    assert result.returncode != 0
    assert "failed to parse 'stages.grid_train.matrix' in 'dvc.yaml': Could not find 'grid.seeds'" in result.stderr
    check = checker(repo)
    assert (check.returncode, check.stdout) == (1, 'params.yaml: ok\n')
    assert check.stderr == "error: grid.yaml: params key 'grid.seeds' is missing\n"


def test_a_grid_list_left_empty_is_named_by_the_checker(repo):
    cut(repo.root / 'grid.yaml', '  seeds:', len('  seeds:'))
    result = repo.run('dvc', 'repro', 'train', check=False)
    assert result.returncode != 0
    assert "'Value' object is not iterable" in result.stderr  # DVC's words: neither file nor key
    assert checker(repo, 'grid.yaml').stderr == 'error: grid.yaml: grid.seeds: expected a non-empty list, got None\n'


@pytest.mark.parametrize('run, key, name', [('cifar_resnet14-bn_onyl', 'trainable', 'bn_onyl'),
                                             ('cifar_resnt14-bn_only', 'arch', 'cifar_resnt14')])
def test_a_run_name_typo_stops_grid_recipe_naming_grid_yaml_the_key_and_valid_names(repo, raw_data, run, key, name):
    params = repo.params
    grid = params['grid']
    grid['data'].update(root=str(raw_data), verify_checksums=False)
    grid.update(runs=[run], analyze_runs=[run], seeds=[0])
    repo.write_params(params)
    cell = f'grid_train@{run}-0'
    assert cell in repo.run('dvc', 'stage', 'list', '--name-only').stdout.split()
    result = repo.run('dvc', 'repro', cell, check=False)
    assert result.returncode != 0
    valid = ', '.join(vocabulary.ARCHITECTURES if key == 'arch' else vocabulary.TRAINABLE_SETS)
    message = f"grid.yaml: grid.runs[0] ({key}): {name!r} is not valid; valid: {valid}"
    assert stage_errors(result.stdout + result.stderr) == [f'grid_recipe: error: {message}']
    assert f"Running stage '{cell}'" not in result.stdout
    assert not (repo.root / 'results' / 'grid').exists() and not (repo.root / 'results' / 'grid_recipe').exists()
    assert checker(repo, 'grid.yaml').stderr == f'error: {message}\n'
