"""Stage `claims`: a grid's claims beside its measurements, with tested verdicts (reports/claims.md and .csv).

    python stages/claims.py --table paper        # dvc.yaml: the paper's claims (bnonly.paper.paper_claims)
    python ../stages/claims.py --table extensions  # extensions/dvc.yaml, run in extensions/ (X1-X12)

Reads the per-seed cells (reports/grid_cells.csv, in git), their summary (reports/grid_summary.csv) and the
profile in results/grid_summary.json. The table (named in bnonly.claims_tables, which imports only the one
--table names) declares its claims and rules; every table is evaluated by bnonly.paper.claims with the tests
of bnonly.reporting.statistics and written by bnonly.reporting.claims_table, as Markdown for people and CSV
for scripts.
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly import atomic, timing
from bnonly.claims_tables import TABLES
from bnonly.paper.claims import evaluate
from bnonly.reporting.claims_table import to_frame, to_markdown


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--table', choices=sorted(TABLES), default='paper')
    parser.add_argument('--cells', type=Path, default=Path('reports/grid_cells.csv'))
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--out', type=Path, default=Path('reports/claims.md'))
    parser.add_argument('--csv', type=Path, default=Path('reports/claims.csv'))
    args = parser.parse_args(argv)
    table = TABLES[args.table]
    try:
        profile = json.loads(args.summary_json.read_text())['profile']
        summary = pd.read_csv(args.summary)
        cells = pd.read_csv(args.cells)
    except FileNotFoundError as error:
        print(f'claims: error: {error}; run `{table.aggregate}`', file=sys.stderr)
        return 1
    missing = profile.get('cells_missing')
    if missing:  # every test pairs cells by seed and the Holm families count every claim: no verdict on a part
        print(f'claims: error: the grid is partial, {args.summary_json} lists {len(missing)} stages without results '
              f'(profile.cells_missing: {", ".join(missing)}); finish them or remove them from grid.yaml',
              file=sys.stderr)
        return 1
    rows = evaluate(table, table.results(summary, profile, cells))
    try:
        atomic.write_text(args.out, to_markdown(table, rows, profile))
        atomic.write_text(args.csv, to_frame(table, rows).to_csv(index=False))
    except atomic.WriteError as error:
        print(f'claims: error: {error}', file=sys.stderr)
        return 1
    tally = pd.Series([row.verdict for row in rows]).value_counts()
    print(f'claims: {", ".join(f"{count} {verdict}" for verdict, count in tally.items())} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
