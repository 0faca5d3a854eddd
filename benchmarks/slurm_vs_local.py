"""Grid cells through SLURM against the same cells reproduced by one local `dvc repro`, on the same machine.

    python benchmarks/slurm_vs_local.py [--cells REGEX] [--cpus-per-task N] [--out FILE]

Clones the committed workspace twice into --work (each clone with its own empty DVC cache, so each trains
every selected cell), then, one after the other:

- local: `dvc repro` of the selected cells' stages (without --cells: `dvc repro`, the whole pipeline, as
  `make repro` runs it);
- slurm: `python -m bnonly.slurm submit --wait --cells REGEX --cpus-per-task N`, then the same `dvc repro`
  in that clone, which restores every cell from the run-cache (checked: it must run no grid cell).

The report gives both wall times (submit to the last stage for SLURM), their ratio, the SLURM overhead per
cell, whether every trained model is bit-identical between the two clones (dvc.lock's md5 of each model.pt),
and the machine and its load. Needs a running SLURM cluster on this machine
(scripts/slurm/start-local-slurm.sh). The clones train the last commit, not uncommitted edits.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'src'))
sys.path.insert(0, str(ROOT / 'benchmarks'))
from bnonly.slurm.cells import grid_cells, select  # noqa: E402
from environment import cpu_busy, cpu_model  # noqa: E402

DEFAULT_OUT = ROOT / 'benchmarks' / 'results' / 'slurm_vs_local.md'
GRID_CELL = re.compile(r"^Running stage '(grid_train(?:_fixed)?@[^']+)'", re.M)


def run(command: list[str], cwd: Path, env: dict, log: Path) -> tuple[float, str]:
    """Run ``command``, its output to ``log``; (wall seconds, output). Fails loudly on a nonzero exit."""
    start = time.monotonic()
    with log.open('w') as sink:
        code = subprocess.run(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - start
    output = log.read_text()
    if code != 0:
        sys.exit(f'slurm_vs_local: {" ".join(command)} exited with {code} in {cwd}; see {log}')
    return seconds, output


def clone(work: Path, name: str) -> Path:
    target = work / name
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(['git', 'clone', '--quiet', str(ROOT), str(target)], check=True)
    return target


def environment(clone_root: Path) -> dict:
    """The clone's own code first on the path: the package may be installed in editable mode from ROOT."""
    env = dict(os.environ)
    env.update(PYTHONPATH=str(clone_root / 'src'), DVC_NO_ANALYTICS='1', SHELL='/bin/bash',
               PATH=f'{Path(sys.executable).parent}{os.pathsep}{env.get("PATH", "")}')
    return env


def model_md5s(root: Path, stages: set[str]) -> dict[str, str]:
    """dvc.lock's md5 of each model.pt the given stages wrote (the committed lock's other entries are left out:
    both clones inherit them unchanged)."""
    recorded = yaml.safe_load((root / 'dvc.lock').read_text())['stages']
    return {out['path']: out['md5'] for name, stage in recorded.items() if name in stages
            for out in stage.get('outs', []) if out['path'].endswith('model.pt')}


def stage_names(root: Path) -> list[str]:
    out = subprocess.run([str(Path(sys.executable).parent / 'dvc'), 'stage', 'list', '--name-only'], cwd=root,
                         env=environment(root), check=True, capture_output=True, text=True).stdout
    return out.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cells', default=None, help='only the grid cells one of whose stage names matches '
                        '(re.search); default: every cell, and the whole pipeline')
    parser.add_argument('--cpus-per-task', type=int, default=len(os.sched_getaffinity(0)),
                        help='CPUs per SLURM task (default: every core, one task at a time, as dvc repro trains)')
    parser.add_argument('--work', type=Path, default=Path('/tmp/bnonly-slurm-vs-local'))
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    args.work.mkdir(parents=True, exist_ok=True)
    local, slurm = clone(args.work, 'local'), clone(args.work, 'slurm')
    cells = select(grid_cells(stage_names(local)), args.cells)
    if not cells:
        sys.exit(f'slurm_vs_local: no grid cell matches {args.cells!r}')
    targets = [stage for cell in cells for stage in cell.stages] if args.cells else []
    dvc = str(Path(sys.executable).parent / 'dvc')

    busy_before, load_before = cpu_busy(), os.getloadavg()[0]
    started = datetime.now(timezone.utc)
    local_seconds, _ = run([dvc, 'repro', *targets], local, environment(local), args.work / 'local.log')
    submit = [sys.executable, '-m', 'bnonly.slurm', 'submit', '--wait', '--cpus-per-task', str(args.cpus_per_task)]
    if args.cells:
        submit += ['--cells', args.cells]
    submit_seconds, _ = run(submit, slurm, environment(slurm), args.work / 'slurm-submit.log')
    repro_seconds, repro_out = run([dvc, 'repro', *targets], slurm, environment(slurm), args.work / 'slurm-repro.log')
    load_after = os.getloadavg()[0]

    retrained = GRID_CELL.findall(repro_out)
    trained = {stage for cell in cells for stage in cell.stages}
    local_models, slurm_models = model_md5s(local, trained), model_md5s(slurm, trained)
    differing = sorted(path for path in local_models if slurm_models.get(path) != local_models[path])
    if len(local_models) != len(cells):
        sys.exit(f'slurm_vs_local: dvc.lock records {len(local_models)} models for {len(cells)} cells')
    slurm_seconds = submit_seconds + repro_seconds
    ratio = slurm_seconds / local_seconds
    scope = f'`--cells {args.cells}`' if args.cells else 'the whole default pipeline (`dvc repro`)'
    lines = [
        '# Grid cells through SLURM against one local `dvc repro`, same machine',
        '',
        f'- command: `python benchmarks/slurm_vs_local.py{f" --cells {args.cells!r}" if args.cells else ""} '
        f'--cpus-per-task {args.cpus_per_task}`',
        f'- commit: {commit}; started {started:%Y-%m-%d %H:%M} UTC; machine: {cpu_model()}, '
        f'{len(os.sched_getaffinity(0))} cores, one-node SLURM (scripts/slurm/start-local-slurm.sh)',
        f'- load: CPU {busy_before:.0%} busy and 1-min load average {load_before:.2f} before; '
        f'{load_after:.2f} at the end',
        f'- scope: {scope}: {len(cells)} grid cells ({sum(len(c.stages) for c in cells)} stages), each clone '
        f'with its own empty DVC cache',
        '',
        '| | wall time (s) |',
        '|---|---:|',
        f'| local: `dvc repro` | {local_seconds:,.1f} |',
        f'| SLURM: `submit --wait` (array of {len(cells)} tasks, {args.cpus_per_task} CPUs each) | '
        f'{submit_seconds:,.1f} |',
        f'| SLURM: then `dvc repro` in the workspace | {repro_seconds:,.1f} |',
        f'| **SLURM, submit to last stage** | **{slurm_seconds:,.1f}** |',
        '',
        f'**SLURM / local: {ratio:.3f}x**; overhead {(slurm_seconds - local_seconds) / len(cells):+.1f} s per cell.',
        '',
        f'- grid cells the SLURM workspace\'s `dvc repro` trained: {len(retrained)}'
        f'{" (" + ", ".join(retrained) + ")" if retrained else " (every cell restored from the run-cache)"}',
        f'- trained models bit-identical between the clones (dvc.lock md5 of each model.pt): '
        f'{len(local_models) - len(differing)} of {len(local_models)}'
        f'{"; differing: " + ", ".join(differing) if differing else ""}',
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 1 if retrained or differing else 0


if __name__ == '__main__':
    sys.exit(main())
