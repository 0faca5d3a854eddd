"""Resume state: what lets a stopped or killed run continue where it was, ending bit-identical to a run that
never stopped.

Where. Outside DVC's outputs (DVC deletes a stage's outputs before it reruns it, and a ``persist`` output would
switch off the run-cache), in ``<root>/train/<fingerprint>/last.pt``, where ``<root>`` is ``--scratch``, else
``$BNONLY_SCRATCH``, else ``.scratch/`` in the current directory. A SLURM requeue lands in a fresh clone with
the same ``$BNONLY_SCRATCH``, so the state is found there, never in the clone. ``<fingerprint>`` is
``RunSpec.fingerprint``: the run's settings and the prepared data's description (not its machine-specific
path). Written atomically at every epoch end and when a stop is requested (mid-epoch then); removed once
the run's outputs are written.

What. Weights and BatchNorm running statistics (the model's state_dict), the optimizer's state (momentum
buffers), the CPU and CUDA RNG states (as tensors: everything loads with ``weights_only=True``), the epochs
done, the steps done in the current epoch and its running sums (loss, correct, images, seconds; under
torchrun, each process's own), the history rows so far and the training seconds. The learning-rate schedule is a pure function of the iteration, and
the data order and augmentation a pure function of (seed, epoch) (``bnonly.data``), so a resumed epoch
replays its order and skips the batches already trained.

Which state belongs. The file records the fingerprint and ``code_version()``: a hash of the source files of
every ``bnonly`` module loaded in the process when the run starts, plus torch's version. For a stage that is
its import closure, which is exactly what DVC hashes as the train stage's code deps (tests/test_stage_deps.py):
the state is valid for as long as the stage itself would not rerun for a code change. A hash of the whole
package would also reject states after edits to modules training never runs (a report's wording), losing
interrupted runs' work for nothing. (A process that imported more, a test session, computes another hash, so
its states are not resumed by the stage: never needed.) A state that is torn or unreadable, does not hold what
a state holds, or records another fingerprint or code version is reported in one log line and set aside,
renamed to ``last.pt.rejected-<UTC time>`` (never deleted), and the run starts afresh. The folder is keyed by
the fingerprint only, not the code version, so a state from older code is found, reported and set aside
rather than left behind unseen.

A diverged run (a non-finite loss) sets its state aside as ``last.pt.diverged-<UTC time>``: a rerun with the
same settings would only diverge again, and a rerun with other settings has another fingerprint.
"""
import contextlib
import dataclasses
import datetime
import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch

import bnonly
from bnonly.checkpoint import atomic_save
from bnonly.training import distributed
from bnonly.training.distributed import Ranks

FORMAT = 2                       # 1: epoch-end states without fingerprint or code version
STATE_NAME = 'last.pt'


