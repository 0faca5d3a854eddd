"""ImageNet ResNets as the paper trained them: timm's own definitions with open_lth's settings.

timm's ``resnet18`` ... ``resnet200`` have the same tensors as torchvision's (and so open_lth's); two timm
defaults differ from the paper and are undone here: ``zero_init_last`` (γ of each block's last BN set to 0)
is turned off, and timm's Kaiming fan_out init is replaced by the paper's (``bnonly.initialization``).
"""
import timm
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from bnonly.vocabulary import IMAGENET_RESNETS

# A model built here carries no weights: its cfg must not point at any, nor keep the evaluation recipe of
# timm's trained weights (test at 288 px, crop 0.95, bicubic). It is evaluated as the paper does instead:
# Resize(256) + CenterCrop(224), bilinear (docs/paper.md, training setup). None drops a field from the cfg.
_NO_WEIGHTS = dict(url='', hf_hub_id=None, hf_hub_filename=None, file=None, tag='untrained', origin_url=None,
                   paper_ids='arXiv:2003.00152', test_input_size=None, test_crop_pct=None, crop_pct=0.875,
                   interpolation='bilinear')


def create_imagenet_resnet(name: str, **kwargs):
    if name not in IMAGENET_RESNETS:
        raise ValueError(f'unknown ImageNet ResNet {name!r}; valid: {", ".join(IMAGENET_RESNETS)}')
    if kwargs.pop('pretrained', False):
        raise ValueError(f'{name}: bnonly builds the paper\'s untrained networks; pretrained weights are not '
                         f'supported (use timm.create_model directly for timm\'s weights)')
    overlay = dict(_NO_WEIGHTS, **(kwargs.pop('pretrained_cfg_overlay', None) or {}))
    in_chans = kwargs.get('in_chans', 3)
    if in_chans != 3:
        overlay.setdefault('input_size', (in_chans, 224, 224))
        # As for the CIFAR nets: other channel counts are normalised with the per-channel averages.
        overlay.setdefault('mean', tuple([sum(IMAGENET_DEFAULT_MEAN) / 3] * in_chans))
        overlay.setdefault('std', tuple([sum(IMAGENET_DEFAULT_STD) / 3] * in_chans))
    if 'num_classes' in kwargs:
        overlay.setdefault('num_classes', kwargs['num_classes'])
    return timm.create_model(name, pretrained=False, zero_init_last=False, pretrained_cfg_overlay=overlay,
                             **kwargs)
