"""A pipeline's pre-registration (``<pipeline>/registration.yaml``) as code reads it, and the commit that fixed it.

A registration is committed before any cell it registers is trained: the claims table of that pipeline takes its
seeds, tests, families and α from the file rather than restating them, and prints the commit that last changed
it, so a reader can check with ``git log`` that the hypotheses came first. tests/test_registrations.py fails if
a registration changed in or after the commit that first added its pipeline's dvc.lock.
"""
import functools
import subprocess
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
NO_GIT = 'unknown (no git)'


@functools.cache
def load(path: str) -> dict:
    """The registration at ``path``, relative to the project root (as git names it)."""
    return yaml.safe_load((PROJECT / path).read_text())


def fixing_commit(path: str, root: Path = PROJECT) -> str:
    """The commit that last changed ``path`` (``git log -1 --format=%H -- PATH``): NO_GIT outside a git checkout
    (an exported copy, a machine without git), 'not committed' in one that has never committed it."""
    try:
        result = subprocess.run(['git', 'log', '-1', '--format=%H', '--', path], cwd=root, capture_output=True,
                                text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return NO_GIT
    if result.returncode:
        return NO_GIT
    return result.stdout.strip() or 'not committed'