def scratch_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$BNONLY_SCRATCH``, else ``.scratch`` (relative to the current directory)."""
    return Path(root or os.environ.get('BNONLY_SCRATCH') or '.scratch')


def scratch_dir(fingerprint: str, root: str | os.PathLike | None = None) -> Path:
    return scratch_root(root) / 'train' / fingerprint


def code_version() -> str:
    """A hash of the source files of the ``bnonly`` modules loaded now and of torch's version (see the module
    docstring)."""
    files = {Path(module.__file__).resolve() for name, module in list(sys.modules.items())
             if name.partition('.')[0] == 'bnonly' and getattr(module, '__file__', None)}
    package = Path(bnonly.__file__).resolve().parent
    digest = hashlib.sha256(f'torch {torch.__version__}\0'.encode())
    for path in sorted(files):
        digest.update(f'{path.relative_to(package).as_posix()}\0'.encode())
        digest.update(path.read_bytes())
        digest.update(b'\0')
    return digest.hexdigest()[:16]


@dataclasses.dataclass
class Sums:
    """An epoch's running sums: summed loss and correct count (tensors on the training device, so that a step
    needs no synchronisation), images seen, steps done and seconds spent so far."""
    loss: torch.Tensor
    correct: torch.Tensor
    seen: int = 0
    steps: int = 0
    seconds: float = 0.0

    @classmethod
    def zero(cls, device: torch.device) -> 'Sums':
        return cls(torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long))

    def values(self) -> torch.Tensor:
        """(loss, correct, seen) as float64, which holds a float32 and a count below 2**53 exactly."""
        return torch.stack([self.loss.double(), self.correct.double(),
                            torch.tensor(float(self.seen), dtype=torch.float64, device=self.loss.device)])

    @classmethod
    def from_values(cls, values: torch.Tensor, *, steps: int, seconds: float, device: torch.device) -> 'Sums':
        return cls(values[0].float().to(device), values[1].long().to(device), int(values[2]), steps, seconds)


@dataclasses.dataclass
class Progress:
    """Where a run is: ``epoch`` epochs done; within the next, ``sums`` (None: at its start)."""
    epoch: int = 0
    history: list[dict] = dataclasses.field(default_factory=list)
    elapsed: float = 0.0
    sums: Sums | None = None

    @property
    def steps(self) -> int:
        return 0 if self.sums is None else self.sums.steps


class ResumeState:
    """The resume state of one run: ``load`` it into a freshly built model and optimizer, ``save`` it,
    ``set_aside`` or ``clear`` it."""

    def __init__(self, fingerprint: str, root: str | os.PathLike | None = None, *,
                 log: Callable[[str], None] = print, ranks: Ranks = Ranks()):
        """With several processes (``ranks``), every process calls ``load`` and ``save`` at the same points; the
        sums of each are saved, and only rank 0 writes, renames and logs."""
        self.fingerprint, self.code, self.ranks = fingerprint, code_version(), ranks
        self.directory = scratch_dir(fingerprint, root)
        self.path = self.directory / STATE_NAME
        self.log = log

    def save(self, *, model, optimizer, progress: Progress) -> None:
        sums = None
        if progress.sums is not None:  # each process's own sums, so that each resumes with exactly its own
            sums = dict(values=distributed.gather_over_ranks(progress.sums.values(), self.ranks).cpu(),
                        steps=progress.sums.steps, seconds=progress.sums.seconds)
        if not self.ranks.main:
            return
        state = dict(format=FORMAT, fingerprint=self.fingerprint, code=self.code,
                     model=model.state_dict(), optimizer=optimizer.state_dict(),
                     epoch=progress.epoch, history=progress.history, elapsed=progress.elapsed, sums=sums,
                     cpu_rng=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda_rng'] = torch.cuda.get_rng_state_all()
        atomic_save(state, self.path)

    def load(self, *, model, optimizer, device: torch.device) -> Progress | None:
        """Restore model, optimizer and RNGs from the saved state and return the progress; None when there is
        none, or when it does not belong to this run (then it is set aside, with one log line)."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(io.BytesIO(self.path.read_bytes()), map_location='cpu', weights_only=True)
        except Exception as error:  # torch.load raises whatever the unpickler met: all mean a torn file
            self.set_aside('rejected', f'unreadable ({type(error).__name__})')
            return None
        problem = self._mismatch(state, model, optimizer)
        if problem:
            self.set_aside('rejected', problem)
            return None
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        torch.set_rng_state(state['cpu_rng'])
        if 'cuda_rng' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda_rng'])
        sums = state['sums']
        if sums is not None:
            sums = Sums.from_values(sums['values'][self.ranks.rank], steps=int(sums['steps']),
                                    seconds=float(sums['seconds']), device=device)
        return Progress(state['epoch'], state['history'], state['elapsed'], sums)

    def _mismatch(self, state, model, optimizer) -> str | None:
        """Why ``state`` cannot be this run's (None: it can); checked before anything is loaded, so that a
        rejected state leaves the model and optimizer as built."""
        keys = ('format', 'fingerprint', 'code', 'model', 'optimizer', 'epoch', 'history', 'elapsed', 'sums',
                'cpu_rng')
        if not isinstance(state, dict) or any(key not in state for key in keys) or state['format'] != FORMAT:
            return 'not a resume state of this version'
        if state['fingerprint'] != self.fingerprint:
            return f"from another configuration ({state['fingerprint']})"
        if state['code'] != self.code:
            return 'from another code version'
        expected = model.state_dict()
        saved = state['model']
        if set(saved) != set(expected) or any(saved[k].shape != v.shape or saved[k].dtype != v.dtype
                                              for k, v in expected.items()):
            return 'its model does not match this run'
        if len(state['optimizer'].get('param_groups', ())) != len(optimizer.param_groups):
            return 'its optimizer does not match this run'
        if state['sums'] is not None and len(state['sums']['values']) != self.ranks.world:
            return f"saved by {len(state['sums']['values'])} processes, this run has {self.ranks.world}"
        return None

    def set_aside(self, why: str, reason: str) -> Path | None:
        """Rename the state to ``last.pt.<why>-<UTC time>`` (never delete it) and log one line."""
        if not self.ranks.main or not self.path.is_file():
            return None
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
        target = self.path.with_name(f'{self.path.name}.{why}-{stamp}')
        count = 1
        while target.exists():
            count += 1
            target = self.path.with_name(f'{self.path.name}.{why}-{stamp}-{count}')
        os.replace(self.path, target)
        self.log(f'resume state {self.path} {reason}: set aside as {target.name}; starting afresh'
                 if why == 'rejected' else f'resume state {self.path} set aside as {target.name} ({reason})')
        return target

    def clear(self) -> None:
        """Remove the state once the run's outputs are written, and the folder when nothing set aside is in
        it (temporary files of writes a kill interrupted go too)."""
        self.path.unlink(missing_ok=True)
        for leftover in self.directory.glob(f'.{self.path.stem}.tmp-*'):
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.directory.rmdir()
