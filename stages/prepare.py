"""Stage `prepare`: verify the raw data set named in params.yaml and write its prepared copy.

    dvc repro prepare
    python stages/prepare.py --out data/prepared        # the same, outside DVC (from the repo root)

Reads `dataset` and `data.root` (null: the data set's default, see bnonly.data.default_root). Exits 1 with a
one-line message if the data are missing or fail a check, or the disk is full; nothing is left at --out then.
"""
import argparse
import sys
from pathlib import Path

from bnonly import atomic, timing
from bnonly.interrupts import Interrupted, stopped_by_signal
from bnonly.config import ConfigError, load_params, require, section_values
from bnonly.data import DataError, load_meta, prepare
from bnonly.data.integrity import RECORDED
from bnonly.settings import DataSettings


def main() -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, required=True, help='folder for the prepared copy')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    args = parser.parse_args()
    try:
        params = load_params(args.params)
        require(params, 'dataset')
        data = DataSettings(**section_values(DataSettings, params, 'data'))
        # Stand-in data (tests, a subset of your own) can't match the recorded checksums of the real files.
        checksums = RECORDED if data.verify_checksums else None
        with timing.phase('data'), stopped_by_signal():
            prepare(params['dataset'], data.root, args.out, checksums=checksums)
    except (ConfigError, DataError, atomic.WriteError) as error:
        message = str(error).replace('\n', ' ')
        print(f'prepare: error: {message}', file=sys.stderr)
        return 1
    except Interrupted as stop:
        print(stop.line('prepare'), file=sys.stderr)
        return stop.exit_code
    meta = load_meta(args.out)
    print(f'prepare: {meta["dataset"]}: {meta["train_size"]} training and {meta["test_size"]} test images '
          f'from {meta["root"]} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
