"""Training one configuration of the paper: the open_lth recipe, resumable, with results DVC can compare.

``train_run`` trains one run; ``train_stacked`` trains several seeds of one configuration as one batched
model (same outputs per run). Speed and numerics: numerics.py, step.py, compiling.py, optimizer.py.
"""
from bnonly.training.loop import TrainingDiverged, pick_device, train_run
from bnonly.training.spec import RunSpec
from bnonly.training.ensemble import train_stacked

__all__ = ['RunSpec', 'TrainingDiverged', 'pick_device', 'train_run', 'train_stacked']
