"""How the arithmetic of a run is done: precision, tensor layout, and the device's backend switches.

None of these changes what is computed, only how it is rounded:

- ``precision: fp32`` is open_lth's default (it ran fp32; apex fp16 was opt-in). ``bf16`` is opt-in: autocast
  runs convolutions and the linear layer in bfloat16 while the weights stay fp32 master copies (SGD, momentum
  and weight decay in fp32) and BatchNorm keeps fp32 affine parameters and fp32 running statistics (autocast
  leaves ``batch_norm`` out of its low-precision list, and the buffers are fp32 tensors). The loss is taken on
  fp32 logits. bf16 has fp32's exponent range, so no loss scaling is needed. It must be validated before use
  (benchmarks/speed_bf16_validation.py: accuracy and γ statistics against fp32 over several seeds; its
  results: benchmarks/results/bf16_validation.md).
- ``memory_format: channels_last`` stores activations and conv weights as NHWC. Same values, a different
  order in memory, so oneDNN (CPU) and cuDNN (GPU) pick other kernels, which on our CPU are faster per step
  than NCHW's (open_lth's default): the c1/c0 column of benchmarks/results/speed_cpu.md.
  The results agree with NCHW to fp32 rounding only (kernels sum in another order; tests/test_engine_
  equivalence.py states the tolerance); ``contiguous`` reproduces the NCHW engine bit for bit.
- On the CPU, freed activation memory stays in malloc's heap for the next step (host_memory.py): the same
  numbers, faster steps (the c/c1 column of benchmarks/results/speed_cpu.md).
- On CUDA, ``cudnn.benchmark`` lets cuDNN time its algorithms for each shape once (we have two shapes: full
  batches and the last, partial one). PyTorch's own defaults for TF32 are left as they are.
"""
import contextlib
import warnings

import torch

from bnonly.training import host_memory
from bnonly.vocabulary import MEMORY_FORMATS, PRECISIONS, keyed

_MEMORY_FORMAT = keyed(MEMORY_FORMATS, {'channels_last': torch.channels_last, 'contiguous': torch.contiguous_format})


def autocast(device: torch.device, precision: str):
    """The context a forward pass runs in: bf16 autocast, or nothing for fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f'unknown precision {precision!r}; valid: {", ".join(PRECISIONS)}')
    if precision == 'fp32':
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def warn_if_slow(device: torch.device, precision: str) -> None:
    """bf16 on a CPU without native bf16 instructions (AVX-512 BF16 / AMX) runs emulated, far slower than fp32."""
    if precision == 'bf16' and device.type == 'cpu' and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        warnings.warn('precision bf16 on a CPU without native bf16 support: expect it to be slower than fp32')


def memory_format(name: str) -> torch.memory_format:
    if name not in MEMORY_FORMATS:
        raise ValueError(f'unknown memory_format {name!r}; valid: {", ".join(MEMORY_FORMATS)}')
    return _MEMORY_FORMAT[name]


def configure_backends(device: torch.device) -> None:
    """Process-wide switches that only choose algorithms or where memory lives (never the function computed)."""
    if device.type == 'cpu':
        host_memory.keep_freed_memory()
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
