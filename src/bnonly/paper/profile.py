"""Swap the `grid` section of params.yaml for a profile file's (the paper's CIFAR-10 or ImageNet grid).

    python -m bnonly.paper.profile params/paper_cifar10.yaml && dvc exp run -n paper-cifar10
    python -m bnonly.paper.profile params/fashion_mnist_cpu.yaml        # back to the default CPU profile

Only the lines of the `grid:` block change: every other section, and every comment outside the block, stays
as it was (`git diff params.yaml` shows exactly the swap). The result is validated before it is written.
Why not `dvc exp run -S`: a whole section cannot be set from a file with -S, and DVC cannot interpolate
lists into stage commands, so the grid is a section that the matrix stages and the grid_recipe stage read.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

SECTION = 'grid'


def _is_top_level_key(line: str) -> bool:
    return bool(line) and not line[0].isspace() and not line.startswith('#')


def section_span(lines: list[str], name: str = SECTION) -> tuple[int, int]:
    """[start, end) of the block ``name:`` in a YAML file's lines; comment and blank lines that lead into
    the next top-level key stay with that key."""
    starts = [i for i, line in enumerate(lines) if _is_top_level_key(line)
              and line.split('#', 1)[0].rstrip() in (f'{name}:', f'{name}: ')]
    if not starts:
        raise ValueError(f'no top-level {name!r} section')
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if _is_top_level_key(lines[i])), len(lines))
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith('#')):
        end -= 1
    return start, end


def swapped(params_text: str, profile_text: str) -> str:
    params_lines, profile_lines = params_text.splitlines(), profile_text.splitlines()
    start, end = section_span(params_lines)
    p_start, p_end = section_span(profile_lines)
    lines = params_lines[:start] + profile_lines[p_start:p_end] + params_lines[end:]
    return '\n'.join(lines) + '\n'


def apply(profile: Path, params: Path = Path('params.yaml')) -> str:
    from bnonly.config import load_params
    text = swapped(params.read_text(), profile.read_text())
    with tempfile.NamedTemporaryFile('w', suffix='.yaml', dir=params.parent, delete=False) as handle:
        handle.write(text)
    try:
        loaded = load_params(handle.name)  # raises ConfigError naming the key if the profile is invalid
        if loaded.get(SECTION) != yaml.safe_load(profile.read_text())[SECTION]:
            raise ValueError(f'{profile}: the swapped section does not read back as the profile')
        os.replace(handle.name, params)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
    return text


def main(argv: list[str] | None = None) -> int:
    from bnonly.config import ConfigError
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('profile', type=Path, help='a YAML file with a top-level grid: section')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    args = parser.parse_args(argv)
    try:
        apply(args.profile, args.params)
    except (ConfigError, ValueError, OSError) as error:
        print(f'profile: error: {error}', file=sys.stderr)
        return 1
    grid = yaml.safe_load(args.params.read_text())[SECTION]
    print(f'profile: {args.params} now runs {grid["dataset"]}: {len(grid["archs"])} archs x '
          f'{len(grid["trainables"])} trainable sets x {len(grid["seeds"])} seeds, {grid["train"]["epochs"]} epochs')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
