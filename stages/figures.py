"""Stages `figure1` ... `figure7`: one of the paper's figures, as PNG and PDF, from the aggregated grid.

    python stages/figures.py --figure 4 --bn-values results/grid_bn_values.csv --out reports/figures/figure4

Reads reports/grid_summary.csv, the profile in results/grid_summary.json, the `figures` section of
params.yaml, and for Figures 4 and 5 the γ/β values; writes <out>.png and <out>.pdf (bnonly.paper.figures).
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly.config import ConfigError, load_params
from bnonly.paper.figures import FIGURES, NEEDS_BN_VALUES, draw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--figure', type=int, required=True, choices=sorted(FIGURES))
    parser.add_argument('--out', type=Path, required=True, help='output stem: <out>.png and <out>.pdf')
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--bn-values', type=Path, default=None, help='results/grid_bn_values.csv (Figures 4, 5)')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    args = parser.parse_args(argv)
    try:
        settings = load_params(args.params).get('figures', {})
        if args.figure in NEEDS_BN_VALUES and args.bn_values is None:
            raise ConfigError(f'figure {args.figure} needs --bn-values')
        summary = pd.read_csv(args.summary)
        profile = json.loads(args.summary_json.read_text())['profile']
        bn_values = pd.read_csv(args.bn_values) if args.bn_values is not None else None
        paths = draw(args.figure, summary, bn_values, profile, settings, args.out)
    except (ConfigError, FileNotFoundError) as error:
        print(f'figures: error: {error}', file=sys.stderr)
        return 1
    print(f'figure {args.figure}: {", ".join(map(str, paths))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
