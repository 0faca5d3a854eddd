"""Training one configuration of the paper: the open_lth recipe, resumable, with results DVC can compare.

``train_run`` trains one run. Speed and numerics: numerics.py, step.py, compiling.py, optimizer.py. Stopping
and resuming: stopping.py (signals, ``STOPPED_EXIT_CODE``), resume.py (the resume state).

The names below load on first use (PEP 562), as ``bnonly``'s do: ``from bnonly.training.stopping import
STOPPED_EXIT_CODE`` (a launcher's import) does not import torch, and a module that needs one engine file
(the analysis: numerics.py) does not load the whole loop.
"""
from bnonly.lazy import export_lazily

# Public name -> the submodule that defines it.
_LAZY = {
    'RunSpec': 'bnonly.training.spec',
    'STOPPED_EXIT_CODE': 'bnonly.training.stopping', 'STOP_SIGNALS': 'bnonly.training.stopping',
    'StopRequest': 'bnonly.training.stopping', 'TrainingStopped': 'bnonly.training.stopping',
    'stopped': 'bnonly.training.stopping',
    'TrainingDiverged': 'bnonly.training.loop', 'pick_device': 'bnonly.training.loop',
    'train_run': 'bnonly.training.loop',
}

export_lazily(__name__, _LAZY)
