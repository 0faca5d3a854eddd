"""benchmarks/time_breakdown.py: known seconds in, known shares out; and the wrapper around a trivial command."""
import csv
import json
import subprocess
import sys

import pytest

from dvc_repo import PROJECT

sys.path.insert(0, str(PROJECT / 'benchmarks'))
import time_breakdown  # noqa: E402

T0 = 1_700_000_000.0  # an epoch time, as bnonly.timing writes them


def record(argv, start, script, end, **phases):
    return {'argv': argv, 'process_start': T0 + start, 'script_start': T0 + script, 'end': T0 + end,
            'phases': phases}


# 100 s of wall time: five stage processes account for 73 s, so DVC's own work is 27 s.
SYNTHETIC = [
    record(['stages/prepare.py', '--out', 'data/grid_prepared'], 0, 2, 10, data=6.0),
    record(['stages/train.py', '--data', 'data/grid_prepared', '--out', 'results/grid/net-all-fixed-0/train'],
           10, 14, 50, data=1.0, train_steps=30.0, test_eval=3.0),
    # A child of the train cell that logged too (say a worker running a stage script): inside its parent.
    record(['stages/train.py', '--out', 'results/train'], 20, 21, 30, train_steps=8.0),
    record(['stages/analyze.py', '--out=results/grid/net-all-0/analyze'], 50, 54, 70, data=1.0,
           analysis_passes=10.0, unnamed_phase=2.0),
    record(['stages/aggregate.py', '--params', 'grid.yaml'], 70, 71, 72),
    record(['stages/figures.py', '--figure', '3', '--out', 'reports/figures/figure3'], 72, 72.5, 73),
]


def test_stage_names_come_from_the_command_line():
    names = [time_breakdown.stage_of(r['argv']) for r in SYNTHETIC]
    assert names == [('prepare', 'grid_prepare'), ('train', 'grid_train@net-all-fixed-0'), ('train', 'train'),
                     ('analyses', 'grid_analyze@net-all-0'), ('report', 'grid_aggregate'), ('report', 'figure@3')]
    assert time_breakdown.stage_of(['stages/analyze.py', '--out', 'results/analyze']) == ('analyses', 'analyze')
    assert time_breakdown.stage_of(['stages/prepare.py', '--out', 'data/prepared']) == ('prepare', 'prepare')
    assert time_breakdown.stage_of(['-c']) == ('other', '-c')


def test_synthetic_log_gives_known_shares():
    b = time_breakdown.summarise(SYNTHETIC, wall=100.0, unreadable=1)
    assert len(b.processes) == 5 and b.nested == 1
    assert b.totals == pytest.approx({'startup': 2 + 4 + 4 + 1 + 0.5, 'data': 8.0, 'train_steps': 30.0,
                                      'test_eval': 3.0, 'analysis_passes': 10.0,
                                      'rest': 2 + 2 + 5 + 1 + 0.5, 'dvc': 27.0})
    assert sum(b.totals.values()) == pytest.approx(100.0)  # every second of the wall time is somewhere
    assert b.headline == pytest.approx(40.0) and b.share(b.headline) == pytest.approx(0.40)
    assert b.by_kind['train']['wall'] == pytest.approx(40.0)
    assert b.by_kind['analyses']['rest'] == pytest.approx(5.0)  # unnamed phases count as the rest
    assert b.by_kind['report'] == pytest.approx({'startup': 1.5, 'data': 0, 'train_steps': 0, 'test_eval': 0,
                                                 'analysis_passes': 0, 'rest': 1.5, 'wall': 3.0})
    assert b.median_startup('report') == pytest.approx(0.75)

    text = time_breakdown.markdown(b, {'command': '`dvc repro`'}, None)
    assert '**Training steps + analysis passes: 40.0 s of 100.0 s, 40.0% of the wall time.**' in text
    assert "| DVC's own work | 27.0 | 27.0% |" in text
    assert '| report stages | 2 | 1.5 | 0.0 | 0.0 | 0.0 | 0.0 | 1.5 | 3.0 | 3.0% | 0.75 |' in text
    assert '(and 1 inside them, counted in their parents); 1 unreadable log lines' in text

    rows = time_breakdown.csv_rows(b)
    overall = [row for row in rows if row['kind'] in ('all', 'dvc')]
    assert sum(row['share_of_wall'] for row in overall) == pytest.approx(1.0)
    assert {row['component']: row['seconds'] for row in rows if row['kind'] == 'train'}['train_steps'] == 30.0


def test_the_log_reader_skips_broken_lines(tmp_path):
    log = tmp_path / 'log.jsonl'
    log.write_text(json.dumps(SYNTHETIC[0]) + '\n{"argv": ["stages/train.py"], "process_st\n\n')
    records, unreadable = time_breakdown.read_log(log)
    assert records == [SYNTHETIC[0]] and unreadable == 1
    assert time_breakdown.read_log(tmp_path / 'none.jsonl') == ([], 0)


# Two stage processes under a driver that fails: a grid cell with a training phase, then a report stage.
STAGE = ('import sys, time\nsys.argv = {argv!r}\nfrom bnonly import timing\ntiming.start_script()\n'
         'with timing.phase("train_steps"):\n    time.sleep({sleep})\n')
DRIVER = '\n'.join([
    'import subprocess, sys',
    *(f'subprocess.run([sys.executable, "-c", {STAGE.format(argv=argv, sleep=sleep)!r}], check=True)'
      for argv, sleep in ((['stages/train.py', '--out', 'results/grid/net-bn_only-1/train'], 0.3),
                          (['stages/claims.py', '--out', 'reports/claims.md'], 0))),
    'sys.exit(3)',
])


