"""Stage `grid_aggregate`: every grid cell's metrics into tidy CSVs and a summary over seeds (mean, std, n).

Reads the cells the `grid` section of grid.yaml declares (folders of removed cells are ignored); writes the
files described in bnonly.paper.aggregate. Exits 1 naming the stage to run if a cell's results are missing.
"""
import argparse
import sys
from pathlib import Path

from bnonly import timing
from bnonly.config import ConfigError, load_params, require
from bnonly.paper.aggregate import write
from bnonly.paper.grid import GridError


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    parser.add_argument('--root', type=Path, default=Path('.'), help='where results/grid* are')
    parser.add_argument('--cells', type=Path, default=Path('results/grid_cells.csv'))
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--bn-values', type=Path, default=Path('results/grid_bn_values.csv'))
    parser.add_argument('--history', type=Path, default=Path('results/grid_history.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params, check_names=False)  # the names: checked by the cells' stages
        require(params, 'grid.runs', 'grid.seeds', 'grid.analyze_runs')
        summary = write(params['grid'], args.root, cells_csv=args.cells, summary_csv=args.summary,
                        bn_values_csv=args.bn_values, history_csv=args.history,
                        summary_json_path=args.summary_json)
    except (ConfigError, GridError) as error:
        print(f'aggregate: error: {error}', file=sys.stderr)
        return 1
    groups = summary[['group', 'arch', 'trainable']].drop_duplicates().shape[0]
    print(f'aggregate: {groups} (arch, trainable) groups -> {args.summary}, {args.summary_json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
