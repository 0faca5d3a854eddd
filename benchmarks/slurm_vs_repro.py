"""The default pipeline through SLURM against `make repro`, from the two runs' committed breakdowns.

    make repro                      # benchmarks/results/time_breakdown.md and .jsonl
    make slurm-repro                # benchmarks/results/time_breakdown_slurm.md and .jsonl (needs SLURM)
    python benchmarks/slurm_vs_repro.py [--slurm-workspace DIR] [--out FILE]

Writes benchmarks/results/slurm_vs_repro.md: both wall times (SLURM's from submit to the claims), their ratio,
which the package keeps at or under 1.15, and where the difference went, component by component. The two runs
need not share a session, so the file also checks that they ran at the same speed: the training-step seconds of
every grid cell in both logs (a machine 5% faster would hide 5% of overhead). With --slurm-workspace, the clone
`make slurm-repro` ran in, it also says whether that run reproduced make repro's bits: its claims table
against the committed one, and every grid model's md5 in its dvc.lock against the committed dvc.lock's.
"""
import argparse
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'benchmarks'))
from time_breakdown import COMPONENTS, DVC, read_log, report_fields, stage_of, summarise  # noqa: E402

RESULTS = ROOT / 'benchmarks' / 'results'
LIMIT = 1.15  # SLURM / local wall time the package promises on one machine
SAME_SPEED = 0.03  # training-step times within 3% of each other: the two runs' machines count as equally fast
CLAIMS = ('reports/claims.md', 'reports/claims.csv')


class Run:
    """One timed run: its report's header fields, its log, and the breakdown of that log."""

    def __init__(self, report: Path):
        self.report = report
        fields = report_fields(report)
        try:
            self.command = fields['command'].strip('`')
            self.started = fields['started']
            self.load = fields['1-min load average at start'].split()[0]
            self.wall = float(fields['wall time'].split()[0].replace(',', ''))
            self.cpu = f"{fields['CPU']}, {fields['CPU vector ISA (torch)']}"
        except KeyError as missing:
            raise ValueError(f'{report}: no {missing} line (not a time_breakdown.py report?)') from None
        records, unreadable = read_log(report.with_suffix('.jsonl'))
        self.breakdown = summarise(records, self.wall, unreadable=unreadable)
        self.train_steps = {}   # grid cell -> training-step seconds of each process that trained it
        for record in records:
            kind, stage = stage_of(record['argv'])
            if stage.startswith('grid_train@'):
                self.train_steps.setdefault(stage, []).append((record.get('phases') or {}).get('train_steps', 0.0))


class Speed:
    """The two runs' training-step seconds, cell by cell: how fast the SLURM run's machine trained against make
    repro's (1 = the same speed), and which cells the SLURM run trained in more than one process."""

    def __init__(self, local: Run, slurm: Run):
        self.cells = sorted(set(local.train_steps) & set(slurm.train_steps))
        self.only = (len(set(local.train_steps) - set(self.cells)), len(set(slurm.train_steps) - set(self.cells)))
        self.twice = sorted(cell for cell, seconds in slurm.train_steps.items() if len(seconds) > 1)
        self.ratios = [sum(slurm.train_steps[c]) / sum(local.train_steps[c]) for c in self.cells]
        self.total = (sum(sum(slurm.train_steps[c]) for c in self.cells)
                      / sum(sum(local.train_steps[c]) for c in self.cells))

    def lines(self) -> list[str]:
        return [f'- grid cells trained in both runs: {len(self.cells)} (only local: {self.only[0]}, only SLURM: '
                f'{self.only[1]}); cells the SLURM run trained in more than one process: {len(self.twice)}'
                f'{" (" + ", ".join(self.twice) + ")" if self.twice else ""}',
                f'- training-step seconds, SLURM / local: {self.total:.3f} over all of them; per cell median '
                f'{statistics.median(self.ratios):.3f}, range {min(self.ratios):.3f} to {max(self.ratios):.3f} '
                f'(1 = the two machines trained at the same speed)']


def verdict(ratio: float) -> str:
    return f'{"within" if ratio <= LIMIT else "OVER"} the {LIMIT}x the package promises'


