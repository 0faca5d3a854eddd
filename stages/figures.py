"""Stage `figure@N`: one of Figures 1-8, as PNG and PDF, from the aggregated grid.

    python stages/figures.py --figure 4 --bn-values results/grid_bn_values.csv --out reports/figures/figure4

Reads reports/grid_summary.csv, the profile in results/grid_summary.json, the `figures` section of
grid.yaml, for Figures 4 and 5 the γ/β values and for Figure 8 the training histories; writes <out>.png and <out>.pdf (bnonly.paper.figures).
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly import atomic, timing
from bnonly.config import ConfigError, load_params
from bnonly.paper.figures import FIGURES, NEEDS_BN_VALUES, NEEDS_HISTORY, draw


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--figure', type=int, required=True, choices=sorted(FIGURES))
    parser.add_argument('--out', type=Path, required=True, help='output stem: <out>.png and <out>.pdf')
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--bn-values', type=Path, default=None, help='results/grid_bn_values.csv (Figures 4, 5)')
    parser.add_argument('--history', type=Path, default=None, help='results/grid_history.csv (Figure 8)')
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    args = parser.parse_args(argv)
    try:
        settings = load_params(args.params).get('figures', {})
        if args.figure in NEEDS_BN_VALUES and args.bn_values is None:
            raise ConfigError(f'figure {args.figure} needs --bn-values')
        summary = pd.read_csv(args.summary)
        profile = json.loads(args.summary_json.read_text())['profile']
        if args.figure in NEEDS_HISTORY and args.history is None:
            raise ConfigError(f'figure {args.figure} needs --history')
        bn_values = pd.read_csv(args.bn_values) if args.bn_values is not None else None
        history = pd.read_csv(args.history) if args.history is not None else None
        paths = draw(args.figure, summary, bn_values, profile, settings, args.out, history)
    except (ConfigError, FileNotFoundError, atomic.WriteError) as error:
        print(f'figures: error: {error}', file=sys.stderr)
        return 1
    print(f'figure {args.figure}: {", ".join(map(str, paths))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
