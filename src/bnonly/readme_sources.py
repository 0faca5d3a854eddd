"""The measured files README.md's results blocks quote, read as their writers write them (bnonly.readme_results
turns what these return into prose):

- benchmarks/time_breakdown.py's Markdown report: its bullets, its headline share and its machine table;
- a grid file's ``grid`` section;
- a grid summary (reports/grid_summary.csv): the cells trained and analysed, by run;
- a grid's per-seed cells (reports/grid_cells.csv): the seeds they hold;
- a claims table: its CSV's rows and columns, and the sensitivity line under its Markdown.

No torch: CSV, YAML and Markdown only.
"""
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

# The column the current claims code (bnonly.reporting.claims_table.to_frame) writes the scoped verdict to; a
# claims CSV without it was written by earlier code.
SCOPED = 'verdict_text'


# ------------------------------------------------------------------------------------------- time breakdown
@dataclass
class Breakdown:
    """What benchmarks/time_breakdown.py's report says about one run (its Markdown, as that script writes it)."""
    about: dict[str, str]       # the bullets at the top: command, started, load, exit status, wall time, ...
    headline: tuple[str, str]   # (what, share of the wall time): ('Training steps + analysis passes', '88.7%')
    machine: dict[str, str]     # the machine table, empty when the report has none


_HEADLINE = re.compile(r'^\*\*(?P<what>.+?): [\d,.]+ s of [\d,.]+ s, (?P<share>[\d.]+%) of the wall time\.\*\*$')
_ROW = re.compile(r'^\| (?P<key>[^|]+?) \| (?P<value>[^|]*?) \|$')


def read_breakdown(path: Path) -> Breakdown:
    about, headline, machine, section = {}, ('', ''), {}, ''
    for line in path.read_text().splitlines():
        if line.startswith('## '):
            section = line[3:].strip()
        elif not section and line.startswith('- ') and ': ' in line:
            key, value = line[2:].split(': ', 1)
            about[key] = value
        elif not section and _HEADLINE.match(line):
            match = _HEADLINE.match(line)
            headline = (match['what'], match['share'])
        elif section == 'Machine' and _ROW.match(line) and not line.startswith('| |') and '---' not in line:
            match = _ROW.match(line)
            machine[match['key']] = match['value']
    if 'wall time' not in about or not headline[0]:
        raise ValueError(f'{path}: no wall time or no headline share; is it benchmarks/time_breakdown.py\'s report?')
    return Breakdown(about, headline, machine)


def wall_minutes(wall: str) -> str:
    """'3,475.7 s (57.9 min)' -> '57.9 min'."""
    match = re.search(r'\(([\d,.]+ min)\)', wall)
    return match[1] if match else wall


def start_load(text: str) -> tuple[float, int] | None:
    """'3.64 (2 cores usable; near 0 = idle)' -> (3.64, 2)."""
    match = re.match(r'([\d.]+) \((\d+) cores? usable', text)
    return (float(match[1]), int(match[2])) if match else None


# ------------------------------------------------------------------------------------------------- the grid
def read_summary(path: Path) -> tuple[dict, dict]:
    """({(group, run): seeds trained}, {(group, run): seeds analysed}) from a grid summary's n column."""
    trained, analysed = {}, {}
    with path.open(newline='') as handle:
        for row in csv.DictReader(handle):
            key, n = (row.get('group', ''), row['run']), int(row['n'])
            if row['source'] == 'train' and row['metric'] == 'test_accuracy':
                trained[key] = max(trained.get(key, 0), n)
            elif row['source'] == 'analysis':
                analysed[key] = max(analysed.get(key, 0), n)
    return trained, analysed


def read_cell_seeds(path: Path) -> list[int]:
    """The seeds of a grid's per-seed cells (reports/grid_cells.csv), sorted; [] when there is no file."""
    if not path.is_file():
        return []
    with path.open(newline='') as handle:
        return sorted({int(float(row['seed'])) for row in csv.DictReader(handle)})


def read_grid(path: Path) -> dict | None:
    """The ``grid`` section of a grid file, or None when there is no file."""
    if not path.is_file():
        return None
    return (yaml.safe_load(path.read_text()) or {}).get('grid') or {}


# ----------------------------------------------------------------------------------------------- the claims
def read_claims(path: Path) -> tuple[list[dict], list[str]]:
    with path.open(newline='') as handle:
        reader = csv.DictReader(handle)
        return list(reader), list(reader.fieldnames or [])


def sensitivity_line(markdown: Path) -> str:
    """The line the claims code writes under a table registered with one direction per primary claim, or ''."""
    if not markdown.is_file():
        return ''
    return next((line for line in markdown.read_text().splitlines() if line.startswith('Sensitivity')), '')
