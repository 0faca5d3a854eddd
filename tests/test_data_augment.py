"""Batched crop, flip and normalisation against explicit slicing and torchvision's per-image transforms."""
import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF

from bnonly.data.augment import crop_flip, draw_crop_flip, normalize, resized_crop_box

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def batch(count=16, channels=3, size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, channels, size, size), generator=generator, dtype=torch.uint8)


def test_each_crop_is_a_shift_of_the_zero_padded_image():
    images = batch(channels=3, size=28)
    offsets, flips = draw_crop_flip(len(images), 4, torch.Generator().manual_seed(1))
    out = crop_flip(images, offsets, flips, padding=4)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    padded = torch.zeros(len(images), 3, 36, 36, dtype=torch.uint8)
    padded[:, :, 4:32, 4:32] = images
    for image, crop, (top, left), flip in zip(padded, out, offsets.tolist(), flips.tolist()):
        window = image[:, top:top + 28, left:left + 28]
        assert torch.equal(crop, window.flip(-1) if flip else window)


def test_offsets_cover_the_padding_and_half_the_images_flip():
    offsets, flips = draw_crop_flip(20000, 4, torch.Generator().manual_seed(0))
    assert offsets.min() == 0 and offsets.max() == 8
    assert torch.bincount(offsets.flatten()).min() > 3500  # uniform: 40000 draws over 9 values
    assert 0.48 < flips.float().mean() < 0.52


def test_matches_torchvision_pil_transforms_bit_for_bit():
    images = batch(count=8)
    offsets, flips = draw_crop_flip(8, 4, torch.Generator().manual_seed(2))
    ours = normalize(crop_flip(images, offsets, flips, padding=4), torch.tensor(MEAN).view(1, 3, 1, 1),
                     torch.tensor(STD).view(1, 3, 1, 1))
    finish = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])
    for image, mine, (top, left), flip in zip(images, ours, offsets.tolist(), flips.tolist()):
        pil = TF.crop(TF.pad(TF.to_pil_image(image), 4), top, left, 32, 32)  # RandomCrop(32, padding=4)
        assert torch.equal(mine, finish(TF.hflip(pil) if flip else pil))


def test_normalize_range_and_dtype():
    images = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1)
    out = normalize(images, torch.tensor([0.25]).view(1, 1, 1, 1), torch.tensor([0.5]).view(1, 1, 1, 1))
    assert out.dtype == torch.float32 and out.flatten().tolist() == [-0.5, 1.5]


def test_no_padding_and_no_flip_is_the_identity():
    images = batch(count=4)
    assert torch.equal(crop_flip(images, torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, dtype=torch.bool), 0),
                       images)


@pytest.mark.parametrize('width, height', [(500, 375), (64, 48), (30, 200)])
def test_resized_crop_box_stays_inside_and_follows_scale_and_ratio(width, height):
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        top, left, crop_h, crop_w = resized_crop_box(width, height, (0.1, 1.0), (0.8, 1.25), generator)
        assert 0 <= top and top + crop_h <= height and 0 <= left and left + crop_w <= width and crop_h and crop_w
        area = crop_h * crop_w / (width * height)
        fallback = (top, left) == ((height - crop_h) // 2, (width - crop_w) // 2)
        assert fallback or (0.1 - 0.02 < area < 1.02 and 0.8 - 0.05 < crop_w / crop_h < 1.25 + 0.05)


def test_resized_crop_box_falls_back_to_a_centred_crop_in_the_ratio_range():
    # A 1000x10 strip admits no crop of ratio <= 1.25 and area >= 10%: the fallback is the centred 12x10 box.
    assert resized_crop_box(1000, 10, (0.1, 1.0), (0.8, 1.25), torch.Generator()) == (0, 494, 10, 12)


def test_resized_crop_box_is_a_function_of_the_generator():
    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return [resized_crop_box(300, 200, (0.1, 1.0), (0.8, 1.25), generator) for _ in range(5)]
    assert draw(5) == draw(5) != draw(6)
