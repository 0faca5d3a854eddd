"""Tiny data sets written in the exact on-disk formats of the real ones, independently of bnonly.data.

IDX (yann.lecun.com/exdb/mnist), CIFAR-10's python pickles and tarball (cs.toronto.edu/~kriz/cifar.html),
and an ImageFolder tree of JPEGs.
"""
import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

FASHION_FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
                 't10k-labels-idx1-ubyte')
CIFAR_FILES = ('data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch',
               'batches.meta')


def idx_bytes(array: np.ndarray, *, type_code: int = 0x08) -> bytes:
    """An IDX file: 0, 0, type code, number of dimensions, big-endian uint32 sizes, then the data."""
    header = struct.pack('>BBBB', 0, 0, type_code, array.ndim) + struct.pack(f'>{array.ndim}I', *array.shape)
    return header + array.astype(array.dtype.newbyteorder('>')).tobytes()


def write_fashion_mnist(root: Path, *, train: int = 12, test: int = 7, gzipped: bool = True,
                        seed: int = 0) -> dict[str, bytes]:
    """The four files (gzipped or not) with random 28x28 images; returns {name: decompressed bytes}."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    contents = {}
    for prefix, count in (('train', train), ('t10k', test)):
        contents[f'{prefix}-images-idx3-ubyte'] = idx_bytes(rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        contents[f'{prefix}-labels-idx1-ubyte'] = idx_bytes(np.arange(count, dtype=np.uint8) % 10)
    for name, content in contents.items():
        if gzipped:
            (root / f'{name}.gz').write_bytes(gzip.compress(content))
        else:
            (root / name).write_bytes(content)
    return contents


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


def cifar_batch(count: int, *, seed: int, label_offset: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {'batch_label': f'batch {seed}', 'labels': [(label_offset + i) % 10 for i in range(count)],
            'data': rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            'filenames': [f'image_{seed}_{i}.png' for i in range(count)]}


def cifar_files(per_batch: int = 4, test: int = 5) -> dict[str, bytes]:
    """{file name: pickle bytes} for the six batches and batches.meta (pickle protocol 2, as the release)."""
    batches = {f'data_batch_{i}': cifar_batch(per_batch, seed=i, label_offset=i) for i in range(1, 6)}
    batches['test_batch'] = cifar_batch(test, seed=6)
    batches['batches.meta'] = {'num_cases_per_batch': per_batch, 'num_vis': 3072,
                               'label_names': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
                                               'horse', 'ship', 'truck']}
    return {name: pickle.dumps(content, protocol=2) for name, content in batches.items()}


def write_cifar10(root: Path, files: dict[str, bytes] | None = None, *, archive: bool = False) -> Path:
    """``root/cifar-10-batches-py/`` or ``root/cifar-10-python.tar.gz``; returns what was written."""
    files = cifar_files() if files is None else files
    root.mkdir(parents=True, exist_ok=True)
    if not archive:
        folder = root / 'cifar-10-batches-py'
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        return folder
    path = root / 'cifar-10-python.tar.gz'
    with tarfile.open(path, 'w:gz') as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f'cifar-10-batches-py/{name}')
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def write_image_folder(root: Path, *, classes: tuple[str, ...] = ('n01', 'n02'), train: int = 3, val: int = 2,
                       size: tuple[int, int] = (40, 30)) -> Path:
    """``root/train/<class>/*.JPEG`` and ``root/val/<class>/*.JPEG``: small RGB JPEGs, one colour a class."""
    for split, count in (('train', train), ('val', val)):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                colour = (40 + 100 * label, 20 * index, 200 - 50 * label)
                Image.new('RGB', size, colour).save(folder / f'{name}_{index}.JPEG', quality=90)
    return root
