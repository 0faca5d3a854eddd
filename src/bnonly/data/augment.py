"""Augmentation as batched tensor ops, and the ImageNet crop box drawn from an explicit generator.

Small images: open_lth applies, per PIL image, RandomCrop(size, padding=4) (zero padding of the raw pixels)
and RandomHorizontalFlip, then ToTensor and Normalize. ``crop_flip`` does the same to a whole uint8 batch in
one gather; ``normalize`` repeats ToTensor's and Normalize's arithmetic, so results are bit-identical.
"""
import math

import torch
import torch.nn.functional as F


def crop_flip(images: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor, padding: int) -> torch.Tensor:
    """Crop each image of ``images`` [B, C, H, W] at ``offsets`` [B, 2] (top, left, each in 0..2*padding) of
    its zero-padded copy, mirrored left-right where ``flips`` [B] is true. Same dtype and shape out."""
    batch, channels, height, width = images.shape
    padded_width = width + 2 * padding
    padded = F.pad(images, (padding,) * 4).flatten(2)
    rows = offsets[:, :1] + torch.arange(height, device=images.device)
    columns = torch.arange(width, device=images.device).expand(batch, width)
    # A flip is a reversed column order within the crop window, so crop and flip are one gather from each
    # flattened padded plane: one pass over the batch where gathering rows, then columns, makes two.
    columns = torch.where(flips[:, None], width - 1 - columns, columns) + offsets[:, 1:]
    flat = (rows[:, :, None] * padded_width + columns[:, None, :]).view(batch, 1, height * width)
    return padded.gather(2, flat.expand(batch, channels, height * width)).view(batch, channels, height, width)


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 [B, C, H, W] -> float32, as ToTensor (x / 255) then Normalize ((x - mean) / std); mean and
    std are float32 [1, C, 1, 1] on the images' device."""
    return images.float().div_(255).sub_(mean).div_(std)


def draw_crop_flip(count: int, padding: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets [count, 2] uniform in 0..2*padding and flips [count] with probability 1/2, as RandomCrop and
    RandomHorizontalFlip draw them."""
    offsets = torch.randint(0, 2 * padding + 1, (count, 2), generator=generator)
    flips = torch.randint(0, 2, (count,), generator=generator).bool()
    return offsets, flips


def resized_crop_box(width: int, height: int, scale: tuple[float, float], ratio: tuple[float, float],
                     generator: torch.Generator) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a random crop covering a fraction ``scale`` of the area with aspect
    ratio (w/h) in ``ratio``, log-uniform; torchvision RandomResizedCrop's distribution (Szegedy et al.
    2015): ten tries, then the largest centred crop whose ratio is in range."""
    area = width * height
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        draws = torch.rand(2, generator=generator, dtype=torch.float64).tolist()
        target = area * (scale[0] + (scale[1] - scale[0]) * draws[0])
        aspect = math.exp(log_low + (log_high - log_low) * draws[1])
        crop_w, crop_h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = int(torch.randint(0, height - crop_h + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - crop_w + 1, (1,), generator=generator))
            return top, left, crop_h, crop_w
    if width / height < ratio[0]:
        crop_w, crop_h = width, round(width / ratio[0])
    elif width / height > ratio[1]:
        crop_w, crop_h = round(height * ratio[1]), height
    else:
        crop_w, crop_h = width, height
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w
