"""Stage `figure@NAME`: one figure of a grid, as PNG and PDF, from its aggregated tables.

    python stages/figures.py --table paper --figure 4 --bn-values results/grid_bn_values.csv --out figures/figure4
    python ../stages/figures.py --table extensions --figure E4 --history results/grid_history.csv --out figures/E4

Reads reports/grid_summary.csv, the profile in results/grid_summary.json, the `figures` section of the grid
file and, for the figures that need them, the γ/β values (--bn-values) and the training histories (--history);
writes <out>.png and <out>.pdf. The table's figure set (bnonly.figure_sets, which imports only the one --table
names: Figures 1-8 of bnonly.paper.figures, E1-E4 of bnonly.extensions.figures, S1 of bnonly.study.figures)
says which figures there are and what each reads.
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly import atomic, timing
from bnonly.config import ConfigError, load_params
from bnonly.figure_sets import FIGURE_SETS


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--table', choices=sorted(FIGURE_SETS), default='paper')
    parser.add_argument('--figure', required=True,
                        help='a figure of the table: 1-8 (paper), E1-E4 (extensions), S1 (study)')
    parser.add_argument('--out', type=Path, required=True, help='output stem: <out>.png and <out>.pdf')
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--bn-values', type=Path, default=None, help='results/grid_bn_values.csv')
    parser.add_argument('--history', type=Path, default=None, help='results/grid_history.csv')
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    args = parser.parse_args(argv)
    figure_set = FIGURE_SETS[args.table]
    if args.figure not in figure_set.figures:
        parser.error(f'argument --figure: invalid choice for --table {args.table}: {args.figure!r} '
                     f'(choose from {", ".join(figure_set.figures)})')
    try:
        settings = load_params(args.params).get('figures', {})
        if args.figure in figure_set.needs_bn_values and args.bn_values is None:
            raise ConfigError(f'figure {args.figure} needs --bn-values')
        if args.figure in figure_set.needs_history and args.history is None:
            raise ConfigError(f'figure {args.figure} needs --history')
        summary = pd.read_csv(args.summary)
        profile = json.loads(args.summary_json.read_text())['profile']
        bn_values = pd.read_csv(args.bn_values) if args.bn_values is not None else None
        history = pd.read_csv(args.history) if args.history is not None else None
        paths = figure_set.draw(args.figure, summary, profile, settings, args.out, bn_values=bn_values,
                                history=history)
    except (ConfigError, FileNotFoundError, atomic.WriteError) as error:
        print(f'figures: error: {error}', file=sys.stderr)
        return 1
    print(f'figure {args.figure}: {", ".join(map(str, paths))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
