"""``train.compile``: optionally run the model through ``torch.compile`` (opt-in; false reproduces eager).

Inductor fuses BatchNorm, ReLU and the residual adds into fewer kernels; the function is the same, the
rounding differs slightly. On our 2-core CPU it does not pay: its steady-state epochs run at about eager's
speed, and end to end it is slower, the first call of each batch shape spending time compiling (the
``compile`` and ``fp32`` engine rows of benchmarks/results/speed_cpu_variants.md, fresh processes). It is
meant for a GPU, where ``reduce-overhead`` adds CUDA graphs (one launch per step instead of thousands: what
the deep, thin ResNets need there).

Constraints honoured here:
- the model is compiled after freezing: changing ``requires_grad`` later would invalidate the graphs;
- ``dynamic=False``: an epoch has two batch shapes (full batches and the last, partial one), and each gets
  its own static graph rather than a slower shape-generic one;
- graphs run the real step each call (no warm-up replays that would update BN statistics a second time).
"""
import torch
from torch import nn

from bnonly.vocabulary import COMPILE_MODES


def compile_mode(option: bool | str) -> str | None:
    """The torch.compile mode a ``train.compile`` value asks for; None for eager."""
    if option is False or option is None:
        return None
    if option is True:
        return 'default'
    if option not in COMPILE_MODES:
        raise ValueError(f'unknown compile mode {option!r}; valid: false, true, {", ".join(COMPILE_MODES)}')
    return option


def compiled(model: nn.Module, option: bool | str) -> nn.Module:
    """What to call for forward passes: ``model`` itself, or its compiled wrapper (which shares its
    parameters and buffers; save and load ``model``, never the wrapper)."""
    mode = compile_mode(option)
    if mode is None:
        return model
    return torch.compile(model, mode=mode, dynamic=False)


def uses_cuda_graphs(option: bool | str, device: torch.device) -> bool:
    return device.type == 'cuda' and compile_mode(option) in ('reduce-overhead', 'max-autotune')
