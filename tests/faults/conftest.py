"""The fault suite's fixtures: the tiny project at four points of one reproduction (harness.py says why), and
commands launched in their own process group, killed at the end of the test whatever happened."""
from pathlib import Path

import pytest

from dvc_repo import DvcRepo
from fake_datasets import write_fashion_mnist
from faults.harness import TEST_IMAGES, TRAIN_IMAGES, Launched, tiny_params


@pytest.fixture(scope='session')
def raw_data(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp('raw')
    write_fashion_mnist(raw, train=TRAIN_IMAGES, test=TEST_IMAGES)
    return raw


@pytest.fixture(scope='session')
def fresh(tmp_path_factory, raw_data) -> DvcRepo:
    """Nothing run yet."""
    return DvcRepo.create(tmp_path_factory.mktemp('fresh') / 'repo', tiny_params(raw_data))


def _reproduced(tmp_path_factory, before: DvcRepo, stage: str) -> DvcRepo:
    repo = before.copy(tmp_path_factory.mktemp(stage) / 'repo')
    assert stage in repo.repro(stage)
    return repo


@pytest.fixture(scope='session')
def prepared(tmp_path_factory, fresh) -> DvcRepo:
    """`dvc repro prepare` done."""
    return _reproduced(tmp_path_factory, fresh, 'prepare')


@pytest.fixture(scope='session')
def trained(tmp_path_factory, prepared) -> DvcRepo:
    """`dvc repro train` done."""
    return _reproduced(tmp_path_factory, prepared, 'train')


@pytest.fixture(scope='session')
def reference(tmp_path_factory, trained) -> DvcRepo:
    """`dvc repro analyze` done, uninterrupted: what every recovered run must match."""
    return _reproduced(tmp_path_factory, trained, 'analyze')


@pytest.fixture
def launch():
    """``launch(repo, *command, env=...)`` -> Launched; whatever is still running at the end is killed."""
    started = []

    def start(repo: DvcRepo, *command: str, env: dict | None = None) -> Launched:
        started.append(Launched(repo, *command, env=env))
        return started[-1]
    yield start
    for launched in started:
        launched.kill()
