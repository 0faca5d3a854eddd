"""Every pre-registered pipeline's registration stays as it was when its cells were trained: <pipeline>/registration.yaml
must not change in any commit from the one that first added <pipeline>/dvc.lock (the first run of its cells) on.
Until that lock is committed, the registration must be committed and unchanged in the working tree and the index,
so that nothing can be trained against an uncommitted registration. Outside a git checkout there is nothing to
check against, and the tests say so."""
import subprocess

import pytest

from dvc_repo import PROJECT

PIPELINES = ('study', 'scope')      # each has registration.yaml and, once trained, dvc.lock


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(['git', *args], cwd=PROJECT, capture_output=True, text=True, check=check)


@pytest.fixture(scope='module')
def in_git():
    if git('rev-parse', '--is-inside-work-tree', check=False).returncode:
        pytest.skip('not a git checkout: a registration\'s history cannot be checked')


def commits_changing(path: str) -> list[str]:
    return git('log', '--format=%H', '--', path).stdout.split()


def first_lock_commit(lock: str) -> str | None:
    added = git('log', '--diff-filter=A', '--format=%H', '--', lock).stdout.split()
    return added[-1] if added else None


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
    registration, lock = f'{pipeline}/registration.yaml', f'{pipeline}/dvc.lock'
    first = first_lock_commit(lock)
    if first is None:
        pytest.skip(f'{lock} is not committed yet: its cells have not been trained (the test above applies)')
    later = [commit for commit in commits_changing(registration)
             if git('merge-base', '--is-ancestor', first, commit, check=False).returncode == 0]
    assert not later, (f'{registration} changed in {", ".join(c[:12] for c in later)}, at or after {first[:12]}, '
                       f'which first committed {lock}: the registration is void; register a new set instead')
