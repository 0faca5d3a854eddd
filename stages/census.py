"""Stage `census`: Table 1 (parameter counts of every network in the paper) as Markdown and CSV."""
import argparse
import sys
from pathlib import Path

from bnonly import atomic, timing
from bnonly.table1 import table1, to_markdown


def main() -> int:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', type=Path, default=Path('reports'))
    args = parser.parse_args()
    table = table1()
    try:
        atomic.write_text(args.out / 'table1.csv', table.to_csv(index=False))
        atomic.write_text(args.out / 'table1.md', 'Table 1: parameters of each network, and the share of each '
                                                  'category.\n\n' + to_markdown(table))
    except atomic.WriteError as error:
        print(f'census: error: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