def ratio_lines(local: Run, slurm: Run, speed: Speed) -> list[str]:
    ratio = slurm.wall / local.wall
    if abs(speed.total - 1) <= SAME_SPEED:
        return [f'**SLURM / local: {ratio:.3f}x** ({verdict(ratio)}).']
    adjusted = slurm.wall / (local.wall * speed.total)
    extra = slurm.breakdown.totals[DVC] - local.breakdown.totals[DVC] * speed.total
    return [f'SLURM / local wall time: {ratio:.3f}x, which does not measure what SLURM costs: the SLURM run\'s '
            f'machine trained in {speed.total:.3f}x make repro\'s training-step time (below). With make repro\'s '
            f'whole wall time scaled by that factor (an estimate: it takes every part of it to scale with the '
            f'training speed), **SLURM / local: {adjusted:.3f}x** ({verdict(adjusted)}); SLURM\'s time outside the '
            f'stage processes exceeds make repro\'s, scaled alike, by {extra:,.0f} s ({extra / slurm.wall:.1%} of '
            f'its wall time). A measured ratio needs both runs to train at one speed: one idle machine, one session.']


def component_table(local: Run, slurm: Run) -> list[str]:
    names = {**COMPONENTS, DVC: "outside the stage processes (DVC's own work; for SLURM also scheduling, "
                                "clones, and the tasks' dvc)"}
    lines = ['| component | local (s) | SLURM (s) | SLURM - local (s) |', '|---|---:|---:|---:|']
    for key, label in names.items():
        a, b = local.breakdown.totals[key], slurm.breakdown.totals[key]
        lines.append(f'| {label} | {a:,.1f} | {b:,.1f} | {b - a:+,.1f} |')
    lines.append(f'| **wall time** | **{local.wall:,.1f}** | **{slurm.wall:,.1f}** | '
                 f'**{slurm.wall - local.wall:+,.1f}** |')
    return lines


def all_models(root: Path) -> dict[str, str]:
    """dvc.lock's md5 of every model.pt the workspace's pipeline wrote."""
    stages = yaml.safe_load((root / 'dvc.lock').read_text())['stages'].values()
    return {out['path']: out['md5'] for stage in stages for out in stage.get('outs', [])
            if out['path'].endswith('model.pt')}


def bits_lines(workspace: Path) -> list[str]:
    differing = [path for path in CLAIMS if (workspace / path).read_bytes() != (ROOT / path).read_bytes()]
    ours, theirs = all_models(ROOT), all_models(workspace)
    equal = sum(theirs.get(path) == md5 for path, md5 in ours.items())
    return [f'- the SLURM workspace\'s claims table ({", ".join(CLAIMS)}) equal byte for byte to the committed '
            f'one: {"yes" if not differing else "NO, " + ", ".join(differing) + " differ"}',
            f'- models bit-identical to the committed run\'s (dvc.lock md5 of each model.pt): {equal} of {len(ours)}']


def document(local: Run, slurm: Run, workspace: Path | None) -> str:
    lines = ['# The default pipeline through SLURM against `make repro`', '',
             f'Generated by `python benchmarks/slurm_vs_repro.py{" --slurm-workspace DIR" if workspace else ""}` '
             f'from the two runs\' breakdowns; each ran alone on its machine (the same machine or not: the training '
             f'speeds below tell how far they compare).', '',
             '| run | command | started | load at start | CPU | wall time |', '|---|---|---|---:|---|---:|']
    for name, run in (('local', local), ('SLURM', slurm)):
        lines.append(f'| {name} ([{run.report.name}]({run.report.name})) | `{run.command}` | {run.started} | '
                     f'{run.load} | {run.cpu} | {run.wall / 60:,.1f} min |')
    speed = Speed(local, slurm)
    lines += ['', *ratio_lines(local, slurm, speed), '', *speed.lines()]
    if workspace:
        lines += bits_lines(workspace)
    lines += ['', *component_table(local, slurm)]
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--local', type=Path, default=RESULTS / 'time_breakdown.md')
    parser.add_argument('--slurm', type=Path, default=RESULTS / 'time_breakdown_slurm.md')
    parser.add_argument('--slurm-workspace', type=Path, default=None)
    parser.add_argument('--out', type=Path, default=RESULTS / 'slurm_vs_repro.md')
    args = parser.parse_args(argv)
    try:
        text = document(Run(args.local), Run(args.slurm), args.slurm_workspace)
    except (OSError, ValueError) as error:
        print(f'slurm_vs_repro: error: {error}', file=sys.stderr)
        return 1
    args.out.write_text(text)
    print(f'slurm_vs_repro: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
