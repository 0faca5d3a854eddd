"""The training and test loaders for a prepared data set, whatever its kind."""
import os
from pathlib import Path

import torch

from bnonly.data.datasets import module
from bnonly.data.folder_loader import FolderLoader
from bnonly.data.memory_loader import InMemoryLoader
from bnonly.data.prepared import load_index, load_meta, load_tensors

Loader = InMemoryLoader | FolderLoader

# The training subset (``train_examples``) is the same for every run, whatever its seed, so cells of a grid
# that train on a subset all see the same images.
SUBSET_SEED = 20210503


def training_subset(count: int, size: int | None) -> torch.Tensor | None:
    """Indices of a fixed random subset of ``size`` training examples (None: all of them)."""
    if size is None or size >= count:
        return None
    generator = torch.Generator().manual_seed(SUBSET_SEED)
    return torch.randperm(count, generator=generator)[:size].sort().values


def build_loaders(prepared: Path, *, batch_size: int, eval_batch_size: int, seed: int,
                  device: torch.device | str, num_workers: int | None = None,
                  train_examples: int | None = None) -> tuple[Loader, Loader]:
    """(train loader, test loader) for the prepared copy at ``prepared``; see ``InMemoryLoader``.

    The training loader shuffles and augments with the data set's recipe; the test loader is
    sequential and unaugmented. ``num_workers`` applies to ImageNet only (default: up to 8, one per core).
    ``train_examples`` trains on a fixed subset of that many images (as the default, CPU-sized grid does);
    the test set is always whole.
    """
    prepared = Path(prepared)
    meta = load_meta(prepared)
    normalisation = dict(mean=meta['mean'], std=meta['std'], device=device)
    augmentation = module(meta['dataset']).AUGMENTATION
    if meta['dataset'] == 'imagenet':
        workers = min(8, os.cpu_count() or 1) if num_workers is None else num_workers
        root = Path(meta['root'])
        common = dict(normalisation, augmentation=augmentation, num_workers=workers, seed=seed)
        entries = load_index(prepared, 'train')
        subset = training_subset(len(entries), train_examples)
        if subset is not None:
            entries = [entries[i] for i in subset.tolist()]
        return (FolderLoader(root, entries, batch_size=batch_size, shuffle=True, **common),
                FolderLoader(root, load_index(prepared, 'test'), batch_size=eval_batch_size, **common))
    images, labels = load_tensors(prepared, 'train', meta)
    subset = training_subset(len(labels), train_examples)
    if subset is not None:
        images, labels = images[subset], labels[subset]
    train = InMemoryLoader(images, labels, batch_size=batch_size, seed=seed,
                           shuffle=True, crop_padding=augmentation['crop_padding'],
                           horizontal_flip=augmentation['horizontal_flip'], **normalisation)
    test = InMemoryLoader(*load_tensors(prepared, 'test', meta), batch_size=eval_batch_size, **normalisation)
    return train, test
