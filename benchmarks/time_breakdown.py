"""Where the wall time of a command that runs pipeline stages (usually `dvc repro`) goes.

    python benchmarks/time_breakdown.py [--out benchmarks/results/time_breakdown.md] -- dvc repro [args]
    python benchmarks/time_breakdown.py --from-log benchmarks/results/time_breakdown.jsonl --wall 2300

Runs the command with ``$BNONLY_TIMING_LOG`` naming a fresh log file (beside the report, .jsonl), so every
stage process appends one record when it exits (bnonly.timing), and measures the command's wall time. Then
it writes a Markdown report and a CSV beside it: for each kind of stage and in total, the seconds spent in
process start-up and imports, data loading, training steps, test evaluation, analysis passes, the rest inside
the stage processes, and DVC's own work (the wall time no stage process accounts for: `dvc repro` runs its
stages one after another). ``--from-log`` re-summarises an existing log without running anything.

A long run that stops part-way (Ctrl-C, the end of a session, a lost node) and is started again (``dvc repro``
resumes it) is one run in pieces: with ``--resume`` the command's start continues the log of a run whose last
piece did not end with exit status 0, and the report covers every piece. Each piece's start and end are on
record in a pieces file beside the log (.pieces.jsonl); the wall time is the sum of the pieces' spans.

Exits with the command's status. The report is written whatever that status is, from what was logged.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'src'))
from bnonly.timing import LOG_VARIABLE  # noqa: E402  (bnonly.timing imports nothing heavy)
from pieces import (Piece, close_killed, pieces_line, pieces_markdown, pieces_path, pieces_wall,  # noqa: E402,F401
                    read_pieces, record_piece, unfinished, utc)

DEFAULT_OUT = ROOT / 'benchmarks' / 'results' / 'time_breakdown.md'

# The components a stage process's wall time is split into, in report order: the start-up (from the process's
# start to its script's main, so interpreter start-up and imports), the named phases of bnonly.timing, and
# whatever else the process did (argument parsing, writing results, ...).
COMPONENTS = {'startup': 'start-up and imports', 'data': 'data loading', 'train_steps': 'training steps',
              'test_eval': 'test evaluation', 'analysis_passes': 'analysis passes', 'rest': 'rest in the process'}
PHASE_COMPONENTS = ('data', 'train_steps', 'test_eval', 'analysis_passes')
DVC = 'dvc'  # the component (and the kind) of the wall time no stage process accounts for
HEADLINE = ('train_steps', 'analysis_passes')

# Kinds of stage, in report order, and the scripts behind them.
KINDS = {'prepare': 'prepare', 'census': 'census', 'grid_recipe': 'grid_recipe', 'train': 'train cells',
         'analyses': 'analyses', 'report': 'report stages', 'other': 'other processes'}
KIND_OF_SCRIPT = {'prepare': 'prepare', 'census': 'census', 'grid_recipe': 'grid_recipe', 'train': 'train',
                  'analyze': 'analyses', 'aggregate': 'report', 'figures': 'report', 'claims': 'report',
                  'extension_figures': 'report', 'extension_claims': 'report'}


def option(argv: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in a command line, or None."""
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + '='):
            return arg.split('=', 1)[1]
    return None


def stage_of(argv: list[str]) -> tuple[str, str]:
    """(kind, DVC stage name) of a stage process, from its command line: the script names the stage, and for
    the grid its --out path names the cell (results/grid/<cell>/train)."""
    script = Path(argv[0]).stem if argv else '?'
    kind = KIND_OF_SCRIPT.get(script, 'other')
    out = Path(option(argv, '--out') or '')
    cell = out.parent.name if len(out.parts) >= 3 else ''
    if script in ('train', 'analyze'):
        parent = out.parent.parent.name if len(out.parts) >= 3 else ''
        if parent == 'grid':
            return kind, f'{"grid_train" if script == "train" else "grid_analyze"}@{cell}'
        return kind, script
    if script == 'prepare':
        return kind, 'grid_prepare' if 'grid' in out.name else 'prepare'
    if script == 'aggregate':
        return kind, 'grid_aggregate'
    if script in ('figures', 'extension_figures'):
        return kind, f'figure@{option(argv, "--figure")}'
    if script == 'extension_claims':
        return kind, 'claims'
    return kind, script


