"""Ctrl-C and SIGTERM in the stages that have nothing to resume from (prepare, analyze): one line, not a traceback.

Training saves a resume state and stops gracefully (bnonly.training.stopping). The other stages are short and
write their outputs whole or not at all (bnonly.atomic; prepare fills a hidden folder and renames it), and
DVC records a stage only when its command succeeds, so a stop there loses that stage's run and nothing else.
``stopped_by_signal`` turns SIGINT and SIGTERM into ``Interrupted``, an ordinary exception, so that the
writers' cleanup runs (temporary files removed) and the stage can say so in one line and exit with the
shell's code for that signal, 128 + its number.

Torch-free: the report stages can use it too.
"""
import contextlib
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The stage was asked to stop by ``signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum

    def line(self, stage: str) -> str:
        """The stage's one-line report."""
        return (f'{stage}: stopped by {self.args[0]} before it finished; nothing of this run was kept (its '
                f'outputs are written whole or not at all, and DVC records only a stage that succeeds); rerun '
                f'`dvc repro` to run it again')


@contextlib.contextmanager
def stopped_by_signal() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise ``Interrupted``; the previous handlers come back afterwards.
    Installed even where the parent ignores these signals (DVC does while its stage runs). Outside the main
    thread, where Python cannot set handlers, it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
