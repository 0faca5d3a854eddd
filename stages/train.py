"""Stage `train`: train the configuration in params.yaml on the prepared data (see dvc.yaml)."""
import argparse
import sys
from pathlib import Path

from bnonly.config import ConfigError, load_params
from bnonly.data import DataError
from bnonly.training import RunSpec, TrainingDiverged, train_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--data', type=Path, required=True, help='prepared data folder (stage prepare)')
    parser.add_argument('--out', type=Path, required=True, help='folder for model.pt, metrics.json, history.csv')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    parser.add_argument('--set', dest='overrides', action='append', default=[], metavar='KEY=VALUE',
                        help='override a params value (e.g. --set arch=cifar_resnet32); repeatable')
    parser.add_argument('--scratch', type=Path, default=None,
                        help='where resume state lives (default: $BNONLY_SCRATCH or .scratch/)')
    args = parser.parse_args()
    try:
        spec = RunSpec.from_params(load_params(args.params, args.overrides))
        train_run(spec, args.data, args.out, scratch_root=args.scratch)
    except (ConfigError, DataError, TrainingDiverged) as error:
        print(f'train: error: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
