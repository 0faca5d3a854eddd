"""The single-experiment pipeline run by `dvc` itself: caching, what reruns, resume after SIGKILL, `exp run -S`.

Each test works on its own copy of a project that has already been reproduced once on a tiny stand-in for
Fashion-MNIST (real IDX files, random pixels, so the recorded checksums are switched off).
"""
import json
import os
import signal
import subprocess
import time

import pytest

from dvc_repo import PROJECT, DvcRepo, dvc_env, merged_params
from fake_datasets import write_fashion_mnist

pytestmark = pytest.mark.slow
TIMING = ('train_seconds', 'images_per_second')


def tiny_params(raw) -> dict:
    params = merged_params()
    params.update(dataset='fashion_mnist', arch='cifar_resnet14', trainable='all', seed=0)
    params['data'].update(root=str(raw), verify_checksums=False)
    params['train'].update(epochs=2, batch_size=32, milestones=[1], eval_batch_size=64, examples=None)
    params['analyze'].update(thresholds=[0.01, 0.1])
    return params


@pytest.fixture(scope='module')
def reproduced(tmp_path_factory):
    base = tmp_path_factory.mktemp('pipeline')
    write_fashion_mnist(base / 'raw', train=96, test=32)
    write_fashion_mnist(base / 'raw_other', train=96, test=32, seed=1)
    repo = DvcRepo.create(base / 'repo', tiny_params(base / 'raw'))
    assert repo.repro('analyze') == {'prepare', 'train', 'analyze'}
    return repo


@pytest.fixture
def repo(reproduced, tmp_path):
    return reproduced.copy(tmp_path / 'repo')


def metrics(repo, stage='train') -> dict:
    return json.loads((repo.root / 'results' / stage / 'metrics.json').read_text())


def test_nothing_changed_nothing_reruns(repo):
    assert repo.repro('analyze') == set()
    assert 'up to date' in repo.run('dvc', 'status', 'analyze').stdout


def test_analysis_param_reruns_only_analysis(repo):
    repo.set_param('analyze.histogram_bins', 7)
    assert repo.repro('analyze') == {'analyze'}


@pytest.mark.parametrize('dotted, value', [('train.lr', 0.05), ('seed', 1), ('trainable', 'bn_only'),
                                           ('model.norm_init', 'fixed')])
def test_training_params_retrain(repo, dotted, value):
    repo.set_param(dotted, value)
    assert 'train' in repo.repro('analyze')


def test_library_edit_retrains(repo):
    module = repo.root / 'src' / 'bnonly' / 'trainable.py'
    module.write_text(module.read_text() + '\n# an edit\n')
    assert 'train' in repo.repro('train')


def test_prepared_data_change_retrains(repo, reproduced):
    repo.set_param('data.root', str(reproduced.root.parent / 'raw_other'))
    assert repo.repro('train') == {'prepare', 'train'}


def saved_states(repo) -> list:
    return list((repo.root / '.scratch' / 'train').glob('*/last.pt'))


def repro_train_until_an_epoch_is_saved(repo) -> subprocess.Popen:
    """`dvc repro train` in its own process group, returned once training has saved its first epoch state."""
    process = subprocess.Popen(['dvc', 'repro', 'train'], cwd=repo.root, env=dvc_env(repo.root),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 240
    while not saved_states(repo):
        assert process.poll() is None, 'training ended before its first epoch state was written'
        assert time.monotonic() < deadline, 'no epoch state written within 240 s'
        time.sleep(0.05)
    return process


def test_sigkill_then_repro_resumes_with_identical_metrics(repo):
    repo.set_param('train.epochs', 12)
    process = repro_train_until_an_epoch_is_saved(repo)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (repo.root / 'results' / 'train' / 'metrics.json').exists()

    resumed_log = repo.run('dvc', 'repro', 'train')
    assert 'resuming from' in resumed_log.stdout + resumed_log.stderr
    resumed = metrics(repo)
    assert not saved_states(repo)  # finished runs clean up their resume state

    assert repo.repro('train', force=True) >= {'train'}  # uninterrupted, from scratch
    uninterrupted = metrics(repo)
    assert {k: v for k, v in resumed.items() if k not in TIMING} == \
           {k: v for k, v in uninterrupted.items() if k not in TIMING}


def makefile_recommit() -> list[str]:
    line = next(line for line in (PROJECT / 'Makefile').read_text().splitlines() if line.startswith('IGNORE_AGAIN := '))
    return line.split(':= ', 1)[1].split()


def git_ignores(repo, path: str) -> bool:
    return repo.run('git', 'check-ignore', '-q', path, check=False).returncode == 0


def test_a_stop_takes_back_the_ignores_and_the_recommit_writes_them_again(repo, reproduced):
    repo.set_param('data.root', str(reproduced.root.parent / 'raw_other'))  # prepare runs again, then train
    repo.set_param('train.epochs', 12)
    (repo.root / 'data' / '.gitignore').unlink()  # no entry yet, so this run's prepare writes one as it ends
    process = repro_train_until_an_epoch_is_saved(repo)
    assert git_ignores(repo, 'data/prepared')
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: train saves its state and exits, dvc fails the stage
    assert process.wait() != 0
    assert not git_ignores(repo, 'data/prepared'), 'DVC kept the entry: the recommit in the Makefile can go'

    assert repo.repro('train') == {'train'}
    assert not git_ignores(repo, 'data/prepared')
    repo.run(*makefile_recommit(), '--with-deps', 'train')  # the make targets' command, on what ran here
    assert git_ignores(repo, 'data/prepared') and git_ignores(repo, 'results/train/model.pt')
    assert 'up to date' in repo.run('dvc', 'status', 'train').stdout


def test_exp_run_set_and_diff(repo):
    repo.commit('baseline reproduced')
    repo.run('dvc', 'exp', 'run', 'analyze', '-S', 'trainable=bn_only', '-n', 'bn-only')
    shown = json.loads(repo.run('dvc', 'exp', 'show', '--json').stdout)
    assert 'bn-only' in json.dumps(shown)
    diff = repo.run('dvc', 'exp', 'diff', 'HEAD', 'bn-only', '--json').stdout
    changed = json.loads(diff)
    assert 'trainable' in json.dumps(changed['params'])
    assert 'trainable_params' in json.dumps(changed['metrics'])


def test_bad_params_fail_before_training(repo):
    repo.set_param('trainable', 'bn_onyl')
    result = repo.run('dvc', 'repro', 'train', check=False)
    assert result.returncode != 0
    assert "trainable: 'bn_onyl' is not valid; valid: all, all_but_bn, bn_only" in result.stdout + result.stderr