def test_wrapper_runs_a_command_and_reports_it(tmp_path):
    out = tmp_path / 'results' / 'breakdown.md'
    result = subprocess.run([sys.executable, str(PROJECT / 'benchmarks' / 'time_breakdown.py'), '--out', str(out),
                             '--no-machine', '--', sys.executable, '-c', DRIVER],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr  # the command's status, and the report written anyway
    text = out.read_text()
    assert '- exit status: 3' in text and '- stage processes logged: 2' in text
    assert '1-min load average at start' in text
    log = out.with_suffix('.jsonl')
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r['argv'][0] for r in records] == ['stages/train.py', 'stages/claims.py']
    assert records[0]['phases']['train_steps'] >= 0.3
    with out.with_suffix('.csv').open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(row['kind'], row['processes']) for row in rows if row['component'] == 'startup'} == \
        {('train', '1'), ('report', '1'), ('all', '2')}
    assert all(r['process_start'] <= r['script_start'] <= r['end'] for r in records)
    # The processes ran inside the command's wall time: their start, read from /proc, is accurate to a clock
    # tick (10 ms), so what is left for the driver (here in DVC's place) is not negative.
    dvc = next(float(row['seconds']) for row in rows if row['kind'] == 'dvc')
    assert dvc >= -0.02

    again = tmp_path / 'again.md'
    resummarised = subprocess.run([sys.executable, str(PROJECT / 'benchmarks' / 'time_breakdown.py'),
                                   '--out', str(again), '--no-machine', '--from-log', str(log), '--wall', '50'],
                                  capture_output=True, text=True, timeout=60)
    assert resummarised.returncode == 0, resummarised.stderr
    assert '- wall time: 50.0 s' in again.read_text() and '- stage processes logged: 2' in again.read_text()


def test_pieces_on_record_close_in_order_and_a_killed_one_ends_at_its_last_logged_stage(tmp_path):
    pieces = tmp_path / 'log.pieces.jsonl'
    pieces.write_text('\n'.join([json.dumps({'start': T0}),                    # killed: no end on record
                                 json.dumps({'start': T0 + 100}),
                                 json.dumps({'end': T0 + 130, 'status': 130}),
                                 json.dumps({'start': T0 + 200, 'note': 'start from a file time'}),
                                 json.dumps({'end': T0 + 260, 'status': 0}),
                                 '{"start": 17000']))                          # torn by a kill: skipped
    read = time_breakdown.read_pieces(pieces)
    assert [(p.start - T0, p.end, p.status) for p in read[:2]] == [(0, None, None), (100, T0 + 130, 130)]
    assert read[2].note == 'start from a file time' and not time_breakdown.unfinished(read)
    assert time_breakdown.unfinished(read[:2])
    records = [record(['stages/train.py'], 5, 6, 40), record(['stages/analyze.py'], 41, 42, 55),
               record(['stages/train.py'], 101, 102, 129)]
    closed = time_breakdown.close_killed(read, records)
    # The first piece counts to its last logged stage's end (55 s), not to the next piece's start.
    assert [(end - piece.start, bound) for piece, end, bound in closed] == [(55, True), (30, False), (60, False)]
    assert time_breakdown.pieces_wall(closed) == pytest.approx(145.0)
    text = time_breakdown.markdown(time_breakdown.summarise(records, 145.0), {}, None, closed)
    assert "| 1 | 2023-11-14 22:13:20 UTC | 2023-11-14 22:14:15 UTC | 55.0 | no end on record (killed)" in text
    assert '| 3 | 2023-11-14 22:16:40 UTC | 2023-11-14 22:17:40 UTC | 60.0 | exit status 0 (start from a file ' \
        'time) |' in text


def test_resume_continues_an_unfinished_run_and_a_finished_one_starts_afresh(tmp_path):
    out = tmp_path / 'breakdown.md'

    def wrap(*options, code):
        return subprocess.run([sys.executable, str(PROJECT / 'benchmarks' / 'time_breakdown.py'), '--out', str(out),
                               '--no-machine', *options, '--', sys.executable, '-c', code],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert wrap('--resume', code=DRIVER).returncode == 3  # a failed first piece: two stages logged
    finish = DRIVER.replace('sys.exit(3)', 'sys.exit(0)')
    second = wrap('--resume', code=finish)
    assert second.returncode == 0 and 'continuing the unfinished run' in second.stderr
    text = out.read_text()
    assert '- pieces: 2: stopped and resumed (below)' in text and '- stage processes logged: 4' in text
    assert '| exit status 3 |' in text and '| exit status 0 |' in text
    closed = time_breakdown.close_killed(time_breakdown.read_pieces(out.with_suffix('.pieces.jsonl')), [])
    wall = float(text.split('- wall time: ')[1].split(' s')[0].replace(',', ''))
    assert wall == pytest.approx(time_breakdown.pieces_wall(closed), abs=0.05) and len(closed) == 2

    resummarised = tmp_path / 'again.md'
    subprocess.run([sys.executable, str(PROJECT / 'benchmarks' / 'time_breakdown.py'), '--out', str(resummarised),
                    '--from-log', str(out.with_suffix('.jsonl'))], check=True, capture_output=True, timeout=60)
    assert f'- wall time: {wall:,.1f} s' in resummarised.read_text()  # the pieces file gives the wall time

    third = wrap('--resume', code=finish)  # the last piece ended with status 0: a fresh run
    assert third.returncode == 0 and 'continuing' not in third.stderr
    assert '- pieces' not in out.read_text() and '- stage processes logged: 2' in out.read_text()
    assert wrap(code=DRIVER).returncode == 3 and wrap(code=finish).returncode == 0  # no --resume: always afresh
    assert '- stage processes logged: 2' in out.read_text()
