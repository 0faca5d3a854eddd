"""Every pre-registered pipeline's registration stays as it was when its cells were trained: <pipeline>/registration.yaml
must not change in any commit from the one that first trained its registered cells on. That commit is the one that
first added <pipeline>/dvc.lock, except for a pipeline whose lock predates its registration (extensions: the lock of
its exploratory seeds): there it is the first commit whose lock names a train stage of a registered seed.
Until then, the registration must be committed and unchanged in the working tree and the index, so that nothing
can be trained against an uncommitted registration. Outside a git checkout there is nothing to check against, and
the tests say so."""
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from dvc_repo import PROJECT

PIPELINES = ('study', 'scope', 'extensions')    # each has registration.yaml and, once trained, dvc.lock
LOCK_BEFORE_REGISTRATION = ('extensions',)      # trained on other seeds before its registration


def git(*args: str, check: bool = True, root: Path = PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run(['git', *args], cwd=root, capture_output=True, text=True, check=check)


@pytest.fixture(scope='module')
def in_git():
    if git('rev-parse', '--is-inside-work-tree', check=False).returncode:
        pytest.skip('not a git checkout: a registration\'s history cannot be checked')


def commits_changing(path: str, root: Path = PROJECT) -> list[str]:
    """Newest first, as git log lists them."""
    return git('log', '--format=%H', '--', path, root=root).stdout.split()


def first_lock_commit(lock: str, root: Path = PROJECT) -> str | None:
    added = git('log', '--diff-filter=A', '--format=%H', '--', lock, root=root).stdout.split()
    return added[-1] if added else None


def first_registered_seed_commit(lock: str, seeds: list[int], root: Path = PROJECT) -> str | None:
    """The oldest commit whose ``lock`` names a train stage of one of ``seeds`` (grid_train@<run>-<seed>)."""
    stage = re.compile(rf'^\s*grid_train@\S+-({"|".join(map(str, seeds))}):\s*$', re.MULTILINE)
    for commit in reversed(commits_changing(lock, root)):
        shown = git('show', f'{commit}:{lock}', check=False, root=root)
        if shown.returncode == 0 and stage.search(shown.stdout):
            return commit
    return None


def first_trained_commit(pipeline: str, root: Path = PROJECT) -> str | None:
    """The commit from which ``pipeline``'s registration must not change; None while its cells are untrained."""
    lock = f'{pipeline}/dvc.lock'
    if pipeline in LOCK_BEFORE_REGISTRATION:
        seeds = yaml.safe_load((root / pipeline / 'registration.yaml').read_text())['seeds']
        return first_registered_seed_commit(lock, seeds, root)
    return first_lock_commit(lock, root)


def changed_after_training(pipeline: str, first: str, root: Path = PROJECT) -> list[str]:
    """The commits at or after ``first`` that changed ``pipeline``'s registration."""
    return [commit for commit in commits_changing(f'{pipeline}/registration.yaml', root)
            if git('merge-base', '--is-ancestor', first, commit, check=False, root=root).returncode == 0]


def test_every_registration_is_listed():
    assert sorted(PIPELINES) == sorted(path.parent.name for path in PROJECT.glob('*/registration.yaml'))


@pytest.mark.parametrize('pipeline', PIPELINES)
def test_the_registration_is_committed_and_unchanged_in_the_working_tree(in_git, pipeline):
    registration = f'{pipeline}/registration.yaml'
    assert commits_changing(registration), f'{registration} is not committed: register before training'
    changed = git('status', '--porcelain', '--', registration).stdout.strip()
    assert not changed, f'{registration} differs from its commit ({changed}): a change voids the registration'


@pytest.mark.parametrize('pipeline', PIPELINES)
def test_the_registration_did_not_change_once_its_cells_were_trained(in_git, pipeline):
    first = first_trained_commit(pipeline)
    if first is None:
        pytest.skip(f'{pipeline}\'s registered cells have not been trained yet (the test above applies)')
    later = changed_after_training(pipeline, first)
    assert not later, (f'{pipeline}/registration.yaml changed in {", ".join(c[:12] for c in later)}, at or after '
                       f'{first[:12]}, which first committed its trained cells to {pipeline}/dvc.lock: the '
                       f'registration is void; register a new set instead')


def test_a_lock_older_than_its_registration_is_anchored_at_the_first_registered_seed(in_git, tmp_path):
    """In a scratch repository: edits to the registration while the lock names only exploratory seeds are allowed;
    the commit whose lock first names a registered seed is the anchor, and an edit after it is caught."""
    def commit(path: str, text: str, message: str) -> str:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
        git('add', path, root=tmp_path)
        git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-qm', message, root=tmp_path)
        return git('rev-parse', 'HEAD', root=tmp_path).stdout.strip()

    git('init', '-q', root=tmp_path)
    lock, registration = 'extensions/dvc.lock', 'extensions/registration.yaml'
    commit(lock, 'stages:\n  grid_train@cifar_resnet14-random_k-k1-4:\n    cmd: x\n', 'exploratory seeds')
    commit(registration, 'seeds: [14, 15]\n', 'register')
    commit(registration, 'seeds: [14, 15]  # before training\n', 'edit before training')
    assert first_trained_commit('extensions', tmp_path) is None     # k1-4 is seed 4, not 14
    anchor = commit(lock, 'stages:\n  grid_train@cifar_resnet14-random_k-k1-14:\n    cmd: x\n', 'train seed 14')
    assert first_trained_commit('extensions', tmp_path) == anchor
    assert changed_after_training('extensions', anchor, tmp_path) == []
    late = commit(registration, 'seeds: [14, 15, 16]\n', 'extend after training')
    assert changed_after_training('extensions', anchor, tmp_path) == [late]
