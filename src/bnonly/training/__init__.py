"""Training one configuration of the paper: the open_lth recipe, resumable, with results DVC can compare.

``train_run`` trains one run. Speed and numerics: numerics.py, step.py, compiling.py, optimizer.py. Stopping
and resuming: stopping.py (signals, ``STOPPED_EXIT_CODE``), resume.py (the resume state).

The names below load on first use (PEP 562), as ``bnonly``'s do: ``from bnonly.training.stopping import
STOPPED_EXIT_CODE`` (a launcher's import) does not import torch, and a module that needs one engine file
(the analysis: numerics.py) does not load the whole loop.
"""
import importlib

# Public name -> the submodule that defines it.
_LAZY = {
    'RunSpec': 'bnonly.training.spec',
    'STOPPED_EXIT_CODE': 'bnonly.training.stopping', 'STOP_SIGNALS': 'bnonly.training.stopping',
    'StopRequest': 'bnonly.training.stopping', 'TrainingStopped': 'bnonly.training.stopping',
    'stopped': 'bnonly.training.stopping',
    'TrainingDiverged': 'bnonly.training.loop', 'pick_device': 'bnonly.training.loop',
    'train_run': 'bnonly.training.loop',
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
