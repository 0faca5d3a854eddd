"""Where a stage process spends its wall time, for benchmarks/time_breakdown.py.

Off unless ``$BNONLY_TIMING_LOG`` names a file. Then every stage process appends one JSON line to it when it
exits: its command line, when the process started (from /proc, so interpreter start-up and imports count),
when its ``main`` began (after the imports), when it ended, and the seconds spent in each named phase::

    with timing.phase('train_steps'):
        ...

Phases add up when entered more than once. Only the outermost phase counts while phases nest, so the phase
seconds never exceed the wall time. This module imports nothing heavy: the report stages use it too.
"""
import atexit
import json
import os
import sys
import time
from contextlib import contextmanager

LOG_VARIABLE = 'BNONLY_TIMING_LOG'
PHASES = ('data', 'train_steps', 'test_eval', 'analysis_passes')  # the phases the breakdown reports by name

_phases: dict[str, float] = {}
_depth = 0
_script_start: float | None = None


def process_start() -> float:
    """The wall-clock time this process started (Linux), or now where /proc cannot say.

    The kernel gives the start in clock ticks since boot. Boot time plus that would be off by up to a second
    (/proc/stat's btime is whole seconds), more than a report stage's whole run; so this takes the process's
    age on the boot clock instead and subtracts it from now.
    """
    try:
        with open('/proc/self/stat') as stat:
            ticks = int(stat.read().rsplit(')', 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf('SC_CLK_TCK')
        return time.time() - age
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time()


@contextmanager
def phase(name: str):
    global _depth
    start = time.perf_counter()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _phases[name] = _phases.get(name, 0.0) + time.perf_counter() - start


def start_script() -> None:
    """Call first thing in a stage script's ``main``: the time from the process's start to here is start-up
    and imports. Registers the log line written at exit."""
    global _script_start
    if _script_start is None and os.environ.get(LOG_VARIABLE):
        _script_start = time.time()
        atexit.register(_write)


def _write() -> None:
    record = {'argv': sys.argv, 'process_start': process_start(), 'script_start': _script_start,
              'end': time.time(), 'phases': dict(_phases)}
    with open(os.environ[LOG_VARIABLE], 'a') as log:
        log.write(json.dumps(record) + '\n')
