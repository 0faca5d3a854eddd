"""The budget study's pre-registration stays as it was when the study was trained: study/registration.yaml must
not change in any commit from the one that first added study/dvc.lock (the first run of the study's cells)
on. Until that lock is committed, the registration must be committed and unchanged in the working tree and
the index, so that nothing can be trained against an uncommitted registration. Outside a git checkout there
is nothing to check against, and the test says so."""
import subprocess

import pytest

from dvc_repo import PROJECT

REGISTRATION, LOCK = 'study/registration.yaml', 'study/dvc.lock'


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(['git', *args], cwd=PROJECT, capture_output=True, text=True, check=check)


@pytest.fixture(scope='module')
def in_git():
    if git('rev-parse', '--is-inside-work-tree', check=False).returncode:
        pytest.skip('not a git checkout: the registration\'s history cannot be checked')


def commits_changing(path: str) -> list[str]:
    return git('log', '--format=%H', '--', path).stdout.split()


def first_lock_commit() -> str | None:
    added = git('log', '--diff-filter=A', '--format=%H', '--', LOCK).stdout.split()
    return added[-1] if added else None


def test_the_registration_is_committed_and_unchanged_in_the_working_tree(in_git):
    assert commits_changing(REGISTRATION), f'{REGISTRATION} is not committed: register before training'
    changed = git('status', '--porcelain', '--', REGISTRATION).stdout.strip()
    assert not changed, f'{REGISTRATION} differs from its commit ({changed}): a change voids the registration'


def test_the_registration_did_not_change_once_the_study_was_trained(in_git):
    lock = first_lock_commit()
    if lock is None:
        pytest.skip(f'{LOCK} is not committed yet: the study has not been trained (the test above applies)')
    later = [commit for commit in commits_changing(REGISTRATION)
             if git('merge-base', '--is-ancestor', lock, commit, check=False).returncode == 0]
    assert not later, (f'{REGISTRATION} changed in {", ".join(c[:12] for c in later)}, at or after {lock[:12]}, '
                       f'which first committed {LOCK}: the registration is void; register a new study instead')
