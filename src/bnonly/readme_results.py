"""README.md's results, written from the files the pipelines write: every number and verdict the README quotes.

README.md's ``## Results`` holds a block between marker comments for each pipeline (``PIPELINES``): the default
pipeline's (``make repro``), the extensions' (``make extensions``) and the two pre-registered sets' (``make
study``, ``make scope``). Each is written from that pipeline's committed outputs alone:

- the time breakdown (``benchmarks/time_breakdown.py``'s Markdown report): the command, when it started, the
  load at its start, the machine, the wall time and the share of it spent in training steps and analysis passes;
- the grid file (``grid.yaml``): the seeds and the training each cell gets;
- the grid summary (``reports/grid_summary.csv``): the cells trained and analysed;
- the claims table (``reports/claims.csv``, and the sensitivity line under ``reports/claims.md``): the verdicts,
  their counts, and each decided claim with its scoped verdict and, where it did not hold, its estimates.

Where the files disagree with each other or with the code, the block says so: a claims CSV without the scoped
verdicts the current claims code writes (``verdict_text``), per-seed cells missing from git, or a grid summary
of other cells than the grid file declares. A file that is absent is named, with the command that writes it.
The prose around the blocks, which explains the method, is hand-written and holds no number. The files are read
by ``bnonly.readme_sources``; this module writes the blocks from what it reads.

``python -m bnonly.readme_results`` rewrites the blocks in README.md (``make repro`` and ``make extensions`` run
it after ``dvc repro``); ``--check`` changes nothing and exits 1 when README.md differs from what the files say,
as ``tests/test_readme_results.py`` does. No torch: it reads CSV, YAML and Markdown.
"""
import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bnonly import atomic, pipelines
from bnonly.paper.grid import GridError, analysed_cells, train_cells
from bnonly.paper.names import dataset_label
from bnonly.readme_sources import (SCOPED, Breakdown, read_breakdown, read_cell_seeds, read_claims, read_grid,
                                   read_summary, sensitivity_line, start_load, wall_minutes)
from bnonly.reporting.verdicts import CONTRADICTED, EXPLORATORY, FAILS, HOLDS, NOT_MEASURED, UNRESOLVED, VERDICTS

README = Path('README.md')


@dataclass(frozen=True)
class Pipeline:
    """One pipeline's block in README.md and the committed files it is written from: its grid file as
    bnonly.pipelines declares it, and what every pipeline's stages write under its folder."""
    key: str            # the marker's name: <!-- KEY: ... --> ... <!-- /KEY -->
    folder: str         # its dvc.yaml's folder, as bnonly.pipelines.PIPELINES names it
    make: str           # the command that runs it and writes its time breakdown
    breakdown: Path     # benchmarks/time_breakdown.py's Markdown report of that command
    what: str           # how the block names its claims table: 'The claims table', 'Its claims table'

    @property
    def grid(self) -> Path:
        declared = next(p for p in pipelines.PIPELINES if p.folder == self.folder)
        return Path(self.folder) / declared.grid

    @property
    def summary(self) -> Path:
        return Path(self.folder) / 'reports/grid_summary.csv'

    @property
    def claims(self) -> Path:
        """The claims table's CSV; its Markdown is beside it (.md)."""
        return Path(self.folder) / 'reports/claims.csv'

    @property
    def cells(self) -> Path:
        """The per-seed cells the claims are computed from."""
        return Path(self.folder) / 'reports/grid_cells.csv'


PIPELINES = (
    Pipeline('results', '.', 'make repro', Path('benchmarks/results/time_breakdown.md'), 'The claims table'),
    Pipeline('extension results', 'extensions', 'make extensions',
             Path('benchmarks/results/time_breakdown_extensions.md'), 'Its claims table'),
    Pipeline('study results', 'study', 'make study', Path('benchmarks/results/time_breakdown_study.md'),
             'Its claims table'),
    Pipeline('scope results', 'scope', 'make scope', Path('benchmarks/results/time_breakdown_scope.md'),
             'Its claims table'),
)


def start_marker(key: str) -> str:
    return f'<!-- {key}: written by `python -m bnonly.readme_results` from the files it links; do not edit -->'


def end_marker(key: str) -> str:
    return f'<!-- /{key} -->'


def link(path: Path) -> str:
    return f'[{path}]({path})'


# ------------------------------------------------------------------------------------------- time breakdown
def machine_text(machine: dict[str, str]) -> str:
    """'AMD EPYC, 2 cores usable, GPU: none (CPU run), torch 2.14.1+cu130': the rows a reader compares runs by."""
    parts = [machine.get('CPU'), f'{machine["cores usable"]} cores usable' if 'cores usable' in machine else None,
             f'GPU: {machine["GPU"]}' if 'GPU' in machine else None,
             f'torch {machine["torch"]}' if 'torch' in machine else None]
    return ', '.join(p for p in parts if p)


