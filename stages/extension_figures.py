"""Stage `figure@E<N>` of extensions/dvc.yaml: one of Figures E1-E4, as PNG and PDF, from the extensions grid.

    python ../stages/extension_figures.py --figure E1 --history results/grid_history.csv --out reports/figures/E1

Reads the summary (reports/grid_summary.csv), the profile in results/grid_summary.json, the training
histories (E4's share of small γ) and the `figures` section of grid.yaml; writes <out>.png and <out>.pdf
(bnonly.extensions.figures). Paths are relative to extensions/, where the stage runs.
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bnonly import atomic, timing
from bnonly.config import ConfigError, load_params
from bnonly.extensions.figures import FIGURES, draw


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--figure', required=True, choices=sorted(FIGURES))
    parser.add_argument('--out', type=Path, required=True, help='output stem: <out>.png and <out>.pdf')
    parser.add_argument('--summary', type=Path, default=Path('reports/grid_summary.csv'))
    parser.add_argument('--summary-json', type=Path, default=Path('results/grid_summary.json'))
    parser.add_argument('--history', type=Path, default=Path('results/grid_history.csv'))
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    args = parser.parse_args(argv)
    try:
        settings = load_params(args.params).get('figures', {})
        summary = pd.read_csv(args.summary)
        history = pd.read_csv(args.history)
        profile = json.loads(args.summary_json.read_text())['profile']
        paths = draw(args.figure, summary, history, profile, settings, args.out)
    except (ConfigError, FileNotFoundError, atomic.WriteError) as error:
        print(f'extension_figures: error: {error}', file=sys.stderr)
        return 1
    print(f'figure {args.figure}: {", ".join(map(str, paths))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
