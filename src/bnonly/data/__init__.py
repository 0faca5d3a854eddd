"""The data layer: verify a raw data set, write a prepared copy, and serve batches for training.

    prepare('fashion_mnist', None, Path('data/prepared'))        # the prepare stage
    meta = load_meta(Path('data/prepared'))
    train, test = build_loaders(Path('data/prepared'), batch_size=128, eval_batch_size=128, seed=0,
                                device='cuda')
    for x, y in train.epoch(epoch): ...                          # a pure function of (seed, epoch)

Bad input raises ``DataError`` (a ValueError) naming the file and what is wrong with it.

The names below load on first use (PEP 562): ``from bnonly.data import DataError`` (the training stage's)
does not import the preparation code or the data sets' readers, so editing them reruns no training.
"""
from bnonly.lazy import export_lazily

# Public name -> the submodule that defines it.
_LAZY = {'DataError': 'bnonly.data.errors', 'build_loaders': 'bnonly.data.loaders',
         'DATASETS': 'bnonly.data.datasets', 'default_root': 'bnonly.data.datasets',
         'prepare': 'bnonly.data.prepare', 'load_meta': 'bnonly.data.prepared'}

export_lazily(__name__, _LAZY)
