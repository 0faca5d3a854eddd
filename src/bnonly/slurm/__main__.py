"""`python -m bnonly.slurm submit|status`: the grid on a SLURM cluster (docs/pipeline.md, "Scaling out")."""
import argparse
import sys
from pathlib import Path

from bnonly.slurm import status, submit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m bnonly.slurm', description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    submit.add_arguments(commands.add_parser(
        'submit', help='one array task per grid cell that DVC does not have yet'))
    show = commands.add_parser('status', help='one line per submitted cell')
    show.add_argument('--workspace', default='.', help='the DVC workspace (default: the current folder)')
    show.add_argument('--work-dir', default=None, help='the submit work dir (default: <workspace>/.slurm)')
    args = parser.parse_args(argv)
    try:
        if args.command == 'submit':
            return submit.submit(args)
        root = submit.workspace_root(Path(args.workspace))
        return status.main(Path(args.work_dir) if args.work_dir else root / '.slurm')
    except submit.SubmitError as error:
        print(f'bnonly.slurm {args.command}: error: {error}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
