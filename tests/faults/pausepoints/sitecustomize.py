"""Test-only pause points, put on PYTHONPATH by tests/faults for the processes of one `dvc repro`.

With BNONLY_FAULT_PAUSE=<phase>, the first time a process reaches that phase it creates the file
BNONLY_FAULT_FILE and waits (at most BNONLY_FAULT_WAIT seconds, default 120) until the test has removed it, so
that the test's signal lands inside the phase; a signal handler that lets the process go on (training's
graceful stop) continues the phase once the file is gone. Without the variable nothing is patched.

The phases are found by wrapping functions of the modules as they are imported (nothing in the package knows
about this file):

- prepare           the prepared copy half written: train.pt in the staging folder, test.pt not yet renamed
- first_step        before the first training step of the process
- mid_epoch         before global training step BNONLY_FAULT_STEP (the middle of the last epoch)
- checkpoint_write  the resume state's temporary file written, not yet renamed to last.pt
- test_eval         at the start of the first test evaluation
- final_save        model.pt's temporary file written, not yet renamed
- analysis          the analysis's first table written, the second not yet renamed
- dvc_commit        in DVC itself: the train stage's command has finished, its outputs are not yet committed
"""
import importlib.abc
import os
import sys
import time
import types
from pathlib import Path

PHASE = os.environ.get('BNONLY_FAULT_PAUSE')
_paused: set[str] = set()
_tables_renamed = []


def pause(phase: str) -> None:
    if phase != PHASE or phase in _paused:
        return
    _paused.add(phase)
    flag = Path(os.environ['BNONLY_FAULT_FILE'])
    flag.write_text(f'{phase} {os.getpid()}\n')
    deadline = time.monotonic() + float(os.environ.get('BNONLY_FAULT_WAIT', '120'))
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _patch_atomic(module) -> None:
    real = module.os.replace

    def replace(source, target, *args, **kwargs):
        target_path = Path(target)
        if target_path.name == 'test.pt' and target_path.parent.name.startswith('.'):
            pause('prepare')
        elif target_path.name == 'last.pt':
            pause('checkpoint_write')
        elif target_path.name == 'model.pt':
            pause('final_save')
        elif target_path.parent.name == 'tables':
            _tables_renamed.append(target_path.name)
            if len(_tables_renamed) == 2:
                pause('analysis')
        return real(source, target, *args, **kwargs)

    proxy = types.ModuleType('os')  # only bnonly.atomic sees the wrapped rename
    proxy.__dict__.update(vars(module.os))
    proxy.replace = replace
    module.os = proxy


def _patch_step(module) -> None:
    real = module.TrainStep.__call__
    calls = []

    def step(self, *args, **kwargs):
        if not calls:
            pause('first_step')
        if len(calls) == int(os.environ.get('BNONLY_FAULT_STEP', '-1')):
            pause('mid_epoch')
        calls.append(None)
        return real(self, *args, **kwargs)

    module.TrainStep.__call__ = step


def _patch_evaluate(module) -> None:
    real = module.evaluate

    def evaluate(*args, **kwargs):
        pause('test_eval')
        return real(*args, **kwargs)

    module.evaluate = evaluate


def _patch_dvc_stage(module) -> None:
    real = module.Stage.commit

    def commit(self, *args, **kwargs):
        if self.addressing == 'train':
            pause('dvc_commit')
        return real(self, *args, **kwargs)

    module.Stage.commit = commit


PATCHES = {'bnonly.atomic': _patch_atomic, 'bnonly.training.step': _patch_step,
           'bnonly.training.evaluate': _patch_evaluate, 'dvc.stage': _patch_dvc_stage}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the modules above with the other finders, and patches each right after it has run: before any
    other module can bind its names."""

    def find_spec(self, name, path, target=None):
        if name not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            PATCHES[name](module)

        spec.loader.exec_module = exec_module
        return spec


if PHASE:
    sys.meta_path.insert(0, _PatchAfterImport())
