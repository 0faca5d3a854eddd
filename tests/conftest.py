"""Shared pytest fixtures. Keep shared fixtures at the top of this file, each saying what it is for."""
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
