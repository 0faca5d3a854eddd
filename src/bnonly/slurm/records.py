"""The work dir's small JSON records: one per submission, one per cell (its latest task attempt).

Layout of the work dir (default ``.slurm/`` in the workspace, ignored by git and DVC through its own
``.gitignore`` and ``.dvcignore``):

    submissions/<id>.json   what one `submit` sent: commit, cells, job ids, sbatch settings
    submissions/<id>/       the grid files as they were at submit time (the tasks copy them)
    logs/<id>/              submitit's folder: pickles and one log per array task
    cells/<slug>.json       the latest state of a cell's task: running, stopped, done or failed
    clones/<slug>/          a running (or failed, kept) task's clone
    scratch/<slug>/         BNONLY_SCRATCH of the cell's training: its resume checkpoint

Every record is written atomically (``bnonly.atomic``), so a reader (``status``, a task on another node)
sees the old or the new record, never half of one.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from bnonly import atomic

IGNORE_ALL = '# Written by bnonly.slurm: the SLURM work dir holds nothing to version or to track.\n*\n'


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True) + '\n')


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class WorkDir:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def create(self) -> 'WorkDir':
        self.root.mkdir(parents=True, exist_ok=True)
        for name in ('.gitignore', '.dvcignore'):
            if not (self.root / name).exists():
                (self.root / name).write_text(IGNORE_ALL)
        return self

    def submission(self, ident: str) -> Path:
        return self.root / 'submissions' / f'{ident}.json'

    def grid_snapshot(self, ident: str) -> Path:
        return self.root / 'submissions' / ident

    def logs(self, ident: str) -> Path:
        return self.root / 'logs' / ident

    def cell(self, slug: str) -> Path:
        return self.root / 'cells' / f'{slug}.json'

    def clone(self, slug: str) -> Path:
        return self.root / 'clones' / slug

    def scratch(self, slug: str) -> Path:
        return self.root / 'scratch' / slug

    def submissions(self) -> list[dict]:
        """Every submission's record, oldest first."""
        folder = self.root / 'submissions'
        records = [read_json(path) for path in sorted(folder.glob('*.json'))] if folder.is_dir() else []
        return sorted((r for r in records if r), key=lambda r: r['created'])

    def update_cell(self, slug: str, **fields) -> dict:
        """Merge ``fields`` into the cell's record (written atomically) and return it."""
        path = self.cell(slug)
        record = read_json(path) or {}
        record.update(fields, updated=time.time())
        write_json(path, record)
        return record
