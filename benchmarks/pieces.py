"""The pieces of a run that was stopped and started again (benchmarks/time_breakdown.py --resume).

Each start of the command is one piece: a ``{"start": t}`` line in the pieces file beside the timing log, and an
``{"end": t, "status": s}`` line when it ends. The run's wall time is the sum of the pieces' spans.
"""
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass
class Piece:
    """One start of the command: when it started and ended (epoch seconds) and its exit status. ``end`` is None
    while no end is on record (the piece was killed, or is still running); ``note`` says where a start or end
    came from when this script did not write it (a piece run before pieces were recorded)."""
    start: float
    end: float | None = None
    status: int | None = None
    note: str = ''


def pieces_path(log: Path) -> Path:
    return log.with_suffix('.pieces.jsonl')


def read_pieces(path: Path) -> list[Piece]:
    """The pieces on record: a ``{"start": t}`` line opens one, an ``{"end": t, "status": s}`` line closes the
    open one. A torn line (a kill while writing) is skipped, so its piece stays open."""
    pieces = []
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        try:
            entry = json.loads(line)
            if 'start' in entry:
                pieces.append(Piece(float(entry['start']), note=entry.get('note', '')))
            elif pieces and pieces[-1].end is None:
                pieces[-1].end, pieces[-1].status = float(entry['end']), int(entry['status'])
                pieces[-1].note = '; '.join(filter(None, (pieces[-1].note, entry.get('note', ''))))
        except (ValueError, KeyError, TypeError):
            continue
    return pieces


def record_piece(path: Path, **entry) -> None:
    with path.open('a') as handle:
        handle.write(json.dumps(entry) + '\n')


def unfinished(pieces: list[Piece]) -> bool:
    """Whether the last piece on record did not end with exit status 0: then ``--resume`` continues the run."""
    return bool(pieces) and pieces[-1].status != 0


def close_killed(pieces: list[Piece], records: list[dict]) -> list[tuple[Piece, float, bool]]:
    """(piece, its end, whether that end is a lower bound) for each piece. A piece with no end on record was
    killed: it is counted to the end of the last stage process it logged (or not at all when it logged none),
    so the unlogged work after that, such as the part of a training stage that it had run when it was killed,
    is not in the wall time."""
    closed = []
    for index, piece in enumerate(pieces):
        if piece.end is not None:
            closed.append((piece, piece.end, False))
            continue
        until = pieces[index + 1].start if index + 1 < len(pieces) else float('inf')
        ends = [r['end'] for r in records if piece.start <= r['process_start'] < until]
        closed.append((piece, max(ends, default=piece.start), True))
    return closed


def pieces_wall(closed: list[tuple[Piece, float, bool]]) -> float:
    return sum(end - piece.start for piece, end, _ in closed)


def utc(epoch: float, form: str = '%Y-%m-%d %H:%M:%S UTC') -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(form)


def pieces_line(count: int) -> str:
    """The report's ``- pieces:`` value; bnonly.readme_results reads the count before the colon."""
    return f'{count}: stopped and resumed (below)'


def pieces_markdown(closed: list[tuple[Piece, float, bool]]) -> list[str]:
    lines = ['## Pieces', '', 'The run was stopped and started again; `dvc repro` resumed it. Its wall time is the '
             'sum of these spans; the time between pieces is not counted.', '',
             '| piece | started | ended | seconds | how it ended |', '|---:|---|---|---:|---|']
    for number, (piece, end, bound) in enumerate(closed, 1):
        how = ('no end on record (killed): counted to its last logged stage\'s end, a lower bound' if bound
               else f'exit status {piece.status}')
        how += f' ({piece.note})' if piece.note else ''
        lines.append(f'| {number} | {utc(piece.start)} | {utc(end)} | {end - piece.start:,.1f} | {how} |')
    return lines + ['']
