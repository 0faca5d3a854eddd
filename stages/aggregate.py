"""Stage `grid_aggregate`: every grid cell's metrics into tidy CSVs and a summary over seeds (mean, std, n).

Reads the cells the `grid` section of grid.yaml declares (folders of removed cells are ignored); writes the
files described in bnonly.paper.aggregate. A partial grid (cells whose stages failed, e.g. under `dvc repro
--keep-going`) is aggregated over the cells that have results and says so: a warning line naming the missing
stages, and results/grid_summary.json's profile.complete (false) and profile.cells_missing; the claims stage
refuses it. Exits 1 if no cell has results, or a cell folder describes another cell.
"""
import argparse
import json
import sys
from pathlib import Path

from bnonly import atomic, timing
from bnonly.config import ConfigError, load_params, require
from bnonly.paper.aggregate import partial_grid_message, write
from bnonly.paper.grid import GridError


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    parser.add_argument('--root', type=Path, default=Path('.'), help='where results/grid* are')
    parser.add_argument('--cells', type=Path, default=Path('reports/grid_cells.csv'))
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--bn-values', type=Path, default=Path('results/grid_bn_values.csv'))
    parser.add_argument('--history', type=Path, default=Path('results/grid_history.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        require(params, 'grid.runs', 'grid.seeds', 'grid.analyze_runs')
        summary = write(params['grid'], args.root, cells_csv=args.cells, summary_csv=args.summary,
                        bn_values_csv=args.bn_values, history_csv=args.history,
                        summary_json_path=args.summary_json)
    except (ConfigError, GridError, atomic.WriteError) as error:
        print(f'aggregate: error: {error}', file=sys.stderr)
        return 1
    partial = partial_grid_message(json.loads(args.summary_json.read_text())['profile'])
    if partial:
        print(f'aggregate: warning: {partial}; these tables cover the other cells ({args.summary_json}: '
              f'profile.cells_missing); run `dvc repro` again once they succeed, or remove them from '
              f'{args.params}', file=sys.stderr)
    print(f'aggregate: {summary["run"].nunique()} runs -> {args.summary}, {args.summary_json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