@dataclass
class Process:
    kind: str
    stage: str
    wall: float
    seconds: dict[str, float]  # component -> seconds; they add up to wall


def to_process(record: dict) -> Process:
    kind, stage = stage_of(record.get('argv') or [])
    wall = record['end'] - record['process_start']
    seconds = {'startup': record['script_start'] - record['process_start']}
    phases = record.get('phases') or {}
    for name in PHASE_COMPONENTS:
        seconds[name] = phases.get(name, 0.0)
    # Phases with other names count as the rest: the report names only the ones bnonly.timing.PHASES lists.
    seconds['rest'] = wall - sum(seconds.values())
    return Process(kind, stage, wall, seconds)


def nested(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(top-level records, records of processes that ran inside another logged one). A stage process that
    starts logged children would otherwise count their seconds twice; its own record holds them already."""
    ordered = sorted(records, key=lambda r: (r['process_start'], -r['end']))
    top, inner = [], []
    for record in ordered:
        if any(o['process_start'] <= record['process_start'] and record['end'] <= o['end'] for o in top):
            inner.append(record)
        else:
            top.append(record)
    return top, inner


@dataclass
class Breakdown:
    wall: float
    processes: list[Process]
    nested: int = 0
    unreadable: int = 0
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)   # kind -> component -> seconds
    totals: dict[str, float] = field(default_factory=dict)               # component (and dvc) -> seconds

    def share(self, seconds: float) -> float:
        return seconds / self.wall if self.wall > 0 else float('nan')

    @property
    def headline(self) -> float:
        return sum(self.totals[name] for name in HEADLINE)

    def count(self, kind: str) -> int:
        return sum(p.kind == kind for p in self.processes)

    def median_startup(self, kind: str) -> float:
        return statistics.median(p.seconds['startup'] for p in self.processes if p.kind == kind)


def summarise(records: list[dict], wall: float, *, unreadable: int = 0) -> Breakdown:
    top, inner = nested(records)
    processes = [to_process(record) for record in top]
    by_kind = {}
    for kind in KINDS:
        members = [p for p in processes if p.kind == kind]
        if members:
            by_kind[kind] = {name: sum(p.seconds[name] for p in members) for name in COMPONENTS}
            by_kind[kind]['wall'] = sum(p.wall for p in members)
    totals = {name: sum(p.seconds[name] for p in processes) for name in COMPONENTS}
    totals[DVC] = wall - sum(p.wall for p in processes)
    return Breakdown(wall, processes, len(inner), unreadable, by_kind, totals)


def read_log(path: Path) -> tuple[list[dict], int]:
    """The log's records and the number of lines that are not one (a process killed while writing)."""
    records, unreadable = [], 0
    if not path.is_file():
        return records, unreadable
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            float(record['process_start']), float(record['script_start']), float(record['end'])
        except (ValueError, KeyError, TypeError):
            unreadable += 1
            continue
        records.append(record)
    return records, unreadable


def _s(seconds: float) -> str:
    return f'{seconds:,.1f}'


def _pct(share: float) -> str:
    return f'{100 * share:.1f}%'


def markdown(breakdown: Breakdown, about: dict[str, str], machine: dict[str, str] | None,
             closed: list[tuple[Piece, float, bool]] = ()) -> str:
    b = breakdown
    lines = ['# Where the wall time of the pipeline goes', '']
    lines += [f'- {key}: {value}' for key, value in about.items()]
    lines += [f'- wall time: {_s(b.wall)} s ({b.wall / 60:.1f} min)',
              f'- stage processes logged: {len(b.processes)}'
              + (f' (and {b.nested} inside them, counted in their parents)' if b.nested else '')
              + (f'; {b.unreadable} unreadable log lines' if b.unreadable else ''),
              '', f'**Training steps + analysis passes: {_s(b.headline)} s of {_s(b.wall)} s, '
              f'{_pct(b.share(b.headline))} of the wall time.**', '']
    if len(closed) > 1:
        lines += pieces_markdown(closed)

    lines += ['## In total', '', '| component | seconds | share of wall time |', '|---|---:|---:|']
    for name, label in COMPONENTS.items():
        lines.append(f'| {label} | {_s(b.totals[name])} | {_pct(b.share(b.totals[name]))} |')
    lines.append(f"| DVC's own work | {_s(b.totals[DVC])} | {_pct(b.share(b.totals[DVC]))} |")
    lines += [f'| **wall time** | **{_s(b.wall)}** | **100.0%** |', '']

    lines += ['## By kind of stage (seconds)', '',
              '| kind | processes | ' + ' | '.join(COMPONENTS.values())
              + ' | process wall | share of wall time | median start-up per process |',
              '|---|' + '---:|' * (len(COMPONENTS) + 4)]
    for kind, seconds in b.by_kind.items():
        cells = [_s(seconds[name]) for name in COMPONENTS]
        lines.append(f'| {KINDS[kind]} | {b.count(kind)} | ' + ' | '.join(cells)
                     + f' | {_s(seconds["wall"])} | {_pct(b.share(seconds["wall"]))} '
                       f'| {b.median_startup(kind):.2f} |')
    dash = ' | '.join('' for _ in COMPONENTS)
    lines += [f"| DVC's own work | | {dash} | {_s(b.totals[DVC])} | {_pct(b.share(b.totals[DVC]))} | |", '']

    lines += ['Kinds: prepare = prepare, grid_prepare; train cells = train, grid_train@*; '
              'analyses = analyze, grid_analyze@*; report stages = grid_aggregate, figure@*, claims. '
              "Start-up and imports run from a process's start to its script's `main`. DVC's own work is the "
              'wall time minus the stage processes\' wall times (`dvc repro` runs one stage at a time): reading '
              'dvc.yaml, hashing, caching and checking out, and any stage process that did not log (one that '
              'was killed, or a script that does not call `timing.start_script`).']
    if machine:
        lines += ['', '## Machine', '', '| | |', '|---|---|'] + [f'| {k} | {v} |' for k, v in machine.items()]
    return '\n'.join(lines) + '\n'


def report_fields(path: Path) -> dict[str, str]:
    """What ``markdown`` wrote above and below the tables: its ``- key: value`` lines and its machine rows."""
    fields = {}
    for line in path.read_text().splitlines():
        if line.startswith('- ') and ': ' in line:
            key, value = line[2:].split(': ', 1)
            fields[key] = value
        elif line.startswith('| ') and line.count('|') == 3:  # a two-column row: the machine table's
            key, value = (part.strip() for part in line.strip('|').split('|'))
            fields[key] = value
    return fields


def csv_rows(breakdown: Breakdown) -> list[dict]:
    """One row per (kind, component), then the totals (kind 'all') and DVC's own work."""
    b = breakdown
    rows = []
    for kind, seconds in b.by_kind.items():
        for name in COMPONENTS:
            rows.append({'kind': kind, 'component': name, 'processes': b.count(kind),
                         'seconds': round(seconds[name], 3), 'share_of_wall': round(b.share(seconds[name]), 5)})
    for name in (*COMPONENTS, DVC):
        rows.append({'kind': 'all' if name != DVC else DVC, 'component': name,
                     'processes': len(b.processes) if name != DVC else 0,
                     'seconds': round(b.totals[name], 3), 'share_of_wall': round(b.share(b.totals[name]), 5)})
    return rows


def write(breakdown: Breakdown, out: Path, about: dict[str, str], machine: dict[str, str] | None,
          closed: list[tuple[Piece, float, bool]] = ()) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(breakdown, about, machine, closed))
    with out.with_suffix('.csv').open('w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=['kind', 'component', 'processes', 'seconds', 'share_of_wall'])
        writer.writeheader()
        writer.writerows(csv_rows(breakdown))


def describe_machine() -> dict[str, str]:
    """benchmarks/environment.py's description. It imports torch, so it is called after the command ran."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from environment import machine
    return machine(torch.device('cuda' if torch.cuda.is_available() else 'cpu'))


def run(command: list[str], log: Path, *, resume: bool = False) -> int:
    """Run the command with the timing log switched on, as the next piece of an unfinished run when ``resume``
    finds one, else as a fresh run; its exit status."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pieces = pieces_path(log)
    earlier = read_pieces(pieces)
    if resume and unfinished(earlier):
        print(f'time_breakdown: continuing the unfinished run in {log} (piece {len(earlier) + 1})', file=sys.stderr)
    else:  # a fresh log: records of an earlier run would count twice
        log.write_text('')
        pieces.write_text('')
    record_piece(pieces, start=time.time())
    env = {**os.environ, LOG_VARIABLE: str(log.resolve())}
    try:
        process = subprocess.Popen(command, env=env)
    except OSError as error:
        print(f'time_breakdown: cannot run {command[0]!r}: {error}', file=sys.stderr)
        status = 127
    else:
        try:
            status = process.wait()
        except KeyboardInterrupt:  # the command got the Ctrl-C too: let it stop, then report what it logged
            status = process.wait()
        # Killed by a signal: the shell's convention, 128 + the signal's number, as this script's exit status.
        status = 128 - status if status < 0 else status
    record_piece(pieces, end=time.time(), status=status)
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = []
    if '--' in argv:
        split = argv.index('--')
        argv, command = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     usage='%(prog)s [--out OUT] [--no-machine] -- COMMAND ...\n'
                                           '       %(prog)s [--out OUT] --from-log LOG --wall SECONDS')
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT, help='the Markdown report; the CSV and the log '
                                                                      'go beside it (.csv, .jsonl)')
    parser.add_argument('--from-log', type=Path, help='re-summarise this log; runs nothing')
    parser.add_argument('--wall', type=float, help='with --from-log: the wall time it covered, in seconds '
                                                   '(default: the sum of its pieces, from the pieces file)')
    parser.add_argument('--resume', action='store_true',
                        help='continue the log of an unfinished run (last piece not ended with status 0)')
    parser.add_argument('--no-machine', action='store_true',
                        help='leave out the machine description (it imports torch, after the command ran)')
    args = parser.parse_args(argv)
    if args.from_log is not None:
        if command or (args.wall is None and not read_pieces(pieces_path(args.from_log))):
            parser.error('--from-log needs no command, and --wall SECONDS where no pieces file is beside the log')
        log, status = args.from_log, 0
        # The machine the log came from is not on record in the log: the report leaves it out.
        about = {'source': f're-summarised from {log}; the machine it ran on is not described'}
    else:
        if not command:
            parser.error('give the command after --, e.g. -- dvc repro')
        log = args.out.with_suffix('.jsonl')
        load = f'{os.getloadavg()[0]:.2f} ({len(os.sched_getaffinity(0))} cores usable; near 0 = idle)'
        status = run(command, log, resume=args.resume)
    records, unreadable = read_log(log)
    # A wall time given with --from-log stands for the whole log; otherwise the pieces on record give it.
    closed = [] if args.from_log is not None and args.wall is not None else \
        close_killed(read_pieces(pieces_path(log)), records)
    wall = pieces_wall(closed) if closed else args.wall
    if args.from_log is None:
        about = {'command': '`' + ' '.join(command) + '`',
                 'started': utc(closed[0][0].start, '%Y-%m-%d %H:%M UTC'),
                 '1-min load average at start': load + (' (of the last piece)' if len(closed) > 1 else ''),
                 'exit status': str(status)}
        if len(closed) > 1:
            about['pieces'] = pieces_line(len(closed))
    breakdown = summarise(records, wall, unreadable=unreadable)
    machine = None
    if not args.no_machine and args.from_log is None:
        try:
            machine = describe_machine()
        except Exception as error:  # the timings are on record either way; say why the machine is not
            machine = {'unavailable': f'{type(error).__name__}: {error}'}
    write(breakdown, args.out, about, machine, closed)
    print(markdown(breakdown, about, machine, closed))
    print(f'written to {args.out} and {args.out.with_suffix(".csv")}; log {log}')
    return status


if __name__ == '__main__':
    sys.exit(main())
