"""A small Vision Transformer for Fashion-MNIST: timm's own ``VisionTransformer``, registered with timm as
``vit_fmnist_tiny`` when this module is imported.

Configuration (``VIT_FMNIST_TINY``) and why:
- 28x28 input, patch 4: a 7x7 grid of 49 patch tokens plus the class token (50 tokens). Patch 7 would leave
  16 tokens, too coarse for attention to matter; patch 2 would give four times the tokens and about 16
  times the attention cost.
- embed_dim 64, 4 heads of 16 dimensions, depth 4, MLP ratio 2: 139,018 parameters and about 8M
  multiply-adds per image (ResNet-14 at 28x28: about 20M), so it trains on a 2-core CPU. Its LayerNorms hold
  (2·4 + 1)·2·64 = 1,152 parameters, close to ResNet-14's 1,120 BatchNorm parameters, so norm_only on it and
  bn_only on ResNet-14 train comparable counts.
- class token pooling (timm's ``global_pool='token'``), pre-norm blocks with a final LayerNorm before the
  head, no dropout or stochastic depth (the paper's networks have none).

Initialisation: not timm's (truncated normal 0.02). ``bnonly.initialization.initialize`` gives it the
paper's: Kaiming-normal fan_in weights for the patch embedding and every linear, the norm inits
(``norm_init``, γ ~ U[0, 1), β = 0 by default) for every LayerNorm, and N(0, 1) for the class token and
position embedding (why: ``initialization._embedding``). timm's VisionTransformer has its own
``weight_init`` argument; this entrypoint's ``weight_init`` is the project's (``WEIGHT_INITS``), and timm's
is set to 'skip' because everything is re-initialised anyway.

The input size is fixed at 28x28 (timm raises on any other); ``in_chans`` and ``num_classes`` are free. For
the trainable sets (norm_only = every LayerNorm's weight and bias, output_only = the head, random_k's
layers) see ``bnonly.trainable``.
"""
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.vision_transformer import VisionTransformer

from bnonly.initialization import initialize
from bnonly.vocabulary import VIT_ARCHITECTURES  # noqa: F401 (the names this module registers)

VIT_FMNIST_TINY = dict(img_size=28, patch_size=4, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0,
                       class_token=True, global_pool='token')
# Fashion-MNIST's training-set pixel mean and standard deviation (after ToTensor's division by 255).
FASHION_MNIST_MEAN = (0.2860,)
FASHION_MNIST_STD = (0.3530,)


def _cfg(**kwargs):
    return dict(url='', num_classes=10, input_size=(1, 28, 28), pool_size=None, crop_pct=1.0,
                interpolation='bilinear', fixed_input_size=True, mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD,
                first_conv='patch_embed.proj', classifier='head', license='mit', **kwargs)


# Registered before the entrypoint: timm reads this module-level name when @register_model runs.
default_cfgs = generate_default_cfgs({'vit_fmnist_tiny.untrained': _cfg()})


def _true_cfg_overlay(kwargs: dict) -> dict:
    """Make the model's pretrained_cfg describe the model actually built (channels, classes)."""
    in_chans = kwargs.get('in_chans', 1)
    overlay = dict(kwargs.pop('pretrained_cfg_overlay', None) or {})
    if in_chans != 1:
        overlay.setdefault('mean', FASHION_MNIST_MEAN * in_chans)
        overlay.setdefault('std', FASHION_MNIST_STD * in_chans)
    overlay.setdefault('input_size', (in_chans, 28, 28))
    if 'num_classes' in kwargs:
        overlay.setdefault('num_classes', kwargs['num_classes'])
    return overlay


@register_model
def vit_fmnist_tiny(pretrained: bool = False, *, norm_init: str = 'uniform', weight_init: str = 'kaiming_normal',
                    seed: int | None = None, **kwargs) -> VisionTransformer:
    """ViT for 28x28 images: patch 4, embed 64, depth 4, 4 heads, MLP ratio 2, class token (module docstring)."""
    overlay = _true_cfg_overlay(kwargs)
    model_args = dict(VIT_FMNIST_TINY, **kwargs)
    model = build_model_with_cfg(VisionTransformer, 'vit_fmnist_tiny', pretrained, pretrained_cfg_overlay=overlay,
                                 weight_init='skip', **model_args)
    return initialize(model, weights=weight_init, norms=norm_init, seed=seed)
