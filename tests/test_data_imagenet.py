"""ImageNet: an index of a generated JPEG ImageFolder tree, its bad inputs, and its worker-fed loaders."""
import pytest
import torch

from bnonly.data import DataError, build_loaders, load_meta, prepare
from fake_datasets import write_image_folder


def assert_nothing_left(out):
    assert not out.exists()
    assert not [path for path in out.parent.iterdir() if path.name.startswith(f'.{out.name}.tmp')]


@pytest.fixture
def prepared(tmp_path):
    write_image_folder(tmp_path / 'raw', classes=('n02', 'n01', 'n03'), train=3, val=2)
    prepare('imagenet', tmp_path / 'raw', tmp_path / 'prepared')
    return tmp_path / 'prepared'


def test_prepare_writes_an_index_not_a_copy(prepared, tmp_path):
    meta = load_meta(prepared)
    assert meta['classes'] == ['n01', 'n02', 'n03']  # sorted folder names, as ImageFolder
    assert (meta['train_size'], meta['test_size'], meta['num_classes'], meta['image_size']) == (9, 6, 3, [224, 224])
    assert meta['root'] == str((tmp_path / 'raw').resolve())
    assert sorted(path.name for path in prepared.iterdir()) == ['meta.json', 'test.tsv', 'train.tsv']
    lines = (prepared / 'test.tsv').read_text().splitlines()
    assert lines[0] == 'val/n01/n01_0.JPEG\t0' and lines[-1] == 'val/n03/n03_1.JPEG\t2'


@pytest.mark.parametrize('case, message', [
    ('empty class', 'train/n02: class folder has no images'),
    ('class missing from val', r'raw/val: class folders differ from .*train \(missing: n03; extra: none\)'),
    ('no val', 'raw/val: folder not found'),
    ('no classes', 'raw/train: no class folders'),
])
def test_bad_trees_fail_naming_the_folder(tmp_path, case, message):
    root = write_image_folder(tmp_path / 'raw', classes=('n01', 'n02', 'n03'))
    if case == 'empty class':
        for path in (root / 'train' / 'n02').iterdir():
            path.rename(root / 'train' / 'n02' / f'{path.stem}.txt')  # not an image extension
    elif case == 'class missing from val':
        for path in (root / 'val' / 'n03').iterdir():
            path.unlink()
        (root / 'val' / 'n03').rmdir()
    elif case == 'no val':
        (root / 'val').rename(root / 'validation')
    else:
        (root / 'train').rename(root / 'old')
        (root / 'train').mkdir()
    with pytest.raises(DataError, match=message):
        prepare('imagenet', root, tmp_path / 'out')
    assert_nothing_left(tmp_path / 'out')


def test_missing_root_is_named(tmp_path):
    with pytest.raises(DataError, match='nothing: ImageNet folder not found'):
        prepare('imagenet', tmp_path / 'nothing', tmp_path / 'out')


def test_loaders_decode_crop_and_normalise(prepared):
    train, test = build_loaders(prepared, batch_size=4, eval_batch_size=4, seed=0, device='cpu', num_workers=0)
    assert (len(train), train.num_examples, len(test), test.num_examples) == (3, 9, 2, 6)
    epoch = [(x, y) for x, y in train.epoch(0)]
    assert [len(y) for _, y in epoch] == [4, 4, 1]
    assert sorted(torch.cat([y for _, y in epoch]).tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    x, y = epoch[0]
    assert x.shape == (4, 3, 224, 224) and x.dtype == torch.float32 and y.dtype == torch.int64
    test_x, test_y = next(iter(test.epoch(0)))
    assert test_y.tolist() == [0, 0, 1, 1]
    # One flat colour per class (red 40 for n02, written first; 140 for n01), kept by resize and crop.
    red = (test_x[:, 0] * 0.229 + 0.485) * 255
    assert torch.allclose(red.mean(dim=(1, 2)), torch.tensor([140.0, 140, 40, 40]), atol=3)


def test_train_batches_are_a_pure_function_of_seed_and_epoch_whatever_the_workers(prepared):
    def epoch(seed, index, workers):
        train, _ = build_loaders(prepared, batch_size=4, eval_batch_size=4, seed=seed, device='cpu',
                                 num_workers=workers)
        return [(x, y) for x, y in train.epoch(index)]
    state = torch.get_rng_state()
    reference = epoch(0, 1, 0)
    assert torch.equal(state, torch.get_rng_state())
    for (x1, y1), (x2, y2) in zip(reference, epoch(0, 1, 2)):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not all(torch.equal(x1, x2) for (x1, _), (x2, _) in zip(reference, epoch(0, 2, 0)))
