"""Stopping a training run on request: the signals, the stop request, and the exit code that says "state saved".

SIGINT, SIGTERM and SIGUSR2 (SLURM's warning before the time limit, ``--signal=USR2@<seconds>``) ask the run
to stop. The trainer finishes the step it is in, saves its resume state atomically (resume.py: mid-epoch, with
the position in the epoch's data order and the epoch's running sums), and raises ``TrainingStopped``, whose
message is one line saying what was saved and how to resume; stages/train.py prints it as ``train: stopped
...`` and exits with ``STOPPED_EXIT_CODE``. Rerunning the same command (``dvc repro``) resumes and ends
bit-identical to a run that was never stopped.

``STOPPED_EXIT_CODE`` is 75, ``EX_TEMPFAIL`` of sysexits.h ("try again later"): distinct from 0 (done),
1 (a one-line error: config, data, disk, divergence) and from death by a signal (negative in Python's
``returncode``, 128 + n in a shell). ``stopped(returncode)`` tells a launcher (SLURM requeue) which it got.

Only the training process installs the handlers (``on_signals``, around ``train_run``), and restores the
previous ones afterwards; it installs them even where the parent process ignores these signals (SIG_IGN is
inherited across exec). Further signals while it saves change nothing: the stop is already requested, and
the write is atomic, so nothing can tear it. SIGKILL cannot be caught: the work since the last saved state
(every epoch end) is lost, and a rerun resumes from there.

Torch-free, so launchers can import the exit code without importing torch.
"""
import contextlib
import signal
import threading
from collections.abc import Iterator

STOPPED_EXIT_CODE = 75
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)


def stopped(returncode: int | None) -> bool:
    """Whether a training process's exit status means "stopped on request, resume state saved"."""
    return returncode == STOPPED_EXIT_CODE


class TrainingStopped(Exception):
    """The run stopped on request after saving its resume state; ``str()`` is the one-line report."""

    exit_code = STOPPED_EXIT_CODE


class StopRequest:
    """Set by a signal handler (or by code: ``request``); the trainer reads it after every step.

    ``at=(epoch, steps)``: request a stop by itself once ``steps`` steps of 0-based epoch ``epoch`` are done
    (``steps`` = the epoch's length: at the epoch's end, after its evaluation and save), so that tests can
    stop a run at an exact step.
    """

    def __init__(self, *, at: tuple[int, int] | None = None):
        self.reason: str | None = None
        self.at = at

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: str = 'a stop request') -> None:
        """Ask the run to stop; the first reason is kept (it names what stopped the run)."""
        if self.reason is None:
            self.reason = reason

    def after_step(self, epoch: int, steps: int) -> bool:
        """Called by the trainer once ``steps`` steps of ``epoch`` are done: whether to stop now."""
        if self.at is not None and (epoch, steps) >= self.at:
            self.request()
        return self.requested


@contextlib.contextmanager
def on_signals(stop: StopRequest, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[StopRequest]:
    """Within the block, each of ``signals`` requests ``stop`` instead of its usual effect; the previous
    handlers come back afterwards. Outside the main thread (where Python cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        stop.request(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
