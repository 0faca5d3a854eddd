"""One training iteration, as open_lth's loop does it: zero the gradients, forward in training mode,
cross-entropy, backward, SGD step; the learning rate for the iteration is set before the step.

The numerics (precision, layout, compilation) are applied here and nowhere else, so the loop that calls it
is the same whatever they are.
"""
import torch
import torch.nn.functional as F
from torch import nn

from bnonly.training import numerics
from bnonly.training.compiling import compiled, uses_cuda_graphs


class TrainStep:
    """``step(x, y, lr) -> (loss, logits)``, both detached; ``forward`` is what evaluation should call too."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, *, device: torch.device,
                 precision: str = 'fp32', memory_format: str = 'contiguous', compile: bool | str = False):
        self.model, self.optimizer, self.device, self.precision = model, optimizer, device, precision
        self.layout = numerics.memory_format(memory_format)
        numerics.autocast(device, precision)  # validates the name now, not at the first step
        numerics.warn_if_slow(device, precision)
        self.forward = compiled(model, compile)
        self.mark_step = uses_cuda_graphs(compile, device)
        self._lr = None

    def autocast(self):
        return numerics.autocast(self.device, self.precision)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        # A no-op for one-channel images (NCHW and NHWC strides coincide when C = 1).
        return x.contiguous(memory_format=self.layout)

    def set_lr(self, lr: float) -> None:
        # open_lth's LambdaLR writes every group's lr every iteration; writing only on change is the same.
        if lr != self._lr:
            for group in self.optimizer.param_groups:
                group['lr'] = lr
            self._lr = lr

    def __call__(self, x: torch.Tensor, y: torch.Tensor, lr: float, *, world: int = 1,
                 global_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``world``/``global_size``: this process trains one slice of a global batch (distributed.py); its loss
        is scaled so that the gradients averaged over processes are those of the global batch's mean loss."""
        self.set_lr(lr)
        if self.mark_step:
            # CUDA graph trees reuse output memory between replays; this marks where an iteration begins.
            torch.compiler.cudagraph_mark_step_begin()
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            logits = self.forward(self.inputs(x))
        loss = F.cross_entropy(logits.float(), y)
        scaled = loss if world == 1 else loss * (len(y) * world / global_size)
        scaled.backward()
        self.optimizer.step()
        return loss.detach(), logits.detach()
