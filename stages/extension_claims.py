"""Stage `claims` of extensions/dvc.yaml: the extensions grid's pre-specified claims with tested verdicts.

Reads the per-seed cells (reports/grid_cells.csv) and the profile in results/grid_summary.json; writes
reports/claims.md and reports/claims.csv (bnonly.extensions.claims). Paths are relative to extensions/.
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly import atomic, timing
from bnonly.extensions.claims import all_claims, write


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cells', type=Path, default=Path('reports/grid_cells.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--out', type=Path, default=Path('reports/claims.md'))
    parser.add_argument('--csv', type=Path, default=Path('reports/claims.csv'))
    args = parser.parse_args(argv)
    try:
        profile = json.loads(args.summary_json.read_text())['profile']
        cells = pd.read_csv(args.cells)
    except FileNotFoundError as error:
        print(f'extension_claims: error: {error}; run `dvc repro extensions/dvc.yaml:grid_aggregate`',
              file=sys.stderr)
        return 1
    missing = profile.get('cells_missing')
    if missing:  # as the paper's claims stage: no verdict on part of a grid
        print(f'extension_claims: error: the grid is partial, {args.summary_json} lists {len(missing)} stages '
              f'without results (profile.cells_missing: {", ".join(missing)}); finish them or remove them from '
              f'grid.yaml', file=sys.stderr)
        return 1
    rows = all_claims(cells, profile)
    try:
        write(rows, profile, args.out, args.csv)
    except atomic.WriteError as error:
        print(f'extension_claims: error: {error}', file=sys.stderr)
        return 1
    tally = pd.Series([row.verdict for row in rows]).value_counts()
    print(f'extension_claims: {", ".join(f"{count} {verdict}" for verdict, count in tally.items())} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
