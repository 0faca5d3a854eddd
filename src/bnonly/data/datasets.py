"""The data sets by name (the ``dataset`` key of params.yaml), each a module that owns its facts."""
from pathlib import Path
from types import ModuleType

from bnonly.data import cifar10, fashion_mnist, imagenet
from bnonly.data.errors import DataError
from bnonly.vocabulary import DATASETS, keyed

MODULES = keyed(DATASETS, {'fashion_mnist': fashion_mnist, 'cifar10': cifar10, 'imagenet': imagenet})


def module(dataset: str) -> ModuleType:
    if dataset not in MODULES:
        raise DataError(f'unknown data set {dataset!r}; valid: {", ".join(DATASETS)}')
    return MODULES[dataset]


def default_root(dataset: str) -> Path:
    """Where the raw files are when ``data.root`` is null; relative paths are relative to the working
    directory, which for ``dvc repro`` is the repo root."""
    return module(dataset).default_root()
