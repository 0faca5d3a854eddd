"""Two DVC processes at once, and the locks a killed one leaves behind.

DVC 3.67 guards a workspace with two locks under .dvc/tmp: ``lock``, held while DVC reads or writes its own
state (zc.lockfile: an fcntl lock, which the kernel drops when its process dies, whatever killed it), and
``rwlock``, a JSON file of the PIDs reading and writing each running stage's dependencies and outputs, which
is what stops a second `dvc repro` while a stage runs. A PID there that no longer exists (a killed DVC) is
removed with a warning; one that exists (reused by another process since, or a process on another machine
sharing the folder) blocks, with a message saying to remove .dvc/tmp/rwlock by hand.
"""
import hashlib
import json
import shutil

import pytest
import yaml

from dvc_repo import dvc_env
from faults.harness import assert_same_training, up_to_date

pytestmark = pytest.mark.slow

BUSY = "is busy, it is being blocked by:\n  (PID {pid}): {dvc} repro train"
REMOVE = "If there are no processes with such PIDs, you can manually remove '{root}/.dvc/tmp/rwlock' and try again."


def test_a_second_repro_in_one_workspace_fails_fast_and_the_first_is_unharmed(prepared, reference, tmp_path,
                                                                              launch):
    repo = prepared.copy(tmp_path / 'repo')
    first = launch(repo, 'dvc', 'repro', 'train')
    first.wait_for(lambda: first.stage_process('train.py') is not None, 'the training process')
    second = repo.run('dvc', 'repro', 'train', check=False, timeout=120)  # fails at once, waiting for nothing
    assert second.returncode != 0
    assert BUSY.format(pid=first.process.pid, dvc=shutil.which('dvc', path=dvc_env(repo.root)['PATH'])) in \
        second.stderr, second.stderr
    assert REMOVE.format(root=repo.root) in second.stderr
    assert first.finish() == 0, first.output
    assert_same_training(repo, reference)
    assert up_to_date(repo, 'train')


def test_a_dead_dvc_process_in_the_rwlock_is_removed_with_a_warning(prepared, reference, tmp_path):
    repo = prepared.copy(tmp_path / 'repo')
    dead = _dead_pid(repo)
    _write_rwlock(repo, dead)
    result = repo.run('dvc', 'repro', 'train')
    assert f"with (Pid {dead}), in RWLock-file" in result.stderr and 'had been killed. Auto removed it' in \
        result.stderr, result.stderr
    assert_same_training(repo, reference)


def test_a_live_pid_in_the_rwlock_blocks_and_names_the_file_to_remove(prepared, tmp_path):
    """A stale entry whose PID now belongs to another process (here: pytest itself) cannot be told from a
    running DVC: DVC refuses, and removing the file it names is the way out."""
    import os
    repo = prepared.copy(tmp_path / 'repo')
    _write_rwlock(repo, os.getpid())
    result = repo.run('dvc', 'repro', 'train', check=False)
    assert result.returncode != 0
    assert BUSY.format(pid=os.getpid(), dvc='dvc') in result.stderr, result.stderr
    assert REMOVE.format(root=repo.root) in result.stderr
    (repo.root / '.dvc' / 'tmp' / 'rwlock').unlink()
    assert 'train' in repo.repro('train')


def _dead_pid(repo) -> int:
    """The PID of a process that has exited and been reaped."""
    finished = repo.run('sh', '-c', 'echo $$')
    return int(finished.stdout)


def _write_rwlock(repo, pid: int) -> None:
    """The rwlock a `dvc repro train` with ``pid`` holds while it runs the stage (as a SIGKILL leaves it)."""
    root = str(repo.root)
    lock = {'write': {f'{root}/results/train/model.pt': {'pid': pid, 'cmd': 'dvc repro train'}},
            'read': {f'{root}/data/prepared': [{'pid': pid, 'cmd': 'dvc repro train'}]}}
    path = repo.root / '.dvc' / 'tmp' / 'rwlock'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lock))


def test_two_clones_sharing_one_cache_train_the_same_cell_at_once(prepared, reference, tmp_path, launch):
    cache = tmp_path / 'shared-cache'
    shutil.copytree(prepared.root / '.dvc' / 'cache', cache)
    clones = [prepared.copy(tmp_path / name) for name in ('one', 'two')]
    for clone in clones:
        shutil.rmtree(clone.root / '.dvc' / 'cache')
        clone.run('dvc', 'cache', 'dir', str(cache))
    runs = [launch(clone, 'dvc', 'repro', 'train') for clone in clones]
    for run in runs:
        run.wait_for(lambda run=run: run.stage_process('train.py') is not None, 'the training process')
    assert [run.finish() for run in runs] == [0, 0], [run.output for run in runs]

    digests = set()
    for clone in clones:
        assert_same_training(clone, reference)
        lock = yaml.safe_load((clone.root / 'dvc.lock').read_text())
        (model,) = [out for out in lock['stages']['train']['outs'] if out['path'] == 'results/train/model.pt']
        digests.add(model['md5'])
    (digest,) = digests                  # one copy of the model in the shared cache ...
    stored = cache / 'files' / 'md5' / digest[:2] / digest[2:]
    assert hashlib.md5(stored.read_bytes()).hexdigest() == digest
    for path in (cache / 'files' / 'md5').rglob('*'):  # ... and no torn or half-written object beside it
        if path.is_file() and not path.name.endswith('.dir'):
            assert hashlib.md5(path.read_bytes()).hexdigest() == path.parent.name + path.name, path
    assert not [p for p in cache.rglob('*.tmp')] and not [p for p in cache.rglob('.*') if p.is_file()]
