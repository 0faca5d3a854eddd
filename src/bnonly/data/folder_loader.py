"""Batches of an indexed ImageFolder data set (ImageNet), decoded and augmented by DataLoader workers.

Workers return uint8 tensors and the main process normalises them on the device (as timm's prefetcher does),
which moves a quarter of the float32 bytes between processes. Each image's augmentation comes from its own
generator, seeded from the epoch's stream, so batches do not depend on the number of workers.
"""
import math
from collections.abc import Iterator
from pathlib import Path

import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from bnonly.data.augment import normalize, resized_crop_box
from bnonly.data.seeding import epoch_generator


class _Images(Dataset):
    """Item ``(index, seed)`` (training: random crop and flip from ``seed``) or ``index`` (test)."""

    def __init__(self, root: Path, entries: list[tuple[str, int]], augmentation: dict, train: bool):
        self.root, self.entries, self.augmentation, self.train = root, entries, augmentation, train

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, item):
        index, seed = item if self.train else (item, None)
        path, label = self.entries[index]
        with Image.open(self.root / path) as opened:
            image = opened.convert('RGB')  # as ImageFolder's loader: grey and CMYK JPEGs exist in ImageNet
        if self.train:
            crop = self.augmentation['random_resized_crop']
            generator = torch.Generator().manual_seed(seed)
            box = resized_crop_box(*image.size, crop['scale'], crop['ratio'], generator)
            image = TF.resized_crop(image, *box, [crop['size'], crop['size']], antialias=True)
            flip = bool(torch.randint(0, 2, (1,), generator=generator))
            if self.augmentation['horizontal_flip'] and flip:
                image = TF.hflip(image)
        else:
            image = TF.center_crop(TF.resize(image, self.augmentation['test_resize'], antialias=True),
                                   self.augmentation['test_crop'])
        return TF.pil_to_tensor(image), label


class FolderLoader:
    """The ``InMemoryLoader`` interface (``len``, ``num_examples``, ``epoch(e)``) over image files."""

    def __init__(self, root: Path, entries: list[tuple[str, int]], *, batch_size: int, mean: list[float],
                 std: list[float], augmentation: dict, device: torch.device | str, num_workers: int,
                 seed: int = 0, shuffle: bool = False):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.device = torch.device(device)
        self.dataset = _Images(Path(root), entries, augmentation, train=shuffle)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.batch_size, self.num_workers, self.seed, self.shuffle = batch_size, num_workers, seed, shuffle

    @property
    def num_examples(self) -> int:
        return len(self.dataset)

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``start``: the first batch to yield (a resumed epoch skips those already trained; each image's
        augmentation has its own seed, so the batches after it are unchanged)."""
        if self.shuffle:
            generator = epoch_generator(self.seed, epoch)
            order = torch.randperm(self.num_examples, generator=generator).tolist()
            seeds = torch.randint(0, 2 ** 62, (self.num_examples,), generator=generator).tolist()
            items = list(zip(order, seeds))
        else:
            items = list(range(self.num_examples))
        items = items[start * self.batch_size:]
        # DataLoader draws its workers' base seed from ``generator``, else from the global RNG.
        loader = DataLoader(self.dataset, batch_size=self.batch_size, sampler=items, num_workers=self.num_workers,
                            pin_memory=self.device.type == 'cuda', generator=epoch_generator(self.seed, epoch))
        for images, labels in loader:
            images = images.to(self.device, non_blocking=True)
            yield normalize(images, self.mean, self.std), labels.to(self.device, non_blocking=True)
