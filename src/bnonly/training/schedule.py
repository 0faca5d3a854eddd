"""open_lth's learning-rate schedule, stepped every iteration (training/optimizers.py uses a LambdaLR).

factor(it) = warmup(it) * gamma ** (number of milestones passed), with milestones given in epochs and
converted to iterations, and a linear warm-up from 0 over ``warmup_epochs`` (ImageNet: 5).
"""
from collections.abc import Sequence


def lr_factor(iteration: int, *, iterations_per_epoch: int, milestones: Sequence[int], gamma: float,
              warmup_epochs: int = 0) -> float:
    passed = sum(iteration >= m * iterations_per_epoch for m in milestones)
    factor = gamma ** passed
    warmup_iterations = warmup_epochs * iterations_per_epoch
    if iteration < warmup_iterations:
        factor *= iteration / warmup_iterations
    return factor
