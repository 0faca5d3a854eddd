"""Which device a training process uses: CUDA when present, else the CPU; chosen at run time, never in params.

Several processes on one multi-GPU machine (DVC queue workers, parallel `dvc repro` of disjoint cells) each
need a GPU of their own. ``CUDA_VISIBLE_DEVICES`` is honoured as CUDA defines it (only those GPUs are seen);
among the visible GPUs a process takes the first one no other process holds, by an exclusive lock on a file
named for the GPU's UUID (so processes with different ``CUDA_VISIBLE_DEVICES`` views agree). The kernel drops
the lock when the process ends, however it ends. Under torchrun, ``LOCAL_RANK`` names the GPU instead.
"""
import fcntl
import os
import tempfile
import time
from pathlib import Path

import torch

_held: list = []  # open lock files: kept for the life of the process


def lock_dir() -> Path:
    return Path(os.environ.get('BNONLY_LOCK_DIR', Path(tempfile.gettempdir()) / 'bnonly-gpu-locks'))


def claim_free(names: list[str], directory: Path, *, wait_seconds: float = 0.0, poll: float = 1.0) -> int:
    """Index of the first name whose lock this process could take (and now holds); waits while all are held."""
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        for index, name in enumerate(names):
            handle = open(directory / f'{name}.lock', 'a+')
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f'{os.getpid()}\n')
            handle.flush()
            _held.append(handle)
            return index
        if time.monotonic() >= deadline:
            raise RuntimeError(f'all {len(names)} GPUs are held by other processes (locks in {directory})')
        time.sleep(poll)


def pick_device(*, wait_seconds: float = 24 * 3600) -> torch.device:
    if not torch.cuda.is_available():
        return torch.device('cpu')
    if 'LOCAL_RANK' in os.environ:
        device = torch.device('cuda', int(os.environ['LOCAL_RANK']))
    elif torch.cuda.device_count() == 1:
        device = torch.device('cuda', 0)
    else:
        uuids = [str(torch.cuda.get_device_properties(i).uuid) for i in range(torch.cuda.device_count())]
        device = torch.device('cuda', claim_free(uuids, lock_dir(), wait_seconds=wait_seconds))
    torch.cuda.set_device(device)
    return device
