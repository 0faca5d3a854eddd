"""In-memory loaders: batch counts, coverage, determinism from (seed, epoch), crops, and the prepared copy."""
import json
import math

import pytest
import torch

from bnonly.data import DataError, build_loaders, load_meta, prepare
from bnonly.data.augment import normalize
from bnonly.data.memory_loader import InMemoryLoader
from fake_datasets import write_fashion_mnist

MEAN, STD = [0.25], [0.5]


def loader(count=50, batch_size=16, seed=0, **kwargs):
    generator = torch.Generator().manual_seed(123)
    images = torch.randint(0, 256, (count, 1, 12, 12), generator=generator, dtype=torch.uint8)
    options = dict(batch_size=batch_size, mean=MEAN, std=STD, device='cpu', seed=seed, shuffle=True,
                   crop_padding=4, horizontal_flip=True)
    # Labels 0..N-1 identify the images.
    return InMemoryLoader(images, torch.arange(count), **{**options, **kwargs})


def batches(data_loader, epoch):
    return [(x.clone(), y.clone()) for x, y in data_loader.epoch(epoch)]


def test_every_image_once_per_epoch_and_the_last_partial_batch_is_kept():
    data = loader(count=50, batch_size=16)
    assert len(data) == math.ceil(50 / 16) == 4 and data.num_examples == 50
    epoch = batches(data, 0)
    assert [len(y) for _, y in epoch] == [16, 16, 16, 2]
    assert sorted(torch.cat([y for _, y in epoch]).tolist()) == list(range(50))
    x, y = epoch[0]
    assert x.shape == (16, 1, 12, 12) and x.dtype == torch.float32 and y.dtype == torch.int64


def test_batches_are_a_pure_function_of_seed_and_epoch():
    state = torch.get_rng_state()
    first, resumed = loader(), loader()
    batches(resumed, 0)  # a resumed run starts later, with a different history of calls
    for (x1, y1), (x2, y2) in zip(batches(first, 3), batches(resumed, 3)):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is neither used nor disturbed
    assert not torch.equal(batches(first, 3)[0][1], batches(first, 4)[0][1])
    assert not torch.equal(batches(first, 3)[0][1], batches(loader(seed=1), 3)[0][1])


def test_augmented_images_are_crops_and_flips_of_their_source_in_range():
    data = loader(count=20, batch_size=20)
    x, y = batches(data, 0)[0]
    raw = torch.round((x * STD[0] + MEAN[0]) * 255).to(torch.uint8)  # undo the normalisation
    assert x.min() >= (0 - MEAN[0]) / STD[0] and x.max() <= (1 - MEAN[0]) / STD[0]
    padded = torch.nn.functional.pad(data.images, (4, 4, 4, 4))
    flipped = 0
    for crop, label in zip(raw, y.tolist()):
        candidates = [(top, left, flip) for top in range(9) for left in range(9) for flip in (False, True)
                      if torch.equal(crop, (lambda w: w.flip(-1) if flip else w)(
                          padded[label, :, top:top + 12, left:left + 12]))]
        assert candidates, f'image {label} is not a crop of its padded source'
        flipped += candidates[0][2]
    assert 0 < flipped < 20


def test_without_flips_no_image_is_mirrored():
    data = loader(count=30, batch_size=30, crop_padding=0, horizontal_flip=False)
    x, y = batches(data, 0)[0]
    assert torch.equal(x, normalize(data.images[y], data.mean, data.std))


@pytest.fixture
def prepared(tmp_path):
    write_fashion_mnist(tmp_path / 'raw', train=37, test=11)
    prepare('fashion_mnist', tmp_path / 'raw', tmp_path / 'prepared', checksums=None, download=False)
    return tmp_path / 'prepared'


def test_build_loaders_serves_the_prepared_copy(prepared):
    train, test = build_loaders(prepared, batch_size=8, eval_batch_size=5, seed=0, device='cpu')
    assert (len(train), train.num_examples, len(test), test.num_examples) == (5, 37, 3, 11)
    meta = load_meta(prepared)
    stored = torch.load(prepared / 'test.pt', weights_only=True)
    x = torch.cat([x for x, _ in test.epoch(0)])
    y = torch.cat([y for _, y in test.epoch(0)])
    mean, std = (torch.tensor(meta[key]).view(1, 1, 1, 1) for key in ('mean', 'std'))
    assert torch.equal(y, stored['labels']) and torch.equal(x, normalize(stored['images'], mean, std))
    assert x.device.type == y.device.type == 'cpu'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_batches_equal_cpu_batches(prepared):
    cpu, _ = build_loaders(prepared, batch_size=8, eval_batch_size=5, seed=0, device='cpu')
    gpu, _ = build_loaders(prepared, batch_size=8, eval_batch_size=5, seed=0, device='cuda')
    for (x1, y1), (x2, y2) in zip(cpu.epoch(2), gpu.epoch(2)):
        assert x2.is_cuda and torch.equal(x1, x2.cpu()) and torch.equal(y1, y2.cpu())


def _break(name, content):
    def corrupt(folder):
        (folder / name).unlink() if content is None else (folder / name).write_bytes(content)
    return corrupt


BROKEN = {
    'no meta': (_break('meta.json', None), 'meta.json: not found'),
    'bad json': (_break('meta.json', b'{"dataset": '), 'meta.json: unreadable'),
    'meta keys': (_break('meta.json', json.dumps({'dataset': 'cifar10'}).encode()), 'meta.json: missing num_classes'),
    'no tensors': (_break('train.pt', None), 'train.pt: not found'),
    'bad tensors': (_break('test.pt', b'not a torch file'), 'test.pt: unreadable'),
}


@pytest.mark.parametrize('case', BROKEN)
def test_a_missing_or_corrupt_prepared_copy_says_to_rerun_prepare(prepared, case):
    corrupt, message = BROKEN[case]
    corrupt(prepared)
    with pytest.raises(DataError, match=f'{message}.*run `dvc repro prepare`'):
        build_loaders(prepared, batch_size=8, eval_batch_size=5, seed=0, device='cpu')


def test_tensors_that_disagree_with_meta_are_rejected(prepared):
    torch.save({'images': torch.zeros(37, 1, 28, 27, dtype=torch.uint8), 'labels': torch.zeros(37, dtype=torch.long)},
               prepared / 'train.pt')
    with pytest.raises(DataError, match='train.pt: does not match .*meta.json'):
        build_loaders(prepared, batch_size=8, eval_batch_size=5, seed=0, device='cpu')


def test_load_meta_of_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match='no prepared data set at .*nowhere.*dvc repro prepare'):
        load_meta(tmp_path / 'nowhere')
