"""The data layer: verify a raw data set, write a prepared copy, and serve batches for training.

    prepare('fashion_mnist', None, Path('data/prepared'))        # the prepare stage
    meta = load_meta(Path('data/prepared'))
    train, test = build_loaders(Path('data/prepared'), batch_size=128, eval_batch_size=128, seed=0,
                                device='cuda')
    for x, y in train.epoch(epoch): ...                          # a pure function of (seed, epoch)

Bad input raises ``DataError`` (a ValueError) naming the file and what is wrong with it.
"""
from bnonly.data.errors import DataError
from bnonly.data.loaders import build_loaders
from bnonly.data.datasets import DATASETS, default_root
from bnonly.data.prepare import prepare
from bnonly.data.prepared import load_meta

__all__ = ['DATASETS', 'DataError', 'build_loaders', 'default_root', 'load_meta', 'prepare']
