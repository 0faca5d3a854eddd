"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from its four IDX files, verified against recorded checksums.

Any folder holding the four files, gzipped or not, works, as does torchvision's layout
(``ROOT/FashionMNIST/raw/``). The default is Debian's ``dataset-fashion-mnist`` package; without it the
files are downloaded through torchvision into ``data/raw/fashion_mnist``.
"""
from collections.abc import Mapping
from pathlib import Path

import torch

from bnonly.data import idx
from bnonly.data.errors import DataError
from bnonly.data.integrity import algorithm, verify

DEBIAN_ROOT = Path('/usr/share/datasets/fashion-mnist')
DOWNLOAD_ROOT = Path('data/raw/fashion_mnist')
FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}
CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
           'Ankle boot')
IMAGE_SIZE = (28, 28)
# CIFAR-10's recipe on 28x28: random crop with 4-pixel zero padding, and horizontal flips. We keep the flips:
# they preserve every class's label (no class is defined by its orientation, unlike digits), and keeping them
# makes the Fashion-MNIST runs, which stand in for the paper's CIFAR-10 runs, differ from those in the data
# only. Measured on both splits: clothes and bags (70% of images) are nearly mirror-symmetric (a class's mean
# image differs from its mirror by 6-9% of its mass, trousers 24%), so their flips look like real images; the
# footwear classes (30%) all face one way in train and test (58-99%), so their flips are a variation the test
# set never shows: a possible small cost in accuracy, never a wrong label.
AUGMENTATION = dict(crop_padding=4, horizontal_flip=True)
_NAMES = tuple(name for names in FILES.values() for name in names)
_IMAGES_MAGIC, _LABELS_MAGIC = idx.magic(0x08, 3), idx.magic(0x08, 1)


def default_root() -> Path:
    return DEBIAN_ROOT if DEBIAN_ROOT.is_dir() else DOWNLOAD_ROOT


def read(root: Path, *, checksums: Mapping[str, str] | None, download: bool
         ) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], list[str]]:
    """({'train'|'test': (uint8 images [N, 1, 28, 28], int64 labels [N])}, class names), every check passed."""
    paths = _locate(root)
    if len(paths) < len(_NAMES) and download:
        _download(root, missing=[name for name in _NAMES if name not in paths])
        paths = _locate(root)
    splits = {}
    for split, (images_name, labels_name) in FILES.items():
        for name in (images_name, labels_name):
            if name not in paths:
                raise DataError(f'{root / name}: Fashion-MNIST file not found (looked for {name} and {name}.gz '
                                f'in {root} and {root / "FashionMNIST" / "raw"})')
        images = _read_checked(paths[images_name], images_name, _IMAGES_MAGIC, checksums)
        labels = _read_checked(paths[labels_name], labels_name, _LABELS_MAGIC, checksums)
        if images.shape[1:] != IMAGE_SIZE:
            raise DataError(f'{paths[images_name]}: images are {images.shape[1]}x{images.shape[2]}, '
                            f'Fashion-MNIST\'s are {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}')
        if len(images) != len(labels):
            raise DataError(f'{paths[labels_name]}: {len(labels)} labels for the {len(images)} images '
                            f'of {paths[images_name]}')
        if len(labels) and labels.max() >= len(CLASSES):
            position = int(labels.argmax())
            raise DataError(f'{paths[labels_name]}: label {labels[position]} at index {position} is out of '
                            f'range 0..{len(CLASSES) - 1}')
        splits[split] = (torch.from_numpy(images.copy()).unsqueeze(1),
                         torch.from_numpy(labels.astype('int64')))
    return splits, list(CLASSES)


def normalization(train_images: torch.Tensor) -> dict:
    """The training set's own pixel mean and standard deviation (after ToTensor's division by 255)."""
    pixels = train_images.double().div(255)
    return dict(mean=[pixels.mean().item()], std=[pixels.std(correction=0).item()])


def _locate(root: Path) -> dict[str, Path]:
    found = {}
    for folder in (root, root / 'FashionMNIST' / 'raw'):
        for name in _NAMES:
            for candidate in (folder / name, folder / f'{name}.gz'):
                if name not in found and candidate.is_file():
                    found[name] = candidate
    return found


def _read_checked(path: Path, name: str, expected_magic: int, checksums: Mapping[str, str] | None):
    data = idx.read_bytes(path)
    verify(path, data, name, checksums, algorithm('fashion_mnist'))
    found, array = idx.parse(data, path)
    if found != expected_magic:
        raise DataError(f'{path}: IDX magic number 0x{found:08X}, expected 0x{expected_magic:08X} '
                        f'(uint8, {expected_magic & 0xFF} dimensions)')
    return array


def _download(root: Path, missing: list[str]) -> None:
    """torchvision's downloader, into ``root/FashionMNIST/raw`` (it verifies the .gz MD5s it downloads)."""
    from torchvision.datasets import FashionMNIST

    try:
        FashionMNIST(str(root), download=True)
    except Exception as error:  # torchvision wraps network failures in RuntimeError, but a disk can fail too
        raise DataError(f'{root / missing[0]}: Fashion-MNIST file not found, and downloading it failed '
                        f'({type(error).__name__}: {error}); install the Debian package dataset-fashion-mnist '
                        f'or set data.root to a folder with the four IDX files') from error
