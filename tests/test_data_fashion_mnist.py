"""Fashion-MNIST: generated IDX files through the real reader, every bad input, and the real files."""
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from bnonly.data import DataError, load_meta, prepare
from bnonly.data import fashion_mnist
from fake_datasets import FASHION_FILES, idx_bytes, sha256, write_fashion_mnist

REAL = Path('/usr/share/datasets/fashion-mnist')


def prepare_fake(root, out, **kwargs):
    prepare('fashion_mnist', root, out, **{'checksums': None, 'download': False, **kwargs})


def assert_nothing_left(out: Path):
    assert not out.exists()
    assert not [path for path in out.parent.iterdir() if path.name.startswith(f'.{out.name}.tmp')]


@pytest.mark.parametrize('gzipped', [True, False])
def test_prepare_writes_tensors_and_meta(tmp_path, gzipped):
    contents = write_fashion_mnist(tmp_path / 'raw', train=12, test=7, gzipped=gzipped)
    prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    meta = load_meta(tmp_path / 'out')
    assert (meta['train_size'], meta['test_size'], meta['num_classes'], meta['in_chans']) == (12, 7, 10, 1)
    assert meta['image_size'] == [28, 28] and meta['classes'][9] == 'Ankle boot'
    train = torch.load(tmp_path / 'out' / 'train.pt', weights_only=True)
    expected = np.frombuffer(contents['train-images-idx3-ubyte'], np.uint8, offset=16).reshape(12, 1, 28, 28)
    assert train['images'].dtype == torch.uint8 and np.array_equal(train['images'].numpy(), expected)
    assert train['labels'].dtype == torch.int64 and train['labels'].tolist() == [i % 10 for i in range(12)]
    pixels = expected / 255.0
    assert meta['mean'] == pytest.approx([pixels.mean()]) and meta['std'] == pytest.approx([pixels.std()])


def test_torchvision_layout_is_found(tmp_path):
    write_fashion_mnist(tmp_path / 'raw' / 'FashionMNIST' / 'raw', gzipped=False)
    prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    assert load_meta(tmp_path / 'out')['train_size'] == 12


def test_matching_checksums_pass_and_a_mismatch_is_caught(tmp_path):
    contents = write_fashion_mnist(tmp_path / 'raw')
    digests = {name: sha256(content) for name, content in contents.items()}
    prepare_fake(tmp_path / 'raw', tmp_path / 'out', checksums=digests)
    digests['t10k-labels-idx1-ubyte'] = '0' * 64
    with pytest.raises(DataError, match=r't10k-labels-idx1-ubyte.gz: sha256 checksum mismatch: expected 0{64}'):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out', checksums=digests)
    assert_nothing_left(tmp_path / 'out')


def test_the_recorded_checksums_are_checked_by_default(tmp_path):
    write_fashion_mnist(tmp_path / 'raw')
    with pytest.raises(DataError, match='train-images-idx3-ubyte.gz: sha256 checksum mismatch'):
        prepare('fashion_mnist', tmp_path / 'raw', tmp_path / 'out', download=False)
    assert_nothing_left(tmp_path / 'out')


def _rewrite(name, array):
    def corrupt(root: Path):
        (root / f'{name}.gz').write_bytes(gzip.compress(idx_bytes(array)))
    return corrupt


def _truncate(root: Path):
    path = root / 'train-labels-idx1-ubyte.gz'
    path.write_bytes(path.read_bytes()[:-10])


BAD_INPUTS = {
    'missing file': (lambda root: (root / 't10k-images-idx3-ubyte.gz').unlink(),
                     't10k-images-idx3-ubyte: Fashion-MNIST file not found'),
    'truncated gzip': (_truncate, 'train-labels-idx1-ubyte.gz: truncated or corrupt gzip'),
    'wrong magic': (_rewrite('train-images-idx3-ubyte', np.zeros(12 * 784, np.uint8)),
                    r'train-images-idx3-ubyte.gz: IDX magic number 0x00000801, expected 0x00000803'),
    'wrong shape': (_rewrite('t10k-images-idx3-ubyte', np.zeros((7, 27, 28), np.uint8)),
                    r't10k-images-idx3-ubyte.gz: images are 27x28'),
    'label out of range': (_rewrite('train-labels-idx1-ubyte', np.array([1] * 5 + [10] + [2] * 6, np.uint8)),
                           'train-labels-idx1-ubyte.gz: label 10 at index 5 is out of range 0..9'),
    'count mismatch': (_rewrite('t10k-labels-idx1-ubyte', np.zeros(6, np.uint8)),
                       't10k-labels-idx1-ubyte.gz: 6 labels for the 7 images'),
    'not idx': (lambda root: (root / 'train-labels-idx1-ubyte.gz').write_bytes(gzip.compress(b'<html>')),
                'train-labels-idx1-ubyte.gz: not an IDX file'),
}


@pytest.mark.parametrize('case', BAD_INPUTS)
def test_bad_input_fails_naming_the_file_and_leaves_nothing(tmp_path, case):
    corrupt, message = BAD_INPUTS[case]
    write_fashion_mnist(tmp_path / 'raw')
    corrupt(tmp_path / 'raw')
    with pytest.raises(DataError, match=message):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    assert_nothing_left(tmp_path / 'out')


def test_absent_files_go_through_torchvisions_downloader(tmp_path, monkeypatch):
    def fake_download(root, download):  # writes what torchvision's FashionMNIST(download=True) would
        assert download
        write_fashion_mnist(Path(root) / 'FashionMNIST' / 'raw', gzipped=False)
    monkeypatch.setattr('torchvision.datasets.FashionMNIST', fake_download)
    prepare_fake(tmp_path / 'raw', tmp_path / 'out', download=True)
    assert load_meta(tmp_path / 'out')['test_size'] == 7


def test_a_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    def offline(root, download):
        raise RuntimeError('Error downloading train-images-idx3-ubyte.gz')
    monkeypatch.setattr('torchvision.datasets.FashionMNIST', offline)
    with pytest.raises(DataError, match='train-images-idx3-ubyte: Fashion-MNIST file not found, and downloading '
                                        'it failed .*RuntimeError: Error downloading'):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out', download=True)
    assert_nothing_left(tmp_path / 'out')


@pytest.mark.skipif(not REAL.is_dir(), reason='Debian package dataset-fashion-mnist is not installed')
def test_real_fashion_mnist_matches_its_recorded_checksums(tmp_path):
    assert sorted(path.name for path in REAL.iterdir()) == sorted(f'{name}.gz' for name in FASHION_FILES)
    assert fashion_mnist.default_root() == REAL
    prepare('fashion_mnist', None, tmp_path / 'out', download=False)
    meta = load_meta(tmp_path / 'out')
    assert (meta['train_size'], meta['test_size'], meta['num_classes'], meta['verified']) == (60000, 10000, 10, True)
    assert meta['mean'] == pytest.approx([0.2860], abs=1e-4) and meta['std'] == pytest.approx([0.3530], abs=1e-4)
    train = torch.load(tmp_path / 'out' / 'train.pt', weights_only=True)
    assert train['labels'][:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert train['images'].shape == (60000, 1, 28, 28)
