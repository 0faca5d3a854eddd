"""Checkpoints: the final model a training run hands on, and ``atomic_save``, torch.save through bnonly.atomic.

A model checkpoint is a plain dict of tensors, strings and numbers (no pickled classes), so it loads with
``torch.load(..., weights_only=True)`` and nothing read from disk can run code.

Besides the weights, a training run records how the network was initialised (``INIT_KEYS``: the
``model.norm_init`` and ``model.weight_init`` settings and the run's seed), so that the analysis can
rebuild the same network as it was before training (``initial_model``) and compare the trained γ with the
γ it started from. Checkpoints written before these were recorded lack them; ``initial_model`` then says
so instead of guessing.

A network other than the paper's (``model.norm_layer`` other than batchnorm) records the ``create_model``
keywords that build it (``bnonly.settings.model_keywords``), and ``load_model`` and ``initial_model`` pass them
back. A paper network records none, so its checkpoint is what it was before such settings existed, and a
checkpoint without them is a paper network.
"""
import io
import os

import torch
from torch import nn

from bnonly import atomic
from bnonly.models import create_model
from bnonly.settings import model_keywords


def atomic_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` through ``bnonly.atomic``: a kill or a full disk never leaves half a file.

    Serialised in memory first: torch.save's own file writer turns ENOSPC into a RuntimeError, and the size
    is known before the disk is touched, so a full disk is reported as ``atomic.NoSpaceError`` with the size."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic.write_bytes(path, buffer.getbuffer())


def save_model(model: nn.Module, path, *, arch: str, num_classes: int, in_chans: int, **info) -> None:
    """Save a trained model with what is needed to rebuild it (``info`` holds extra plain values, among them
    ``create_model``'s keywords beyond the paper's network: ``bnonly.settings.model_keywords``)."""
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    atomic_save(dict(arch=arch, num_classes=num_classes, in_chans=in_chans, state_dict=state, **info), path)


# What ``create_model`` needs, besides the architecture and the data's shape, to rebuild the initial network.
INIT_KEYS = ('norm_init', 'weight_init', 'seed')


def initial_model(info: dict, device: str | torch.device = 'cpu') -> nn.Module | None:
    """The network as training built it before its first step (same architecture, normalisation,
    initialisation settings and seed), in eval mode; None when the checkpoint's ``info`` does not record all
    of ``INIT_KEYS``."""
    if any(info.get(key) is None for key in INIT_KEYS):
        return None
    model = create_model(info['arch'], num_classes=info['num_classes'], in_chans=info['in_chans'],
                         norm_init=info['norm_init'], weight_init=info['weight_init'], seed=info['seed'],
                         **model_keywords(info))
    return model.to(device).eval()


class CheckpointError(Exception):
    """A model checkpoint that is missing, torn or not one ``save_model`` wrote; ``str()`` is one line."""


_RETRAIN = 'retrain it (`dvc repro train`, or the grid cell\'s train stage)'


def load_model(path, device: str | torch.device = 'cpu') -> tuple[nn.Module, dict]:
    """Rebuild the model saved by ``save_model``; returns it in eval mode, and the checkpoint's other fields.
    ``CheckpointError`` when the file is missing or is not such a checkpoint."""
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f'{path}: not found; {_RETRAIN}') from None
    except Exception as error:  # torch.load raises whatever the unpickler met: all mean a torn or foreign file
        # Only the type: torch's own text runs to many lines and suggests weights_only=False.
        raise CheckpointError(f'{path}: unreadable as a model checkpoint ({type(error).__name__}); '
                              f'{_RETRAIN}') from error
    missing = [key for key in ('arch', 'num_classes', 'in_chans', 'state_dict')
               if not isinstance(checkpoint, dict) or key not in checkpoint]
    if missing:
        raise CheckpointError(f'{path}: not a model checkpoint (no {", ".join(missing)}); {_RETRAIN}')
    try:
        model = create_model(checkpoint['arch'], num_classes=checkpoint['num_classes'],
                             in_chans=checkpoint['in_chans'], seed=0, **model_keywords(checkpoint))
        model.load_state_dict(checkpoint['state_dict'])
    except (RuntimeError, ValueError, TypeError) as error:  # an unknown network; missing or mis-shaped tensors
        raise CheckpointError(f'{path}: its weights do not fit its network {checkpoint["arch"]!r} '
                              f'({str(error).splitlines()[0]}); {_RETRAIN}') from error
    info = {key: value for key, value in checkpoint.items() if key != 'state_dict'}
    return model.to(device).eval(), info
