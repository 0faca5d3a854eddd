"""`bnonly.slurm`'s parts that need no cluster: time limits, which stages make a cell, the requeue cap, the
checkpoint that requeues a task before its time limit, and the lock entries a submit releases. The grid on a real
cluster is tests/test_slurm.py's."""
import argparse
import pickle

import pytest
import yaml

from bnonly.slurm.cells import Cell, grid_cells, select
from bnonly.slurm.records import read_json
from bnonly.slurm.submit import minutes, release_locks
from bnonly.slurm.task import CellTask, TaskFailed, TaskSettings

CELL = Cell('grid_train@a-bn_only-0', ('grid_train@a-bn_only-0',))


@pytest.mark.parametrize('text, expected', [('90', 90), ('30:30', 31), ('4:00:00', 240), ('1-12', 2160),
                                            ('1-12:30', 2190), ('0-00:00:59', 1)])
def test_time_limits_in_slurm_formats(text, expected):
    assert minutes(text) == expected


@pytest.mark.parametrize('text', ['', '4h', '1:2:3:4', '0'])
def test_bad_time_limits_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        minutes(text)


def test_a_cell_is_its_training_stage_and_its_analysis():
    names = ['grid_recipe', 'grid_prepare', 'grid_train@a-bn_only-0', 'grid_train@a-all-0',
             'grid_train@a-all-fixed-0', 'grid_analyze@a-bn_only-0', 'grid_aggregate', 'claims']
    cells = grid_cells(names)
    assert [cell.stages for cell in cells] == [('grid_train@a-bn_only-0', 'grid_analyze@a-bn_only-0'),
                                               ('grid_train@a-all-0',), ('grid_train@a-all-fixed-0',)]
    assert [cell.name for cell in select(cells, 'grid_analyze')] == ['grid_train@a-bn_only-0']
    assert [cell.name for cell in select(cells, '^grid_train@.*-all-0')] == ['grid_train@a-all-0']
    assert select(cells, None) == cells


def _task(tmp_path, max_requeues: int):
    settings = TaskSettings(workspace=str(tmp_path), commit='0' * 40, cache_dir=str(tmp_path / 'cache'),
                            work_dir=str(tmp_path / 'work'), submission='s', cpus=1, max_requeues=max_requeues)
    return CellTask(settings)


def test_a_task_requeued_more_often_than_allowed_fails_before_it_clones(tmp_path, monkeypatch):
    monkeypatch.setenv('SLURM_RESTART_COUNT', '2')
    task, cell = _task(tmp_path, max_requeues=1), CELL
    with pytest.raises(TaskFailed, match='requeued 2 times, more than --max-requeues 1'):
        task(cell)
    record = read_json(task.work.cell(cell.slug))
    assert record['state'] == 'failed' and record['restarts'] == 2 and record['submission'] == 's'
    assert not task.work.clone(cell.slug).exists()


@pytest.mark.parametrize('restarts, requeued', [(0, True), (1, False)])
def test_checkpoint_requeues_until_the_limit(tmp_path, monkeypatch, restarts, requeued):
    monkeypatch.setenv('SLURM_RESTART_COUNT', str(restarts))
    task, cell = _task(tmp_path, max_requeues=1), CELL
    delayed = task.checkpoint(cell)                 # no training process to stop: nothing to wait for
    record = read_json(task.work.cell(cell.slug))
    if requeued:
        assert record['state'] == 'stopped' and delayed.args == (cell,)
        again = pickle.loads(pickle.dumps(delayed.function))     # submitit pickles it for the requeued run
        assert again.settings == task.settings
    else:
        assert delayed is None and record['state'] == 'failed' and '--max-requeues 1' in record['reason']


def test_submit_releases_the_lock_entries_of_the_cells_it_submits(tmp_path):
    """A submitted cell's lock entry records outputs DVC lacks; with it kept, the workspace's `dvc repro` after the
    array would train the cell again instead of restoring it from the run-cache."""
    lock = tmp_path / 'dvc.lock'
    lock.write_text("schema: '2.0'\nstages:\n  grid_train@a-0:\n    cmd: python stages/train.py\n"
                    "  grid_analyze@a-0:\n    cmd: python stages/analyze.py\n"
                    "  grid_aggregate:\n    cmd: python stages/aggregate.py\n")
    release_locks(tmp_path, {'grid_train@a-0', 'grid_analyze@a-0', 'grid_train@b-0'})
    assert yaml.safe_load(lock.read_text()) == {'schema': '2.0',
                                                'stages': {'grid_aggregate': {'cmd': 'python stages/aggregate.py'}}}
    release_locks(tmp_path / 'no-workspace', {'grid_train@a-0'})  # no dvc.lock yet: nothing to release
