"""`python -m bnonly.slurm status`: one line per submitted cell, from the work dir's records and squeue.

A cell's line comes from its latest submission: its task's record (``cells/<slug>.json``, written by the
task) joined with the array task's state in ``squeue``. Progress is read from the task's log: the training's
``epoch k/n`` lines and DVC's ``Running stage '…'`` lines.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bnonly.slurm.records import WorkDir, read_json

ACTIVE = {'PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED',
          'RESIZING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT'}
EPOCH = re.compile(r'^epoch (\d+)/(\d+)\b', re.M)
STAGE = re.compile(r"^Running stage '([^']+)'", re.M)
LOG_TAIL = 5


@dataclass
class CellStatus:
    cell: str
    state: str              # pending | running | requeued | done | failed | stopped
    detail: str = ''
    log: str | None = None
    clone: str | None = None
    tail: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state in ('done', 'failed', 'stopped')

    def line(self) -> str:
        text = f'{self.cell}  {self.state}' + (f' ({self.detail})' if self.detail else '')
        if self.state == 'failed':
            extra = [f'    log: {self.log}'] if self.log else []
            extra += [f'    kept clone: {self.clone}'] if self.clone else []
            extra += [f'    | {line}' for line in self.tail]
            text = '\n'.join([text, *extra])
        return text


def queue() -> dict[str, str]:
    """Job id (``<array>_<index>`` for array tasks) -> state, for every job SLURM still lists."""
    try:
        out = subprocess.run(['squeue', '--noheader', '--array', '--format=%i|%T'], capture_output=True,
                             text=True, timeout=60).stdout
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return {}
    states = {}
    for line in out.splitlines():
        ident, _, state = line.strip().partition('|')
        if ident:
            states[ident] = state
    return states


def _log_text(path: str | None) -> str:
    if not path or not Path(path).is_file():
        return ''
    return Path(path).read_text(errors='replace')


def _progress(log: str) -> str:
    stages = STAGE.findall(log)
    if stages and stages[-1].startswith('grid_analyze@'):
        return 'analysis'
    epochs = EPOCH.findall(log)
    if epochs:
        done, total = epochs[-1]
        return f'epoch {done} of {total}'
    return ''


def _times(n: int) -> str:
    return f'{n} time{"s" * (n != 1)}'


def _tail(log: str) -> tuple[str, ...]:
    """The log's last lines, up to DVC's last ERROR line where there is one: the failing stage's own message
    comes just before it, submitit's traceback of the task after it."""
    lines = [line for line in log.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if line.startswith('ERROR: ')]
    if errors:
        lines = lines[:errors[-1] + 1]
    return tuple(lines[-LOG_TAIL:])


def cell_status(cell: str, slug: str, job: str, submission: str, log: str | None, work: WorkDir,
                jobs: dict[str, str]) -> CellStatus:
    record = read_json(work.cell(slug))
    if record and record.get('submission') != submission:
        record = None
    queued = jobs.get(job)
    log = (record or {}).get('log') or log
    restarts = (record or {}).get('restarts', 0)
    requeued = f'requeued {_times(restarts)}' if restarts else ''
    if queued in ACTIVE:
        if queued == 'RUNNING' and record and record.get('state') == 'running':
            detail = ', '.join(part for part in (_progress(_log_text(log)), requeued) if part)
            return CellStatus(cell, 'running', detail, log)
        if record:        # stopped and back in the queue
            return CellStatus(cell, 'requeued', f'{_times(restarts + 1)}, {queued.lower()}', log)
        return CellStatus(cell, 'pending', '' if queued == 'PENDING' else queued.lower(), log)
    state = (record or {}).get('state')
    if state == 'done':
        return CellStatus(cell, 'done', requeued, log)
    text = _log_text(log)
    if state == 'failed':
        return CellStatus(cell, 'failed', record.get('reason') or '', log, record.get('clone'), _tail(text))
    if state == 'stopped':
        return CellStatus(cell, 'stopped', f"{record.get('reason')}; not requeued", log, record.get('clone'))
    if state == 'running':
        return CellStatus(cell, 'failed', 'the job ended without a result: cancelled, killed or out of memory',
                          log, record.get('clone'), _tail(text))
    return CellStatus(cell, 'failed', 'the job left the queue without starting (its dependency failed, or it '
                      'was cancelled)', log, None, _tail(text))


def collect(work: WorkDir) -> list[CellStatus]:
    """The state of every cell ever submitted from ``work``, from its latest submission."""
    latest: dict[str, tuple[dict, dict]] = {}
    for submission in work.submissions():
        if submission.get('prepare'):
            latest[submission['prepare']['name']] = (submission, submission['prepare'])
        for cell in submission['cells']:
            latest[cell['name']] = (submission, cell)
    jobs = queue()
    return [cell_status(name, cell['slug'], cell['job_id'], submission['id'], cell.get('log'), work, jobs)
            for name, (submission, cell) in latest.items()]


def main(work_dir: Path) -> int:
    work = WorkDir(work_dir)
    submissions = work.submissions()
    if not submissions:
        print(f'status: no submission recorded in {work.root}')
        return 0
    jobs = queue()
    latest = submissions[-1]
    repro = latest.get('repro_job_id')
    print(f"latest submission {latest['id']} (commit {latest['commit'][:10]}, array job {latest['array_job_id']}, "
          f"{len(latest['cells'])} cells)" +
          (f"; dvc repro job {repro}: {jobs.get(repro, 'ended').lower()}" if repro else ''))
    for status in collect(work):
        print(status.line())
    return 0


def wait(work: WorkDir, submission: str, poll_s: float = 10.0) -> int:
    """A progress bar over the submission's cells until none is pending or running, then the --then-repro
    job's end where the submission has one; 1 if any cell failed."""
    import time

    from tqdm import tqdm

    def mine() -> list[CellStatus]:
        names = {cell['name'] for cell in read_json(work.submission(submission))['cells']}
        return [status for status in collect(work) if status.cell in names]

    statuses = mine()
    with tqdm(total=len(statuses), desc='cells', unit='cell') as bar:
        while True:
            finished = sum(status.finished for status in statuses)
            bar.n = finished
            running = [s for s in statuses if s.state == 'running']
            bar.set_postfix_str(f"{len(running)} running, {sum(s.state == 'failed' for s in statuses)} failed")
            bar.refresh()
            if finished == len(statuses):
                break
            time.sleep(poll_s)
            statuses = mine()
    failed = [status for status in statuses if status.state != 'done']
    for status in failed:
        print(status.line())
    if failed:
        return 1
    repro = read_json(work.submission(submission)).get('repro_job_id')
    if repro:  # --then-repro: the claims exist only once that job has ended
        print(f'dvc repro job {repro} (--then-repro): waiting for it to end')
        while repro in queue():
            time.sleep(poll_s)
    return 0
