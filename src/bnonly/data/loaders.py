"""The training and test loaders for a prepared data set, whatever its kind."""
import os
from pathlib import Path

import torch

from bnonly.data.datasets import module
from bnonly.data.folder_loader import FolderLoader
from bnonly.data.memory_loader import InMemoryLoader
from bnonly.data.prepared import load_index, load_meta, load_tensors

Loader = InMemoryLoader | FolderLoader


def build_loaders(prepared: Path, *, batch_size: int, eval_batch_size: int, seed: int,
                  device: torch.device | str, num_workers: int | None = None) -> tuple[Loader, Loader]:
    """(train loader, test loader) for the prepared copy at ``prepared``; see ``InMemoryLoader``.

    The training loader shuffles and augments with the data set's recipe; the test loader is
    sequential and unaugmented. ``num_workers`` applies to ImageNet only (default: up to 8, one per core).
    """
    prepared = Path(prepared)
    meta = load_meta(prepared)
    normalisation = dict(mean=meta['mean'], std=meta['std'], device=device)
    augmentation = module(meta['dataset']).AUGMENTATION
    if meta['dataset'] == 'imagenet':
        workers = min(8, os.cpu_count() or 1) if num_workers is None else num_workers
        root = Path(meta['root'])
        common = dict(normalisation, augmentation=augmentation, num_workers=workers, seed=seed)
        return (FolderLoader(root, load_index(prepared, 'train'), batch_size=batch_size, shuffle=True, **common),
                FolderLoader(root, load_index(prepared, 'test'), batch_size=eval_batch_size, **common))
    train = InMemoryLoader(*load_tensors(prepared, 'train', meta), batch_size=batch_size, seed=seed,
                           shuffle=True, crop_padding=augmentation['crop_padding'],
                           horizontal_flip=augmentation['horizontal_flip'], **normalisation)
    test = InMemoryLoader(*load_tensors(prepared, 'test', meta), batch_size=eval_batch_size, **normalisation)
    return train, test
