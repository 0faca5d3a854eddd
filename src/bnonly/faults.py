"""Pause points for the fault-injection tests (tests/faults): a process can be held inside a named phase, so
that a test's signal (SIGKILL, SIGTERM, SIGINT) lands exactly there.

With ``BNONLY_FAULT_PAUSE=<phase>`` in its environment, the first time a process reaches ``point(<phase>)``
it writes the phase's name to the file ``$BNONLY_FAULT_FILE`` and waits until the test removes that file
(at most ``WAIT_S`` seconds), then carries on; later points of the same phase do not wait. Without the
variable a point is one dictionary look-up.

The phases, and where they are:
- ``prepare``: the prepared copy half written (its first split written, the others and meta.json not yet);
- ``first_step``: before the first training step of a run that starts from scratch;
- ``mid_epoch``: before the middle step of the last epoch;
- ``checkpoint_write``: the resume state's temporary file written, not yet renamed into place;
- ``final_save``: the same for the trained model.pt;
- ``test_eval``: inside a test-set evaluation, after its first batch;
- ``analysis``: the analysis stage's metrics.json written, its tables and plots not yet.

Torch-free, as ``bnonly.atomic`` calls it.
"""
import os
import time
from pathlib import Path

PHASES = ('prepare', 'first_step', 'mid_epoch', 'checkpoint_write', 'final_save', 'test_eval', 'analysis')
WAIT_S = 120
_paused: set[str] = set()


def point(phase: str) -> None:
    """Wait here when the environment asks to pause at ``phase`` (see the module docstring)."""
    if os.environ.get('BNONLY_FAULT_PAUSE') != phase or phase in _paused:
        return
    _paused.add(phase)
    flag = Path(os.environ['BNONLY_FAULT_FILE'])
    partial = flag.with_name(f'.{flag.name}.tmp-{os.getpid()}')
    partial.write_text(phase)
    os.replace(partial, flag)  # the test never reads a half-written name
    deadline = time.monotonic() + WAIT_S
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
