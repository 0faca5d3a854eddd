"""Benchmark: our batched in-memory augmentation against open_lth's per-image PIL transforms.

Both sides produce the same thing, training batches of random-crop(pad 4) + flip + normalise, from the same
uint8 images, in one run on one machine:
- ours: ``bnonly.data.memory_loader.InMemoryLoader`` (images resident on the device, one gather per batch);
- open_lth's way: a Dataset doing ``Image.fromarray`` + RandomHorizontalFlip + RandomCrop(size, padding=4) +
  ToTensor + Normalize per image, through ``DataLoader(shuffle=True, num_workers=0)``, batches moved to the
  device afterwards.
The result is batches per second of each and their ratio. Random pixels are used unless ``--prepared`` names
a prepared copy: the cost of these transforms does not depend on pixel values.

Timings mean something only on an idle machine (another busy process on our 2 cores slows torch several
times over); the script measures machine-wide CPU use before and after and says whether it was idle.

    .venv/bin/python benchmarks/augmentation.py                        # writes benchmarks/results/augmentation.md
    .venv/bin/python benchmarks/augmentation.py --quick                # smoke run, a few batches
    .venv/bin/python benchmarks/augmentation.py --prepared data/prepared --device cuda
"""
import argparse
import datetime
import os
import statistics
import time
from pathlib import Path

import PIL
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from bnonly.data.memory_loader import InMemoryLoader
from environment import cpu_busy, machine, write_report
from bnonly.data.prepared import load_meta, load_tensors

RESULTS = Path(__file__).resolve().parent / 'results'
SHAPES = {'cifar10': (3, 32, 32), 'fashion_mnist': (1, 28, 28)}
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
IDLE_BUSY = 0.05      # machine-wide share of CPU time busy while we sleep; above it the machine is not idle
IDLE_LOAD = 0.5       # 1-minute load average


class PerImageTransforms(Dataset):
    """open_lth's datasets/base.py path: numpy HWC images, one PIL image and transform chain per item."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: list[float], std: list[float]):
        array = images.permute(0, 2, 3, 1).numpy()
        self.images = array[..., 0] if array.shape[-1] == 1 else array  # PIL wants 2-D arrays for grey
        self.labels = labels.numpy()
        self.transform = T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(images.shape[-1], padding=4),
                                    T.ToTensor(), T.Normalize(mean, std)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def batches_per_second(batches, count: int, device: torch.device) -> float:
    """Rate of drawing ``count`` batches from the iterator ``batches`` (moved to ``device``, synchronised)."""
    start = time.perf_counter()
    for _ in range(count):
        x, y = next(batches)
        x, y = x.to(device), y.to(device)
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


def endless(epoch_iterable):
    epoch = 0
    while True:
        yield from epoch_iterable(epoch)
        epoch += 1


def load_images(args) -> tuple[str, torch.Tensor, torch.Tensor, list[float], list[float]]:
    if args.prepared:
        meta = load_meta(args.prepared)
        images, labels = load_tensors(args.prepared, 'train', meta)
        return f'`{meta["dataset"]}` training set ({args.prepared})', images, labels, meta['mean'], meta['std']
    channels, height, width = SHAPES[args.shape]
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, channels, height, width), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, 10, (args.images,), generator=generator)
    return (f'{args.images:,} random {channels}x{height}x{width} images', images, labels,
            IMAGENET_MEAN[:channels], IMAGENET_STD[:channels])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='smoke run: 5,000 images, 10 batches, 1 repeat')
    parser.add_argument('--shape', choices=tuple(SHAPES), default='cifar10', help='of the random images')
    parser.add_argument('--images', type=int, default=None, help='random images (default 50,000; quick 5,000)')
    parser.add_argument('--prepared', type=Path, default=None, help='use this prepared copy\'s training images')
    parser.add_argument('--batches', type=int, default=None, help='timed per repeat (default 200; quick 10)')
    parser.add_argument('--repeats', type=int, default=None, help='alternating repeats (default 3; quick 1)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s, as training)')
    parser.add_argument('--out', type=Path, default=None,
                        help='default benchmarks/results/augmentation.md (quick: augmentation-quick.md)')
    args = parser.parse_args()
    args.images = args.images or (5_000 if args.quick else 50_000)
    count, repeats = args.batches or (10 if args.quick else 200), args.repeats or (1 if args.quick else 3)
    out = args.out or RESULTS / ('augmentation-quick.md' if args.quick else 'augmentation.md')
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)

    busy_before, load_before = cpu_busy(), os.getloadavg()[0]
    source, images, labels, mean, std = load_images(args)
    ours = endless(InMemoryLoader(images, labels, batch_size=args.batch_size, mean=mean, std=std, device=device,
                                  seed=0, shuffle=True, crop_padding=4, horizontal_flip=True).epoch)
    torch.manual_seed(0)
    per_image = DataLoader(PerImageTransforms(images, labels, mean, std), batch_size=args.batch_size,
                           shuffle=True, num_workers=0, pin_memory=device.type == 'cuda')
    theirs = endless(lambda epoch: iter(per_image))
    for iterator in (ours, theirs):  # warm-up: allocator, first-call costs
        batches_per_second(iterator, 2, device)
    rates = {'ours': [], 'theirs': []}
    for _ in range(repeats):  # alternate, so drift in machine speed hits both sides alike
        rates['ours'].append(batches_per_second(ours, count, device))
        rates['theirs'].append(batches_per_second(theirs, count, device))
    busy_after, load_after = cpu_busy(), os.getloadavg()[0]

    ours_rate, theirs_rate = statistics.median(rates['ours']), statistics.median(rates['theirs'])
    idle = max(busy_before, busy_after) <= IDLE_BUSY and load_before <= IDLE_LOAD
    if not idle:
        print(f'WARNING: the machine was not idle (CPU busy {busy_before:.0%} before, {busy_after:.0%} after; '
              f'load average {load_before:.2f}): these timings are not trustworthy')
    lines = [f'# Augmentation benchmark{" (QUICK SMOKE RUN: not a measurement)" if args.quick else ""}', '',
             f'{datetime.datetime.now().isoformat(timespec="seconds")}: {source}, batch {args.batch_size}, '
             f'device `{device}`, {count} batches per repeat, median of {repeats} alternating repeats. '
             'Both sides: random crop with 4-pixel zero padding, horizontal flip, normalise.', '',
             f'Machine idle: **{"yes" if idle else "NO: the timings below are not trustworthy"}** (machine-wide '
             f'CPU busy {busy_before:.1%} before, {busy_after:.1%} after, limit {IDLE_BUSY:.0%}; load average '
             f'{load_before:.2f} before, {load_after:.2f} after, limit {IDLE_LOAD}).', '',
             '| loader | batches/s | images/s | repeats (batches/s) |', '|---|---:|---:|---|']
    for name, label, rate in (('ours', 'bnonly InMemoryLoader (batched tensor ops)', ours_rate),
                              ('theirs', 'per-image PIL transforms, DataLoader num_workers=0 (open_lth)', theirs_rate)):
        lines.append(f'| {label} | {rate:,.1f} | {rate * args.batch_size:,.0f} | '
                     f'{", ".join(f"{r:,.1f}" for r in rates[name])} |')
    lines += ['', f'**Speed-up: {ours_rate / theirs_rate:.1f}x** (ours / per-image).', '', '| machine | |', '|---|---|']
    lines += [f'| {key} | {value} |' for key, value in machine(device).items()]
    write_report(lines, out)


if __name__ == '__main__':
    main()
