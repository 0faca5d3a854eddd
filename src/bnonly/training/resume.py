"""Full-state checkpoints that let a killed run continue where it stopped.

They live outside DVC's outputs (DVC deletes a stage's outputs before it reruns it, and a ``persist``
output would switch off the run-cache), in a scratch folder keyed by the run's fingerprint:
``$BNONLY_SCRATCH`` or ``.scratch/`` in the repository. Written atomically at every epoch end; removed
once the run's outputs are written.
"""
import os
import shutil
from pathlib import Path

import torch

from bnonly.checkpoint import atomic_save


def scratch_dir(fingerprint: str, root: str | os.PathLike | None = None) -> Path:
    root = Path(root or os.environ.get('BNONLY_SCRATCH', '.scratch'))
    return root / 'train' / fingerprint


def save_state(path: Path, *, model, optimizer, epoch: int, history: list[dict], elapsed: float) -> None:
    # The LR schedule is a pure function of the iteration (schedule.py), so the epoch is its whole state;
    # the data order and augmentation are a pure function of (seed, epoch) (bnonly.data).
    state = dict(model=model.state_dict(), optimizer=optimizer.state_dict(), epoch=epoch, history=history, elapsed=elapsed, cpu_rng=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda_rng'] = torch.cuda.get_rng_state_all()
    atomic_save(state, path)


def load_state(path: Path, *, model, optimizer) -> dict | None:
    """Restore model, optimizer, schedule and RNGs from ``path``; returns the saved progress or None."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location='cpu', weights_only=True)
    model.load_state_dict(state['model'])
    optimizer.load_state_dict(state['optimizer'])
    torch.set_rng_state(state['cpu_rng'])
    if 'cuda_rng' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda_rng'])
    return dict(epoch=state['epoch'], history=state['history'], elapsed=state['elapsed'])


def clear(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
