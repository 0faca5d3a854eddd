"""The prepared copy that the ``prepare`` stage writes and training reads.

Small-image sets: ``meta.json``, ``train.pt`` and ``test.pt``, each ``{'images': uint8 [N, C, H, W], 'labels':
int64 [N]}`` (plain tensors, loaded with ``weights_only=True``). ImageNet: ``meta.json`` with the raw root,
and ``train.tsv`` / ``test.tsv`` listing (path relative to the root, label) per image.
"""
import io
import json
from pathlib import Path

import torch

from bnonly import atomic
from bnonly.data.datasets import DATASETS
from bnonly.data.errors import DataError

SPLITS = ('train', 'test')
META_KEYS = ('dataset', 'num_classes', 'in_chans', 'image_size', 'mean', 'std', 'train_size', 'test_size',
             'classes')
_RERUN = 'run `dvc repro prepare`'


def write_meta(folder: Path, meta: dict) -> None:
    atomic.write_text(folder / 'meta.json', json.dumps(meta, indent=1) + '\n')


def write_tensors(folder: Path, split: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    buffer = io.BytesIO()
    torch.save({'images': images.contiguous(), 'labels': labels.contiguous()}, buffer)
    atomic.write_bytes(folder / f'{split}.pt', buffer.getbuffer())


def write_index(folder: Path, split: str, entries: list[tuple[str, int]]) -> None:
    atomic.write_text(folder / f'{split}.tsv', ''.join(f'{path}\t{label}\n' for path, label in entries))


def load_meta(prepared: Path) -> dict:
    """The prepared data set's description: META_KEYS, plus the raw ``root`` and the ``augmentation`` used
    (the recipe itself is the data set module's ``AUGMENTATION``; meta.json records it)."""
    path = Path(prepared) / 'meta.json'
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f'{path}: not found; no prepared data set at {prepared} ({_RERUN})') from None
    except (OSError, ValueError) as error:
        raise DataError(f'{path}: unreadable ({error}); {_RERUN}') from error
    required = META_KEYS + (('root',) if isinstance(meta, dict) and meta.get('dataset') == 'imagenet' else ())
    missing = [key for key in required if not isinstance(meta, dict) or key not in meta]
    if missing:
        raise DataError(f'{path}: missing {", ".join(missing)}; {_RERUN}')
    if meta['dataset'] not in DATASETS:
        raise DataError(f'{path}: unknown data set {meta["dataset"]!r}; {_RERUN}')
    return meta


def load_tensors(prepared: Path, split: str, meta: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """A small-image split, checked against ``meta``."""
    path = Path(prepared) / f'{split}.pt'
    try:
        content = torch.load(path, map_location='cpu', weights_only=True)
        images, labels = content['images'], content['labels']
    except FileNotFoundError:
        raise DataError(f'{path}: not found; {_RERUN}') from None
    except Exception as error:  # torch.load raises whatever the unpickler met; all mean a corrupt file
        # Only the type: torch's own text runs to many lines and suggests weights_only=False.
        raise DataError(f'{path}: unreadable as a prepared split ({type(error).__name__}); {_RERUN}') from error
    expected = (meta[f'{split}_size'], meta['in_chans'], *meta['image_size'])
    if (not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or tuple(images.shape) != expected
            or not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64
            or tuple(labels.shape) != expected[:1]):
        raise DataError(f'{path}: does not match {Path(prepared) / "meta.json"} (expected uint8 images '
                        f'{list(expected)} and int64 labels); {_RERUN}')
    return images, labels


def load_index(prepared: Path, split: str) -> list[tuple[str, int]]:
    path = Path(prepared) / f'{split}.tsv'
    try:
        lines = path.read_text().splitlines()
        return [(name, int(label)) for name, label in (line.split('\t') for line in lines)]
    except FileNotFoundError:
        raise DataError(f'{path}: not found; {_RERUN}') from None
    except (OSError, ValueError) as error:
        raise DataError(f'{path}: unreadable ({error}); {_RERUN}') from error
