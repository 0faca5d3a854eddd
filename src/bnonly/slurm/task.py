"""What one array task runs: a grid cell's stages with `dvc repro` in a private clone of the workspace.

The task never writes to the workspace. It clones the submitted commit next to the logs
(``git clone --shared``: the clone borrows the workspace's git objects), copies in the grid files as they
were at submit time, points the clone's DVC cache at the workspace's cache with links instead of copies,
and runs ``dvc repro <train stage> [<analysis stage>]``. DVC restores the shared stages (``grid_recipe``,
``grid_prepare``) from the run-cache and cache; the cell's outputs and its run-cache entry land in the
shared cache, from which the workspace's own ``dvc repro`` restores them afterwards.

Stopping: SLURM signals every process of the job (SIGTERM for ``scontrol requeue`` and preemption, SIGUSR2
``signal_delay_s`` before the time limit). The dvc process ignores both, so that it outlives the training
process and reports; the training process saves its resume checkpoint under ``$BNONLY_SCRATCH`` (shared,
keyed by the cell and the run's fingerprint) and exits with its "stopped" code. On SIGUSR2, submitit calls
:meth:`CellTask.checkpoint`, which forwards the stop, waits for the training to save, and hands submitit
the same task to requeue (at most ``max_requeues`` times). SLURM itself requeues after ``scontrol requeue``.
Either way the requeued task clones afresh and `dvc repro` resumes the training from the checkpoint.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bnonly.slurm.cells import Cell
from bnonly.slurm.records import WorkDir

# What SLURM sends to stop a task: SIGTERM on requeue or preemption, SIGUSR2 before the time limit.
SLURM_STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR2)
# How long a stopped training process may take to finish its step and save (SLURM's KillWait and
# submitit's signal delay must leave at least this much).
STOP_WAIT_S = 55


class TaskFailed(RuntimeError):
    """The task ended without its cell: `dvc repro` failed (clone and log kept: `python -m bnonly.slurm status`)
    or a stop interrupted it (the requeued task resumes)."""


@dataclass(frozen=True)
class TaskSettings:
    workspace: str          # the user's workspace (read only: its git objects and its DVC cache)
    commit: str             # the commit every task checks out
    cache_dir: str          # the workspace's DVC cache (`dvc cache dir`)
    work_dir: str
    submission: str         # submission id: where the grid files' snapshot lives
    cpus: int               # threads for torch (OMP_NUM_THREADS)
    max_requeues: int


def _ignore_stop_signals() -> None:
    for signum in SLURM_STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(['git', *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def restart_count() -> int:
    return int(os.environ.get('SLURM_RESTART_COUNT') or 0)


def log_path() -> str | None:
    """This task's submitit log, when running under submitit."""
    try:
        import submitit
        return str(submitit.JobEnvironment().paths.stdout)
    except RuntimeError:
        return None


def job_id() -> str | None:
    array, index = os.environ.get('SLURM_ARRAY_JOB_ID'), os.environ.get('SLURM_ARRAY_TASK_ID')
    return f'{array}_{index}' if array and index else os.environ.get('SLURM_JOB_ID')


