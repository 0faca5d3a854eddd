"""Shared pytest fixtures. Keep shared fixtures at the top of this file, each saying what it is for."""
import subprocess
from pathlib import Path

import pytest
import torch

# --- shared fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def single_thread():
    """Run a module's tests on one intra-op thread, then restore the previous thread count.

    For tests made of many tiny ops (a forward pass through ResNet-866 at 8x8): a second thread buys nothing
    there, and on a 2-core machine shared with other processes the threads' synchronisation made such tests
    2-4x slower (measured: the library tests took 88 s with 2 threads, 24 s with 1). Opt in per module with
    ``pytestmark = pytest.mark.usefixtures('single_thread')``.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def mount_tmpfs(tmp_path):
    """``mount_tmpfs('4m')``: a real file system of that size under ``tmp_path``, a full disk for the tests that
    need one (root and mount required: skipped, with the reason, where it cannot be mounted); unmounted after
    the test."""
    mounts = []

    def mount(size: str) -> Path:
        folder = tmp_path / f'tmpfs{len(mounts)}'
        folder.mkdir()
        result = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(folder)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f'cannot mount a tmpfs here (needs root): {result.stderr.strip()}')
        mounts.append(folder)
        return folder

    yield mount
    for folder in mounts:
        subprocess.run(['umount', '-l', str(folder)], check=True)
