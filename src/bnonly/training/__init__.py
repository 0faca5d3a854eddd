"""Training one configuration of the paper: the open_lth recipe, resumable, with results DVC can compare.

``train_run`` trains one run. Speed and numerics: numerics.py, step.py, compiling.py, optimizer.py.
"""
from bnonly.training.loop import TrainingDiverged, pick_device, train_run
from bnonly.training.spec import RunSpec

__all__ = ['RunSpec', 'TrainingDiverged', 'pick_device', 'train_run']
