"""CIFAR-10 (Krizhevsky 2009) from the official python release, verified against its MD5s.

``root`` holds either the extracted ``cifar-10-batches-py/`` or the original ``cifar-10-python.tar.gz``
(read in place, not extracted). Without either, torchvision downloads and extracts the archive into ``root``.
"""
import io
import pickle
import tarfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from bnonly.data.errors import DataError
from bnonly.data.integrity import algorithm, verify

DEFAULT_ROOT = Path('data/raw/cifar10')
FOLDER, ARCHIVE = 'cifar-10-batches-py', 'cifar-10-python.tar.gz'
BATCHES = {'train': tuple(f'data_batch_{i}' for i in range(1, 6)), 'test': ('test_batch',)}
META = 'batches.meta'
_NAMES = (*BATCHES['train'], *BATCHES['test'], META)
NUM_CLASSES, IMAGE_SHAPE = 10, (3, 32, 32)
# open_lth normalises CIFAR-10 with the ImageNet statistics, not CIFAR-10's own (open_lth datasets/cifar10.py);
# we keep its choice so that our inputs match the paper's.
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# open_lth's training augmentation: RandomCrop(32, padding=4) with zero fill, and RandomHorizontalFlip.
AUGMENTATION = dict(crop_padding=4, horizontal_flip=True)


def default_root() -> Path:
    return DEFAULT_ROOT


def read(root: Path, *, checksums: Mapping[str, str] | None, download: bool
         ) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], list[str]]:
    """({'train'|'test': (uint8 images [N, 3, 32, 32], int64 labels [N])}, class names)."""
    files = _read_files(root, checksums, download)
    meta = _unpickle(*files[META])
    classes = _field(meta, 'label_names', files[META][0])
    if not isinstance(classes, list) or len(classes) != NUM_CLASSES:
        raise DataError(f'{files[META][0]}: label_names should list {NUM_CLASSES} classes, got {classes!r:.80}')
    splits = {}
    for split, names in BATCHES.items():
        parts = [_batch(*files[name]) for name in names]
        splits[split] = (torch.cat([images for images, _ in parts]), torch.cat([labels for _, labels in parts]))
    return splits, [str(name) for name in classes]


def normalization(train_images: torch.Tensor) -> dict:
    """open_lth's ImageNet statistics (see IMAGENET_MEAN), whatever the images."""
    return dict(mean=IMAGENET_MEAN, std=IMAGENET_STD)


def _read_files(root: Path, checksums: Mapping[str, str] | None, download: bool) -> dict[str, tuple[str, bytes]]:
    """{file name: (label for messages, bytes)} for the six batches and the meta file, each verified."""
    if not (root / FOLDER).is_dir() and not (root / ARCHIVE).is_file() and download:
        _download(root)
    if (root / FOLDER).is_dir():
        files = _from_folder(root / FOLDER)
    elif (root / ARCHIVE).is_file():
        with (root / ARCHIVE).open('rb') as handle:
            verify(root / ARCHIVE, handle, ARCHIVE, checksums, algorithm('cifar10'))
        files = _from_archive(root / ARCHIVE)
    else:
        raise DataError(f'{root / FOLDER}: CIFAR-10 not found (neither {FOLDER}/ nor {ARCHIVE} in {root})')
    for name, (label, content) in files.items():
        verify(label, content, name, checksums, algorithm('cifar10'))
    return files


def _from_folder(folder: Path) -> dict[str, tuple[str, bytes]]:
    files = {}
    for name in _NAMES:
        if not (folder / name).is_file():
            raise DataError(f'{folder / name}: CIFAR-10 file not found')
        files[name] = (str(folder / name), (folder / name).read_bytes())
    return files


def _from_archive(archive: Path) -> dict[str, tuple[str, bytes]]:
    """The files read straight from the tarball in one pass: nothing is extracted into the raw root."""
    wanted = {f'{FOLDER}/{name}': name for name in _NAMES}
    files = {}
    try:
        with tarfile.open(archive, 'r:gz') as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    files[wanted[member.name]] = (f'{archive}:{member.name}', tar.extractfile(member).read())
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DataError(f'{archive}: truncated or corrupt archive ({error})') from error
    missing = [member for member, name in wanted.items() if name not in files]
    if missing:
        raise DataError(f'{archive}: has no file {missing[0]}')
    return files


def _batch(label: str, content: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    batch = _unpickle(label, content)
    data, labels = _field(batch, 'data', label), _field(batch, 'labels', label)
    pixels = int(np.prod(IMAGE_SHAPE))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        shape = getattr(data, 'shape', type(data).__name__)
        raise DataError(f'{label}: "data" should be a uint8 array of shape [N, {pixels}], got {shape}')
    labels = np.asarray(labels)
    if labels.shape != (len(data),) or labels.dtype.kind not in 'iu':
        raise DataError(f'{label}: "labels" should be {len(data)} integers, got shape {labels.shape} '
                        f'of {labels.dtype}')
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if len(bad):
        raise DataError(f'{label}: label {labels[bad[0]]} at index {bad[0]} is out of range 0..{NUM_CLASSES - 1}')
    # Each row holds the red, green and blue 32x32 planes in turn, so it reshapes straight to C, H, W.
    return torch.from_numpy(data.reshape(-1, *IMAGE_SHAPE).copy()), torch.from_numpy(labels.astype(np.int64))


def _field(mapping, key: str, label: str):
    if not isinstance(mapping, dict):
        raise DataError(f'{label}: expected a pickled dict, got {type(mapping).__name__}')
    if key not in mapping:
        raise DataError(f'{label}: missing the key "{key}" (keys: {", ".join(map(str, mapping))})')
    return mapping[key]


class _BatchUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings, numbers and numpy arrays only, so a crafted file cannot run code."""

    # What numpy arrays need; _codecs.encode is how protocol-2 pickles written by Python 3 store bytes.
    _ALLOWED = {('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
                ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode')}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f'{module}.{name} is not allowed in a CIFAR-10 file')
        if hasattr(np, '_core'):  # the 2009 pickles name numpy.core, which numpy 2 renamed to numpy._core
            module = module.replace('numpy.core.', 'numpy._core.')
        return super().find_class(module, name)


def _unpickle(label: str, content: bytes):
    try:
        # The files were written by Python 2; latin1 maps its byte strings one to one (as torchvision does).
        return _BatchUnpickler(io.BytesIO(content), encoding='latin1').load()
    except Exception as error:  # unpickling raises many types: EOFError, UnpicklingError, ValueError, ...
        raise DataError(f'{label}: not a readable CIFAR-10 pickle ({type(error).__name__}: {error})') from error


def _download(root: Path) -> None:
    """torchvision's downloader: fetches the archive (checking its MD5) and extracts it into ``root``."""
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), download=True)
    except Exception as error:  # torchvision wraps network failures in RuntimeError, but a disk can fail too
        raise DataError(f'{root / FOLDER}: CIFAR-10 not found, and downloading it failed '
                        f'({type(error).__name__}: {error}); put {ARCHIVE} or {FOLDER}/ in {root} '
                        f'or set data.root') from error
