"""CIFAR-10: generated pickle batches and tarball through the real reader, and every bad input."""
import pickle
import tarfile

import numpy as np
import pytest
import torch

from bnonly.data import DataError, load_meta, prepare
from fake_datasets import cifar_batch, cifar_files, md5, write_cifar10


def prepare_fake(root, out, **kwargs):
    prepare('cifar10', root, out, **{'checksums': None, 'download': False, **kwargs})


def assert_nothing_left(out):
    assert not out.exists()
    assert not [path for path in out.parent.iterdir() if path.name.startswith(f'.{out.name}.tmp')]


@pytest.mark.parametrize('archive', [False, True])
def test_prepare_reads_batches_in_order(tmp_path, archive):
    files = cifar_files(per_batch=4, test=5)
    write_cifar10(tmp_path / 'raw', files, archive=archive)
    prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    meta = load_meta(tmp_path / 'out')
    assert (meta['train_size'], meta['test_size'], meta['in_chans'], meta['image_size']) == (20, 5, 3, [32, 32])
    assert meta['classes'][1] == 'automobile' and meta['num_classes'] == 10
    assert meta['mean'] == [0.485, 0.456, 0.406] and meta['std'] == [0.229, 0.224, 0.225]  # open_lth's choice
    train = torch.load(tmp_path / 'out' / 'train.pt', weights_only=True)
    expected = np.concatenate([cifar_batch(4, seed=i, label_offset=i)['data'] for i in range(1, 6)])
    # Rows are the red, green and blue planes, each 32x32 row-major.
    assert np.array_equal(train['images'].numpy(), expected.reshape(20, 3, 32, 32))
    assert train['images'][0, 1, 0, 0] == expected[0, 1024]
    assert train['labels'].dtype == torch.int64 and train['labels'][:4].tolist() == [1, 2, 3, 4]


def test_folder_wins_over_archive_and_both_give_the_same_copy(tmp_path):
    files = cifar_files()
    write_cifar10(tmp_path / 'a', files)
    write_cifar10(tmp_path / 'b', files, archive=True)
    prepare_fake(tmp_path / 'a', tmp_path / 'out_a')
    prepare_fake(tmp_path / 'b', tmp_path / 'out_b')
    for split in ('train', 'test'):
        a, b = (torch.load(tmp_path / out / f'{split}.pt', weights_only=True) for out in ('out_a', 'out_b'))
        assert torch.equal(a['images'], b['images']) and torch.equal(a['labels'], b['labels'])


@pytest.mark.parametrize('archive', [False, True])
def test_md5_checksums_pass_when_right_and_catch_a_mismatch(tmp_path, archive):
    files = cifar_files()
    written = write_cifar10(tmp_path / 'raw', files, archive=archive)
    digests = {name: md5(content) for name, content in files.items()}
    if archive:
        digests['cifar-10-python.tar.gz'] = md5(written.read_bytes())
    prepare_fake(tmp_path / 'raw', tmp_path / 'out', checksums=digests)
    wrong = 'cifar-10-python.tar.gz' if archive else 'data_batch_3'
    digests[wrong] = 'f' * 32
    with pytest.raises(DataError, match=f'{wrong}: md5 checksum mismatch: expected f{{32}}'):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out', checksums=digests)
    assert_nothing_left(tmp_path / 'out')


def test_the_official_md5s_are_checked_by_default(tmp_path):
    write_cifar10(tmp_path / 'raw')
    with pytest.raises(DataError, match='cifar-10-batches-py/data_batch_1: md5 checksum mismatch'):
        prepare('cifar10', tmp_path / 'raw', tmp_path / 'out', download=False)


def _replace(name, content):
    def corrupt(files):
        files[name] = pickle.dumps(content, protocol=2)
    return corrupt


class _Exploit:
    def __reduce__(self):
        return (print, ('this must never run',))


BAD_INPUTS = {
    'missing key': (_replace('data_batch_2', {'data': cifar_batch(4, seed=2)['data']}),
                    'data_batch_2: missing the key "labels"'),
    'label out of range': (_replace('test_batch', {**cifar_batch(5, seed=6), 'labels': [0, 1, 2, 10, 4]}),
                           'test_batch: label 10 at index 3 is out of range 0..9'),
    'wrong data shape': (_replace('data_batch_1', {**cifar_batch(4, seed=1),
                                                   'data': np.zeros((4, 3000), np.uint8)}),
                         r'data_batch_1: "data" should be a uint8 array of shape \[N, 3072\], got \(4, 3000\)'),
    'labels count': (_replace('data_batch_5', {**cifar_batch(4, seed=5), 'labels': [1, 2]}),
                     'data_batch_5: "labels" should be 4 integers'),
    'meta without names': (_replace('batches.meta', {'num_vis': 3072}), 'batches.meta: missing the key "label_names"'),
    'not a pickle': (lambda files: files.update(test_batch=b'\x80\x02garbage'), 'test_batch: not a readable CIFAR'),
    'code in the pickle': (_replace('data_batch_4', _Exploit()), 'data_batch_4: .*print is not allowed'),
    'missing file': (lambda files: files.pop('data_batch_3'), 'data_batch_3: CIFAR-10 file not found'),
}


@pytest.mark.parametrize('case', BAD_INPUTS)
def test_bad_input_fails_naming_the_file_and_leaves_nothing(tmp_path, case, capsys):
    corrupt, message = BAD_INPUTS[case]
    files = cifar_files()
    corrupt(files)
    write_cifar10(tmp_path / 'raw', files)
    with pytest.raises(DataError, match=message):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    assert_nothing_left(tmp_path / 'out')
    assert 'must never run' not in capsys.readouterr().out


def test_truncated_archive_is_named(tmp_path):
    path = write_cifar10(tmp_path / 'raw', archive=True)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match='cifar-10-python.tar.gz: truncated or corrupt archive'):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    assert_nothing_left(tmp_path / 'out')


def test_archive_without_a_batch_is_named(tmp_path):
    files = cifar_files()
    del files['test_batch']
    write_cifar10(tmp_path / 'raw', files, archive=True)
    with pytest.raises(DataError, match='cifar-10-python.tar.gz: has no file cifar-10-batches-py/test_batch'):
        prepare_fake(tmp_path / 'raw', tmp_path / 'out')
    assert tarfile.is_tarfile(tmp_path / 'raw' / 'cifar-10-python.tar.gz')


def test_absent_data_is_downloaded_through_torchvision_or_fails_clearly(tmp_path, monkeypatch):
    def fake_download(root, download):  # what torchvision's CIFAR10(download=True) leaves behind
        write_cifar10(tmp_path / 'raw')
    monkeypatch.setattr('torchvision.datasets.CIFAR10', fake_download)
    prepare_fake(tmp_path / 'raw', tmp_path / 'out', download=True)
    assert load_meta(tmp_path / 'out')['train_size'] == 20

    def offline(root, download):
        raise RuntimeError('<urlopen error [Errno -3] Temporary failure in name resolution>')
    monkeypatch.setattr('torchvision.datasets.CIFAR10', offline)
    with pytest.raises(DataError, match='empty/cifar-10-batches-py: CIFAR-10 not found, and downloading it failed'):
        prepare_fake(tmp_path / 'empty', tmp_path / 'out', download=True)
    assert_nothing_left(tmp_path / 'out')
