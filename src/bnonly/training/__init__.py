"""Training one configuration of the paper: the open_lth recipe, resumable, with results DVC can compare.

``train_run`` trains one run. Speed and numerics: numerics.py, step.py, compiling.py, optimizer.py. Stopping
and resuming: stopping.py (signals, ``STOPPED_EXIT_CODE``), resume.py (the resume state).
"""
from bnonly.training.loop import TrainingDiverged, pick_device, train_run
from bnonly.training.spec import RunSpec
from bnonly.training.stopping import STOPPED_EXIT_CODE, StopRequest, TrainingStopped, stopped

__all__ = ['RunSpec', 'STOPPED_EXIT_CODE', 'StopRequest', 'TrainingDiverged', 'TrainingStopped', 'pick_device',
           'stopped', 'train_run']