def timing_paragraph(pipeline: Pipeline, b: Breakdown) -> str:
    how = [b.about['command']] if 'command' in b.about else []     # a re-summarised log names neither
    how += [f'started {b.about["started"]}'] if 'started' in b.about else []
    # A run stopped and resumed: the report's own words, '4: stopped and resumed (below)'.
    how += [f'in {b.about["pieces"].split(":")[0]} pieces, stopped and resumed'] if 'pieces' in b.about else []
    machine = machine_text(b.machine)
    status = b.about.get('exit status', '0')
    text = (f'One run of `{pipeline.make}`' + (f' ({", ".join(how)})' if how else '')
            + f' took **{wall_minutes(b.about["wall time"])}**' + (f' on {machine}' if machine else '')
            + f'; {b.headline[0][:1].lower()}{b.headline[0][1:]} were {b.headline[1]} of that wall time '
            + f'({link(pipeline.breakdown)}' + (', which also describes the machine).' if machine else
                                                 '; it does not describe the machine).')
            + (f' **It failed (exit status {status})**, so its outputs may be partial.' if status != '0' else ''))
    load = start_load(b.about.get('1-min load average at start', ''))
    if load:
        average, cores = load
        busy = average >= cores / 2    # at least half the cores' worth of other work, on average
        text += (f' The 1-minute load average at its start was {average:g} on {cores} usable cores'
                 + (': other work shared the machine, so the time is, if anything, an overestimate of the time on '
                    'an idle one.' if busy else ' (near 0 = idle).'))
    return text


# ------------------------------------------------------------------------------------------------- the grid
def seeds_text(seeds: list[int]) -> str:
    """'3-6' for consecutive seeds, else '0, 2, 5'."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f'{seeds[0]}-{seeds[-1]}'
    return ', '.join(str(s) for s in seeds)


def training_length(grid: dict) -> str:
    """What the cells train for, from the grid file: '1,000 SGD steps' when the recipe fixes the number of training
    images (``train.examples``), else epochs (over a data set whose size the file does not say); a range when runs
    set their own budget (an e<N> token)."""
    train = grid.get('train') or {}
    examples, batch = train.get('examples'), train.get('batch_size')
    try:
        epochs = sorted({cell.epochs or train.get('epochs') for cell in train_cells(grid)})
    except (KeyError, TypeError, ValueError):   # GridError and ConfigError are ValueErrors; grid_paragraph says
        epochs = [train.get('epochs')]

    if examples and batch and all(epochs):
        counts, unit = [f'{n * math.ceil(examples / batch):,}' for n in epochs], 'SGD steps'
    else:
        counts, unit = [str(n) for n in epochs], 'epoch' if epochs == [1] else 'epochs'
    return f'{counts[0]} {unit}' if len(counts) == 1 else f'{counts[0]} to {counts[-1]} {unit}'


def _declared(grid: dict) -> tuple[int, int] | str:
    """(cells trained, cells analysed) as the grid file declares them, or why it does not parse."""
    try:
        return len(train_cells(grid)), len(analysed_cells(grid))
    except (GridError, KeyError, ValueError) as error:
        return str(error)


def measured_seeds(pipeline: Pipeline, root: Path, grid: dict | None) -> str:
    """The seeds the pipeline's reports were computed from, as text: its per-seed cells' when they are committed,
    else the grid file's when its summary is that grid's; '' when neither says (a summary of another grid)."""
    seeds = read_cell_seeds(root / pipeline.cells)
    if seeds:
        return seeds_text(seeds)
    summary = root / pipeline.summary
    if grid is None or not summary.is_file():
        return ''
    trained, analysed = read_summary(summary)
    return seeds_text(grid.get('seeds') or []) if _declared(grid) == (sum(trained.values()),
                                                                        sum(analysed.values())) else ''


def grid_paragraph(pipeline: Pipeline, root: Path, grid: dict | None) -> str:
    """The grid's sentence, or a line naming what is missing."""
    summary_path = root / pipeline.summary
    if grid is None:
        return f'{pipeline.grid} is missing.'
    length = training_length(grid)
    if not summary_path.is_file():
        return (f'The grid ({link(pipeline.grid)}: {length} per cell, seeds {seeds_text(grid.get("seeds") or [])}) '
                f'has no summary yet: `{pipeline.make}` writes {pipeline.summary}.')
    trained, analysed = read_summary(summary_path)
    seeds = measured_seeds(pipeline, root, grid)
    count = max(trained.values(), default=0)
    text = (f'The grid ({link(pipeline.grid)}) trained {sum(trained.values())} cells of {length} each on '
            f'{dataset_label(grid.get("dataset"))}, over {count} seeds{f" ({seeds})" if seeds else ""}, and analysed '
            f'{sum(analysed.values())} of them ({link(pipeline.summary)}).')
    declared = _declared(grid)
    if isinstance(declared, str):
        return text + f' {pipeline.grid} does not parse as a grid ({declared}).'
    if declared != (sum(trained.values()), sum(analysed.values())):
        text += (f' **{pipeline.summary} is not this grid\'s**: it holds {sum(trained.values())} trained and '
                 f'{sum(analysed.values())} analysed cells where {pipeline.grid} declares {declared[0]} and '
                 f'{declared[1]} (seeds {seeds_text(grid.get("seeds") or [])}); `{pipeline.make}` rewrites it.')
    return text


