"""Stage `census`: Table 1 (parameter counts of every network in the paper) as Markdown and CSV."""
import argparse
from pathlib import Path

from bnonly import timing
from bnonly.table1 import table1, to_markdown


def main() -> None:
    timing.start_script()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', type=Path, default=Path('reports'))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    table = table1()
    table.to_csv(args.out / 'table1.csv', index=False)
    (args.out / 'table1.md').write_text('Table 1: parameters of each network, and the share of each group.\n\n'
                                        + to_markdown(table))


if __name__ == '__main__':
    main()
