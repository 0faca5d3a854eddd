"""A full disk, for real: the project (or the resume state) on a small tmpfs that the test fills while training
or the analysis. Each write that finds no room fails with one line naming the path and the bytes it
needed, leaves the file it was replacing intact, and `dvc repro` finishes once space is freed, from the saved
state where there is one, with the uninterrupted run's outputs.

Mounting needs root (CAP_SYS_ADMIN); elsewhere these tests skip, saying so.
"""
import os
import re
import uuid

import pytest

from faults.harness import Pause, assert_same_analysis, assert_same_training, up_to_date

pytestmark = pytest.mark.slow

NO_SPACE = re.compile(r'^(\w+): error: no space left on (\S+): needed about ([\d.]+ k?M?B), ([\d.]+ k?M?B) free$')


@pytest.fixture
def tmpfs(mount_tmpfs):
    return mount_tmpfs('64m')


def fill(folder, leave: int) -> os.PathLike:
    """Take all but ``leave`` bytes of the file system's free space; returns the filler file."""
    filler = folder / f'filler-{uuid.uuid4().hex}'
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - leave
    with filler.open('wb') as handle:
        os.posix_fallocate(handle.fileno(), 0, size)
    return filler


def error_lines(log: str) -> list[re.Match]:
    return [match for line in log.splitlines() if (match := NO_SPACE.match(line))]


def paused_at_mid_epoch(repo, launch, env=None):
    pause = Pause(repo, 'mid_epoch')
    run = launch(repo, 'dvc', 'repro', 'train', env={**pause.env, **(env or {})})
    run.wait_for(pause.reached, 'the middle of the last epoch')
    return run, pause


def test_a_full_disk_at_the_resume_state_keeps_the_previous_one(prepared, reference, tmp_path, tmpfs, launch):
    repo = prepared.copy(tmp_path / 'repo')
    scratch = tmpfs / 'scratch'
    run, pause = paused_at_mid_epoch(repo, launch, env={'BNONLY_SCRATCH': str(scratch)})
    (state,) = scratch.rglob('last.pt')                    # the first epoch's
    saved = state.read_bytes()
    filler = fill(tmpfs, leave=64 * 1024)
    pause.release()
    assert run.finish() != 0
    (error,) = error_lines(run.output)
    assert error.group(1, 2) == ('train', str(state)), run.output
    assert state.read_bytes() == saved                     # intact
    assert not [p for p in state.parent.iterdir() if '.tmp-' in p.name]  # no torn temporary file either

    filler.unlink()
    result = repo.run('dvc', 'repro', 'train', env_extra={'BNONLY_SCRATCH': str(scratch)})
    assert f'resuming from {state} after epoch 1' in result.stdout, result.stdout
    assert_same_training(repo, reference)


def test_a_full_disk_at_the_model_write_resumes_from_the_last_state(prepared, reference, tmpfs, launch):
    repo = prepared.copy(tmpfs / 'repo')                   # the outputs on the small disk, the state elsewhere
    scratch = tmpfs.parent / 'scratch'
    run, pause = paused_at_mid_epoch(repo, launch, env={'BNONLY_SCRATCH': str(scratch)})
    filler = fill(tmpfs, leave=64 * 1024)
    pause.release()
    assert run.finish() != 0
    (error,) = error_lines(run.output)
    assert error.group(1, 2) == ('train', 'results/train/model.pt'), run.output
    assert not (repo.root / 'results' / 'train' / 'model.pt').exists()

    filler.unlink()
    result = repo.run('dvc', 'repro', 'train', env_extra={'BNONLY_SCRATCH': str(scratch)})
    assert 'resuming from ' in result.stdout and 'after epoch 2' in result.stdout, result.stdout
    assert_same_training(repo, reference)
    assert up_to_date(repo, 'train')


def test_a_full_disk_in_the_analysis_names_the_file(trained, reference, tmpfs, launch):
    """Filled once the analysis has written its first table (DVC itself needs room before that)."""
    repo = trained.copy(tmpfs / 'repo')
    pause = Pause(repo, 'analysis')
    run = launch(repo, 'dvc', 'repro', 'analyze', env=pause.env)
    run.wait_for(pause.reached, 'the analysis writing its tables')
    filler = fill(tmpfs, leave=4 * 1024)
    pause.release()
    assert run.finish() != 0
    (error,) = error_lines(run.output)
    assert error.group(1) == 'analyze' and error.group(2).startswith('results/analyze/'), run.output

    filler.unlink()
    repo.run('dvc', 'repro', 'analyze')
    assert_same_analysis(repo, reference)
