"""A `dvc repro` killed in every phase of the single experiment, by SIGKILL, SIGINT and SIGTERM, then run again:
the second `dvc repro` finishes and its outputs are the uninterrupted run's, bit for bit (model tensors,
metrics and history without their timing fields, the prepared data, every analysis table).

The signal goes to the whole process group (dvc, the shell it starts, the stage's python), as Ctrl-C in a
terminal and a batch system's cancel or preemption deliver it. The phase is hit exactly through the pause
points of pausepoints/sitecustomize.py, which the test puts on PYTHONPATH: the process announces the phase and
waits there until the signal has been sent.

What each signal does (DVC 3.67 and the stages):
- SIGKILL: everything dies at once; work since the last resume state (saved at every epoch end) is lost, and
  DVC's rwlock keeps the dead PID, which the next `dvc repro` removes with a warning.
- SIGINT: DVC ignores it while a stage's command runs; training finishes its step, saves its state and exits
  75 with one line saying where the state is and to rerun `dvc repro`; DVC then fails the stage. In DVC's own
  work (the commit after the command) it stops DVC.
- SIGTERM: DVC dies at once (its rwlock entry stays, as with SIGKILL); the stage's python gets it too, and
  training stops as for SIGINT. A stop that arrives after the last step lets the run finish.
"""
import signal

import pytest
import yaml

from faults.harness import (Pause, assert_committed_like, assert_same_analysis, assert_same_prepared,
                            assert_same_training)

pytestmark = pytest.mark.slow

# phase -> (the project's state before the run, the stage `dvc repro` is asked for)
PHASES = {
    'prepare': ('fresh', 'prepare'),
    'first_step': ('prepared', 'train'),
    'mid_epoch': ('prepared', 'train'),
    'checkpoint_write': ('prepared', 'train'),
    'test_eval': ('prepared', 'train'),
    'final_save': ('prepared', 'train'),
    'dvc_commit': ('prepared', 'train'),
    'analysis': ('trained', 'analyze'),
}
# The phases in which training is still running and so stops gracefully on SIGINT/SIGTERM.
TRAINING = ('first_step', 'mid_epoch', 'checkpoint_write', 'test_eval')
# The phases during which DVC holds the rwlock of a running stage.
IN_A_STAGE = tuple(phase for phase in PHASES if phase != 'dvc_commit')
SIGNALS = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)


def resumes(phase: str, number: int) -> bool:
    """Whether the rerun continues from a saved state rather than training afresh (or not at all): a graceful
    stop saves one; a SIGKILL leaves the last epoch end's, and only the middle of the last epoch and the final
    write come after one (the first evaluation and the first state write end the first epoch)."""
    if phase in TRAINING and number != signal.SIGKILL:
        return True
    return number == signal.SIGKILL and phase in ('mid_epoch', 'final_save')


def stopped_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith('train: stopped by ')]


@pytest.mark.parametrize('number', SIGNALS, ids=lambda number: signal.Signals(number).name)
@pytest.mark.parametrize('phase', PHASES)
def test_killed_in_a_phase_then_repro_matches_the_uninterrupted_run(phase, number, request, reference, tmp_path,
                                                                     launch):
    before, target = PHASES[phase]
    repo = request.getfixturevalue(before).copy(tmp_path / 'repo')
    pause = Pause(repo, phase)
    run = launch(repo, 'dvc', 'repro', target, env=pause.env)
    run.wait_for(pause.reached, f'the {phase} phase')
    run.signal_group(number)
    pause.release()
    code = run.finish()
    log = run.output
    name = signal.Signals(number).name

    # Only a Ctrl-C after the last step lets everything finish: training completes and DVC, which ignores
    # SIGINT while a command runs, commits. A SIGTERM kills DVC whatever the stage does.
    # A Ctrl-C during DVC's commit either stops DVC ('interrupted by the user') or, when it lands while DVC
    # still ignores SIGINT around the stage it ran (seen under load), lets the commit finish: both leave a
    # consistent workspace, which the checks below hold either way.
    commit_race = phase == 'dvc_commit' and number == signal.SIGINT
    if not commit_race:
        assert (code == 0) == (phase == 'final_save' and number == signal.SIGINT), log
    if number != signal.SIGKILL and phase in TRAINING:
        (line,) = stopped_lines(log)
        assert line.startswith(f'train: stopped by {name} ') and '; state saved to ' in line and \
            line.endswith('; rerun the same command (`dvc repro`) to resume'), line
    else:
        assert not stopped_lines(log), log
    if commit_race:
        assert ('ERROR: interrupted by the user' in log) == (code != 0), log
    assert 'Traceback' not in log, log
    if number != signal.SIGKILL and phase in ('prepare', 'analysis'):
        # Nothing to resume from there: one line says the stage's run was dropped whole and how to redo it.
        stage = 'prepare' if phase == 'prepare' else 'analyze'
        lines = [line for line in log.splitlines() if line.startswith(f'{stage}: stopped by {name} ')]
        assert len(lines) == 1 and lines[0].endswith('rerun `dvc repro` to run it again'), log

    # Nothing half-done is on record or in place: DVC has no lock entry for the stage (unless it finished),
    # and a prepared copy is there whole or not at all.
    recorded = yaml.safe_load((repo.root / 'dvc.lock').read_text())['stages'] if \
        (repo.root / 'dvc.lock').exists() else {}
    assert (target in recorded) == (code == 0), recorded.keys()
    if phase == 'prepare':
        assert not (repo.root / 'data' / 'prepared').exists()

    again = repo.run('dvc', 'repro', target)
    second = again.stdout + again.stderr
    if number != signal.SIGINT and phase in IN_A_STAGE:
        assert 'had been killed. Auto removed it from the lock file.' in second, second
    assert ('resuming from ' in second) == resumes(phase, number), second
    assert_same_prepared(repo, reference)
    if target != 'prepare':
        assert_same_training(repo, reference)
    if target == 'analyze':
        assert_same_analysis(repo, reference)
    assert_committed_like(repo, reference, target)
    # A finished run leaves no resume state, nor the temporary file of a write that was killed.
    assert not [path.name for path in (repo.root / '.scratch').rglob('*') if path.is_file()]