# ----------------------------------------------------------------------------------------------- the claims
def _number(value: str) -> str:
    try:
        return f'{int(float(value))}'
    except ValueError:
        return ''


def scoped_verdict(row: dict) -> str:
    """The verdict as the claims code scoped it; for a CSV without that column, the bare verdict, the network it
    was decided on and, when not resolvable, the seed counts the CSV gives."""
    if row.get(SCOPED):
        return row[SCOPED]
    text = row['verdict'] + (f' (decided on {row["decided_on"]})' if row.get('decided_on') else '')
    holm, lone = _number(row.get('seeds_needed_holm', '')), _number(row.get('seeds_needed', ''))
    if row['verdict'] == UNRESOLVED and holm:
        text += f': ≈ {holm} seeds at Holm\'s first level ({lone} for a lone test), as its table planned them'
    return text


def _label(row: dict) -> str:
    family = f' ({row["family"]})' if row.get('family') not in (None, '', '-') else ''
    return f'**{row["number"]}**{family}'


def claim_line(row: dict, *, estimate: bool) -> str:
    """'  - **6** (primary) BatchNorm-only ... : *holds (ResNet-14 only; 1,000 steps per cell)*'."""
    ours = f' Ours: {row["ours"]}.' if estimate and row.get('ours') not in (None, '', '-') else ''
    return f'  - {_label(row)} {row["claim"]} *{scoped_verdict(row)}*.{ours}'


def verdict_heading(verdict: str, rows: list[dict], all_rows: list[dict], steps: str, seeds: str) -> str:
    """The line above a verdict's claims: what the verdict means here, with its count."""
    n = len(rows)
    if verdict == HOLDS:
        primary = [r for r in all_rows if r.get('family') == 'primary']
        held = sum(r['verdict'] == HOLDS for r in primary)
        of_primary = f'; {held} of the {len(primary)} primary claims' if primary else ''
        return f'- **Holds** ({n}{of_primary}):'
    if verdict == CONTRADICTED:
        return (f'- **Reversed at {steps}** ({n}): significantly the other way after {steps} per cell. The paper\'s '
                f'claims are about networks trained to convergence, so this is not a test of them:')
    if verdict == FAILS:
        return f'- **Does not hold** ({n}): a contradicting test is significant after the multiplicity correction:'
    if verdict == UNRESOLVED:
        return (f'- **Not resolvable at this budget** ({n}): neither the claim nor a contradicting test is '
                f'significant after the correction. Each row gives the size of a new confirmatory seed set that '
                f'would decide it: fresh seeds, declared before they are trained and tested on their own, never '
                f'seeds appended to {seeds} ([docs/pipeline.md](docs/pipeline.md#the-claims-table)):')
    if verdict == EXPLORATORY:
        return f'- **Exploratory** ({n}): outside every Holm family, an estimate and an unadjusted p, no verdict:'
    return f'- **{verdict[:1].upper()}{verdict[1:]}** ({n}):'


def not_measured_line(rows: list[dict]) -> str:
    """'- **Not measured** (6): rows 1, 3, 4, 5: the grid ran on ...; row 8: needs ...'."""
    reasons = {}
    for row in rows:
        reasons.setdefault(row.get('reason') or 'no reason given', []).append(row['number'])
    parts = [f'row{"s" if len(numbers) > 1 else ""} {", ".join(numbers)}: {reason}'
             for reason, numbers in reasons.items()]
    return f'- **Not measured** ({len(rows)}): ' + '; '.join(parts) + '.'


