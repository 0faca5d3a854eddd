"""Stage `grid_recipe`: the params files every grid cell reads, from grid.yaml's `grid` section alone.

Writes <out>/prepare.yaml, train.yaml and analyze.yaml (see bnonly.paper.grid). Each holds only what its
stage reads, so editing grid.analyze changes analyze.yaml alone and no trained cell reruns.
"""
import argparse
import sys
from pathlib import Path

import yaml

from bnonly import atomic, timing
from bnonly.config import ConfigError, load_params, require
from bnonly.paper.grid import RECIPE_DIR, GridError, analysed_cells, recipe, train_cells
from bnonly.settings import GridSettings, required_keys

HEADER = '# Written by the grid_recipe stage from the grid section of grid.yaml: edit that, not this.\n'


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--params', type=Path, default=Path('grid.yaml'))
    parser.add_argument('--out', type=Path, default=RECIPE_DIR)
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)  # every key and name, each run's included: a typo names grid.yaml
        require(params, *(f'grid.{key}' for key in required_keys(GridSettings)))
        train_cells(params['grid'])  # fails early on a run whose network cannot take its norm_layer
        analysed_cells(params['grid'])  # fails early if an analysed trainable set is never trained
        files = recipe(params['grid'])
    except (ConfigError, GridError) as error:
        print(f'grid_recipe: error: {error}', file=sys.stderr)
        return 1
    try:
        for name, content in files.items():
            atomic.write_text(args.out / f'{name}.yaml', HEADER + yaml.safe_dump(content, sort_keys=False))
    except atomic.WriteError as error:
        print(f'grid_recipe: error: {error}', file=sys.stderr)
        return 1
    print(f'grid_recipe: {", ".join(sorted(files))} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
