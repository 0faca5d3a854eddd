"""Checkpoints: the final model a training run hands on, and ``atomic_save``, torch.save through bnonly.atomic.

A model checkpoint is a plain dict of tensors, strings and numbers (no pickled classes), so it loads with
``torch.load(..., weights_only=True)`` and nothing read from disk can run code.

Besides the weights, a training run records how the network was initialised (``INIT_KEYS``: the
``model.batchnorm_init`` and ``model.weight_init`` settings and the run's seed), so that the analysis can
rebuild the same network as it was before training (``initial_model``) and compare the trained γ with the
γ it started from. Checkpoints written before these were recorded lack them; ``initial_model`` then says
so instead of guessing.

A network other than the paper's (``model.norm_layer`` other than batchnorm) records the ``create_model``
keywords that build it (``bnonly.config.model_keywords``), and ``load_model`` and ``initial_model`` pass them
back. A paper network records none, so its checkpoint is what it was before such settings existed, and a
checkpoint without them is a paper network.
"""
import io
import os

import torch
from torch import nn

from bnonly import atomic
from bnonly.config import model_keywords
from bnonly.models import create_model


def atomic_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` through ``bnonly.atomic``: a kill or a full disk never leaves half a file.

    Serialised in memory first: torch.save's own file writer turns ENOSPC into a RuntimeError, and the size
    is known before the disk is touched, so a full disk is reported as ``atomic.NoSpaceError`` with the size."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic.write_bytes(path, buffer.getbuffer())


def save_model(model: nn.Module, path, *, arch: str, num_classes: int, in_chans: int, **info) -> None:
    """Save a trained model with what is needed to rebuild it (``info`` holds extra plain values, among them
    ``create_model``'s keywords beyond the paper's network: ``bnonly.config.model_keywords``)."""
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    atomic_save(dict(arch=arch, num_classes=num_classes, in_chans=in_chans, state_dict=state, **info), path)


# What ``create_model`` needs, besides the architecture and the data's shape, to rebuild the initial network.
INIT_KEYS = ('batchnorm_init', 'weight_init', 'seed')


def initial_model(info: dict, device: str | torch.device = 'cpu') -> nn.Module | None:
    """The network as training built it before its first step (same architecture, normalisation,
    initialisation settings and seed), in eval mode; None when the checkpoint's ``info`` does not record all
    of ``INIT_KEYS``."""
    if any(info.get(key) is None for key in INIT_KEYS):
        return None
    model = create_model(info['arch'], num_classes=info['num_classes'], in_chans=info['in_chans'],
                         batchnorm_init=info['batchnorm_init'], weight_init=info['weight_init'], seed=info['seed'],
                         **model_keywords(info))
    return model.to(device).eval()


def load_model(path, device: str | torch.device = 'cpu') -> tuple[nn.Module, dict]:
    """Rebuild the model saved by ``save_model``; returns it in eval mode, and the checkpoint's other fields."""
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    model = create_model(checkpoint['arch'], num_classes=checkpoint['num_classes'],
                         in_chans=checkpoint['in_chans'], seed=0, **model_keywords(checkpoint))
    model.load_state_dict(checkpoint['state_dict'])
    info = {key: value for key, value in checkpoint.items() if key != 'state_dict'}
    return model.to(device).eval(), info
