"""open_lth's optimizer: SGD with momentum and coupled L2 weight decay, over the trainable tensors only.

open_lth (training/optimizers.py) builds ``torch.optim.SGD(model.parameters(), lr, momentum, weight_decay)``;
we give it only the tensors that train, so frozen ones get no decay (they would get no gradient anyway).
Which implementation of the same update runs is a speed choice:

- CPU: ``foreach=True`` (one multi-tensor call per step instead of a Python loop over tensors): bit-identical
  to the default for-loop on our machines (tests/test_engine_equivalence.py), and its cost per step is small
  beside a CPU step's forward and backward. ``fused=True`` would be cheaper still but contracts the update
  into fused multiply-adds, which moves parameters by rounding after a few steps: not worth leaving open_lth's
  update for. (No results file under benchmarks/results/ times the three implementations.)
- CUDA: ``fused=True`` (a few kernels per step instead of several per tensor; it matters when a step is a
  fraction of a millisecond). Same update, rounded with fused multiply-adds.
"""
import torch


def make_sgd(params: list[torch.nn.Parameter], *, lr: float, momentum: float, weight_decay: float,
             device: torch.device) -> torch.optim.SGD:
    implementation = dict(fused=True) if device.type == 'cuda' else dict(foreach=True)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **implementation)
