"""Batches of a small-image data set held in memory (on the training device) as uint8 tensors.

Departure from open_lth, which augments each PIL image in the training thread (DataLoader, num_workers=0):
the same crop and flip distribution, drawn per epoch from our own generator and applied to whole batches.
"""
import math
from collections.abc import Iterator

import torch

from bnonly.data.augment import crop_flip, draw_crop_flip, normalize
from bnonly.data.seeding import epoch_generator


class InMemoryLoader:
    """``len()`` is ceil(N / batch_size): the last, partial batch is kept, as open_lth does.

    ``epoch(e)`` yields (float32 images [B, C, H, W], int64 labels [B]) on ``device``. With ``shuffle``,
    order and augmentation are drawn from ``epoch_generator(seed, e)`` on the CPU, so they do not depend on
    the device or on what else used the global RNG; without it, batches are in order and unaugmented.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int, mean: list[float],
                 std: list[float], device: torch.device | str, seed: int = 0, shuffle: bool = False,
                 crop_padding: int = 0, horizontal_flip: bool = False):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.device = torch.device(device)
        self.images, self.labels = images.to(self.device), labels.to(self.device)
        channels = images.shape[1]
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, channels, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, channels, 1, 1)
        self.batch_size, self.seed, self.shuffle = batch_size, seed, shuffle
        self.crop_padding, self.horizontal_flip = crop_padding, horizontal_flip

    @property
    def num_examples(self) -> int:
        return len(self.labels)

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``start``: the first batch to yield (a resumed epoch skips those already trained)."""
        count = self.num_examples
        if self.shuffle:
            generator = epoch_generator(self.seed, epoch)
            order = torch.randperm(count, generator=generator)
            offsets, flips = draw_crop_flip(count, self.crop_padding, generator)
            if not self.horizontal_flip:
                flips.zero_()
            order, offsets, flips = order.to(self.device), offsets.to(self.device), flips.to(self.device)
        for first in range(start * self.batch_size, count, self.batch_size):
            stop = min(first + self.batch_size, count)
            if not self.shuffle:
                yield normalize(self.images[first:stop], self.mean, self.std), self.labels[first:stop]
                continue
            chosen = order[first:stop]
            images = self.images[chosen]
            if self.crop_padding or self.horizontal_flip:
                images = crop_flip(images, offsets[first:stop], flips[first:stop], self.crop_padding)
            yield normalize(images, self.mean, self.std), self.labels[chosen]