class CellTask:
    """The callable submitit runs once per cell (``executor.map_array``), and requeues through ``checkpoint``."""

    def __init__(self, settings: TaskSettings):
        self.settings = settings
        self.work = WorkDir(Path(settings.work_dir))
        self._proc: subprocess.Popen | None = None
        self._stop: int | None = None

    # --- the run ---------------------------------------------------------------------------------------
    def __call__(self, cell: Cell) -> str:
        restarts = restart_count()
        record = dict(cell=cell.name, stages=list(cell.stages), submission=self.settings.submission,
                      job_id=job_id(), log=log_path(), restarts=restarts, reason=None, clone=None)
        if restarts > self.settings.max_requeues:
            self._fail(cell, record, f'requeued {restarts} times, more than --max-requeues '
                                     f'{self.settings.max_requeues}')
        # SIGTERM: submitit only logs it; record the stop and pass it on (SIGUSR2 stays submitit's).
        signal.signal(signal.SIGTERM, self._on_stop)
        try:
            clone = self.prepare_clone(cell)
        except (OSError, subprocess.CalledProcessError) as error:
            self._fail(cell, record, f'could not prepare its clone: {error}')
        record['clone'] = str(clone)
        self.work.update_cell(cell.slug, state='running', started=time.time(), **record)
        print(f'bnonly.slurm: {cell.name}: dvc repro {" ".join(cell.stages)} in {clone} '
              f'(attempt {restarts + 1})', flush=True)
        code = self.run_dvc(cell, clone) if self._stop is None else None
        if code == 0:
            self.finish(cell, clone)
            self.work.update_cell(cell.slug, state='done', finished=time.time(), **{**record, 'clone': None})
            return cell.name
        if self._stop is not None:
            # SLURM requeues the job itself (scontrol requeue, preemption): the training saved its state.
            self.work.update_cell(cell.slug, state='stopped', **{
                **record, 'reason': f'stopped by {signal.Signals(self._stop).name}, state saved'})
            raise TaskFailed(f'{cell.name}: stopped by {signal.Signals(self._stop).name}')
        self._fail(cell, record, f'dvc repro exited with {code}')

    def _fail(self, cell: Cell, record: dict, reason: str) -> None:
        self.work.update_cell(cell.slug, state='failed', finished=time.time(), **{**record, 'reason': reason})
        raise TaskFailed(f'{cell.name}: {reason}')

    def prepare_clone(self, cell: Cell) -> Path:
        """A fresh clone of the submitted commit with the grid files and the shared DVC cache."""
        clone = self.work.clone(cell.slug)
        shutil.rmtree(clone, ignore_errors=True)        # an earlier attempt's, before a requeue
        clone.parent.mkdir(parents=True, exist_ok=True)
        _git('clone', '--quiet', '--shared', '--no-checkout', self.settings.workspace, str(clone))
        _git('-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', self.settings.commit, cwd=clone)
        snapshot = self.work.grid_snapshot(self.settings.submission)
        for path in snapshot.rglob('*'):
            if path.is_file():
                target = clone / path.relative_to(snapshot)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        dvc = self.dvc_command()
        for args in (['cache', 'dir', '--local', self.settings.cache_dir],
                     ['config', '--local', 'cache.type', 'hardlink,symlink']):
            subprocess.run([*dvc, *args], cwd=clone, check=True, env=self.environment(cell, clone))
        return clone

    def dvc_command(self) -> list[str]:
        return [str(Path(sys.executable).parent / 'dvc')]

    def environment(self, cell: Cell, clone: Path) -> dict:
        """The stages' environment: the clone's own code first on the path (an editable install of the
        package would otherwise import the workspace's files, edited since the submit perhaps), and unbuffered
        output, so that the log (and ``status``) shows each epoch as it ends."""
        env = dict(os.environ)
        threads = str(self.settings.cpus)
        python_path = os.pathsep.join(filter(None, [str(clone / 'src'), env.get('PYTHONPATH')]))
        env.update(BNONLY_SCRATCH=str(self.work.scratch(cell.slug)), OMP_NUM_THREADS=threads,
                   MKL_NUM_THREADS=threads, DVC_NO_ANALYTICS='1', PYTHONPATH=python_path, PYTHONUNBUFFERED='1',
                   PATH=f'{Path(sys.executable).parent}{os.pathsep}{env.get("PATH", "")}')
        return env

    def run_dvc(self, cell: Cell, clone: Path) -> int:
        self._proc = subprocess.Popen([*self.dvc_command(), 'repro', *cell.stages], cwd=clone,
                                      env=self.environment(cell, clone), preexec_fn=_ignore_stop_signals,
                                      start_new_session=True)
        # poll() rather than wait(): a signal handler (checkpoint) may need to wait on the same process.
        while (code := self._proc.poll()) is None:
            time.sleep(0.5)
        return code

    def finish(self, cell: Cell, clone: Path) -> None:
        """The cell's outputs are in the cache: its resume checkpoint and its clone go."""
        shutil.rmtree(self.work.scratch(cell.slug), ignore_errors=True)
        shutil.rmtree(clone, ignore_errors=True)

    # --- stopping ---------------------------------------------------------------------------------------
    def _on_stop(self, signum, frame) -> None:
        self._stop = signum
        self._forward(signum)

    def _forward(self, signum: int) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signum)
            except ProcessLookupError:
                pass

    def _wait_stopped(self) -> None:
        deadline = time.monotonic() + STOP_WAIT_S
        while self._proc is not None and self._proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)

    def checkpoint(self, cell: Cell):
        """submitit's hook on SIGUSR2 (time limit or preemption): stop, let the training save, requeue."""
        import submitit
        # One stop per attempt: a second SIGUSR2 (a repeated warning, a second scancel) would re-enter this
        # handler mid-requeue and requeue or fail the task twice.
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        self._stop = signal.SIGUSR2
        self._forward(signal.SIGUSR2)
        self._wait_stopped()
        restarts = restart_count()
        if restarts >= self.settings.max_requeues:
            self.work.update_cell(cell.slug, state='failed', finished=time.time(),
                                  reason=f'time limit reached after {restarts} requeues (--max-requeues '
                                         f'{self.settings.max_requeues})')
            return None
        self.work.update_cell(cell.slug, state='stopped', reason='stopped by SIGUSR2 (time limit), state saved')
        return submitit.helpers.DelayedSubmission(self, cell)

    def __getstate__(self) -> dict:
        # submitit pickles the task again when it requeues it: a live process does not travel.
        return dict(settings=self.settings)

    def __setstate__(self, state: dict) -> None:
        self.__init__(state['settings'])
