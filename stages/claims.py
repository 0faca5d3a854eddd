"""Stage `claims`: the paper's headline claims beside our measurements, with tested verdicts (reports/claims.md).

Reads the per-seed cells (reports/grid_cells.csv, in git), their summary (reports/grid_summary.csv, for parameter
counts) and the profile in results/grid_summary.json; the claims and their rules are declared in
bnonly.paper.paper_claims, evaluated by bnonly.paper.claims with the tests of bnonly.paper.statistics. Also
writes the same table as CSV for scripts.
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly import atomic, timing
from bnonly.paper.claims import all_claims
from bnonly.paper.claims_table import to_frame, to_markdown
from bnonly.paper.results import Results


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cells', type=Path, default=Path('reports/grid_cells.csv'))
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--out', type=Path, default=Path('reports/claims.md'))
    parser.add_argument('--csv', type=Path, default=Path('reports/claims.csv'))
    args = parser.parse_args(argv)
    try:
        profile = json.loads(args.summary_json.read_text())['profile']
        summary = pd.read_csv(args.summary)
        cells = pd.read_csv(args.cells)
    except FileNotFoundError as error:
        print(f'claims: error: {error}; run `dvc repro grid_aggregate`', file=sys.stderr)
        return 1
    missing = profile.get('cells_missing')
    if missing:  # every test pairs cells by seed and the Holm families count every claim: no verdict on a part
        print(f'claims: error: the grid is partial, {args.summary_json} lists {len(missing)} stages without results '
              f'(profile.cells_missing: {", ".join(missing)}); finish them or remove them from grid.yaml',
              file=sys.stderr)
        return 1
    rows = all_claims(Results(summary, profile, cells))
    try:
        atomic.write_text(args.out, to_markdown(rows, profile))
        atomic.write_text(args.csv, to_frame(rows).to_csv(index=False))
    except atomic.WriteError as error:
        print(f'claims: error: {error}', file=sys.stderr)
        return 1
    tally = pd.Series([row.verdict for row in rows]).value_counts()
    print(f'claims: {", ".join(f"{count} {verdict}" for verdict, count in tally.items())} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