def claims_paragraphs(pipeline: Pipeline, root: Path, grid: dict | None) -> list[str]:
    path = root / pipeline.claims
    if not path.is_file():
        return [f'{pipeline.what} ({pipeline.claims}) has not been written yet: `{pipeline.make}` writes it.']
    rows, columns = read_claims(path)
    present = [v for v in VERDICTS if any(r['verdict'] == v for r in rows)]
    unknown = sorted({r['verdict'] for r in rows} - set(VERDICTS))
    tally = ', '.join(f'{sum(r["verdict"] == v for r in rows)} {v}' for v in present + unknown)
    markdown = path.with_suffix('.md')
    paragraphs = [f'{pipeline.what} ({link(markdown.relative_to(root))}; {link(pipeline.claims)} for scripts) has '
                  f'{len(rows)} rows: {tally}.']
    stale = []
    if SCOPED not in columns:
        stale.append(f'**This table predates the current claims code**: {pipeline.claims} has no `{SCOPED}` '
                     f'column (the scoped verdict the current code writes), so the verdicts below are the earlier '
                     f'code\'s, unscoped.')
    if not (root / pipeline.cells).is_file():
        stale.append(f'{pipeline.cells}, the per-seed cells the table is computed from, is not in the repository, '
                     f'so the table cannot be recomputed here.')
    if stale:
        paragraphs.append(' '.join(stale) + f' `{pipeline.make}` writes {"both" if len(stale) > 1 else "it"} afresh.')
    # The budget the verdicts were decided at, as the claims code printed it; else the grid file's.
    budgets = {r.get('budget') for r in rows} - {None, ''}
    steps = budgets.pop() if len(budgets) == 1 else training_length(grid) if grid else 'this budget'
    seeds = measured_seeds(pipeline, root, grid) or 'the tested seeds'
    lines = []
    for verdict in present + unknown:
        members = [r for r in rows if r['verdict'] == verdict]
        if verdict == NOT_MEASURED:
            lines.append(not_measured_line(members))
            continue
        lines.append(verdict_heading(verdict, members, rows, steps, seeds))
        lines += [claim_line(r, estimate=verdict != HOLDS) for r in members]
        if verdict == HOLDS:
            note = sensitivity_line(markdown)
            lines += [f'  - {note}'] if note else []
    paragraphs.append('\n'.join(lines))
    return paragraphs


# ----------------------------------------------------------------------------------------------- the blocks
def block(pipeline: Pipeline, root: Path = Path('.')) -> str:
    """The text between one pipeline's markers (without them), from its files under ``root``."""
    paragraphs = []
    if (root / pipeline.breakdown).is_file():
        paragraphs.append(timing_paragraph(pipeline, read_breakdown(root / pipeline.breakdown)))
    else:
        paragraphs.append(f'No timed run yet: `{pipeline.make}` writes {pipeline.breakdown}.')
    grid = read_grid(root / pipeline.grid)
    paragraphs.append(grid_paragraph(pipeline, root, grid))
    paragraphs += claims_paragraphs(pipeline, root, grid)
    return '\n\n'.join(paragraphs)


def render(readme: str, root: Path = Path('.')) -> str:
    """README.md's text with every pipeline's block rewritten from the files under ``root``."""
    for pipeline in PIPELINES:
        start, end = start_marker(pipeline.key), end_marker(pipeline.key)
        pattern = re.compile(rf'^<!-- {re.escape(pipeline.key)}: .*?-->\n.*?^{re.escape(end)}$', re.M | re.S)
        matches = pattern.findall(readme)
        if len(matches) != 1:
            raise ValueError(f'README.md needs exactly one block from `<!-- {pipeline.key}: ... -->` to `{end}`; '
                             f'found {len(matches)}')
        text = f'{start}\n{block(pipeline, root)}\n{end}'
        readme = pattern.sub(lambda _: text, readme)
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', type=Path, default=Path('.'), help='the repository root (default: here)')
    parser.add_argument('--check', action='store_true', help='write nothing; exit 1 when README.md is out of date')
    args = parser.parse_args(argv)
    path = args.root / README
    try:
        current = path.read_text()
        updated = render(current, args.root)
        if args.check and updated != current:
            print(f'readme_results: {path} is out of date: run `python -m bnonly.readme_results`', file=sys.stderr)
            return 1
        if not args.check and updated != current:
            atomic.write_text(path, updated)
    except (OSError, ValueError) as error:   # atomic.WriteError is an OSError
        print(f'readme_results: error: {error}', file=sys.stderr)
        return 1
    print(f'readme_results: {path} {"rewritten" if updated != current else "up to date"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
