"""Benchmark: DVC's bookkeeping for the paper's full grid: it must stay fast at paper scale.

Builds, in a throw-away git + DVC repository, this project's grid pipeline (the grid_* stages, figure1-7 and
claims of dvc.yaml, unchanged except for the cells' commands) with the grid section of a paper grid file
(params/paper_cifar10.yaml: 600 cells). Every cell's command is a trivial stand-in that writes the files the
real stage writes (made-up numbers, a 4 KB model.pt). The grid is brought to "finished" once: the stand-in
outputs of every cell are written and recorded with `dvc commit` (one lock-file write for all cells; see
below why not `dvc repro`), then `dvc repro` runs the real aggregation, figure and claims stages on them.
Then it times what a user does with a finished grid:

- `dvc status` and a no-op `dvc repro`: must take seconds, not minutes;
- a figure parameter changed (figures.dpi): `dvc repro` reruns the figure stages only;
- a seed added to the grid: `dvc status` names only the new cells (and the stages that read them);
- one new cell actually run (`dvc repro <that cell>`): DVC's own cost per cell at this scale.

Why `dvc commit` for the first fill: `dvc repro` rewrites dvc.lock after every stage, so running 600
stand-ins costs O(n^2) in lock writes (about 1 s per stage early, several late, on our CPU); with real cells
(minutes to days each) that overhead is negligible, and the last row measures it.

    .venv/bin/python benchmarks/bookkeeping.py                    # paper CIFAR-10 grid, a few minutes
    .venv/bin/python benchmarks/bookkeeping.py --quick            # 1 seed, 2 archs: a smoke run
    .venv/bin/python benchmarks/bookkeeping.py --grid-file params/paper_imagenet.yaml

Writes benchmarks/results/bookkeeping.md (quick: bookkeeping-quick.md) with the machine it ran on.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / 'benchmarks' / 'results'
KEPT = ('grid_', 'figure', 'claims')
STANDIN = '''"""Stand-in for a grid stage: the files the real stage writes, with made-up numbers (benchmark only)."""
import hashlib
import json
import os
import sys


def write(kind, out, run, seed):
    arch, trainable, *tokens = run.split("-")
    init = "fixed" if "fixed" in tokens else "uniform"  # Figure 1's -fixed runs: gamma = 1, beta = 0 at init
    seed = int(seed)
    rnd = int(hashlib.md5(f"{arch}{trainable}{seed}{init}".encode()).hexdigest()[:8], 16) / 16 ** 8
    os.makedirs(out, exist_ok=True)
    if kind == "train":
        acc = {"all": 0.9, "all_but_bn": 0.89, "bn_only": 0.6}.get(trainable, 0.4) + 0.01 * rnd
        metrics = dict(test_loss=1 - acc, test_accuracy=acc, train_loss=1 - acc, train_accuracy=acc,
                       trainable_params=1120, total_params=175000, batchnorm_params=1120, epochs=1,
                       train_seconds=1.0, images_per_second=1.0)
        json.dump(metrics, open(os.path.join(out, "metrics.json"), "w"))
        open(os.path.join(out, "history.csv"), "w").write("epoch,test_accuracy\\n1,%f\\n" % acc)
        open(os.path.join(out, "config.yaml"), "w").write(
            "run:\\n  arch: %s\\n  trainable: %s\\n  seed: %d\\n  norm_init: %s\\n  epochs: 1\\n"
            "  batch_size: 128\\n  examples: null\\ndata:\\n  dataset: cifar10\\n  train_size: 50000\\n  test_size: 10000\\n"
            % (arch, trainable, seed, init))
        open(os.path.join(out, "model.pt"), "wb").write(os.urandom(4096))
    else:
        os.makedirs(os.path.join(out, "tables"), exist_ok=True)
        os.makedirs(os.path.join(out, "plots"), exist_ok=True)
        small = 0.2 if trainable == "bn_only" else 0.01
        metrics = {"test_accuracy": 0.5, "test_images": 10000,
                   "gamma": {"frac_abs_below": {"t0p01": small + 0.01 * rnd}},
                   "clamped": {"t0p01": {"test_accuracy": 0.5, "delta": -0.001 * rnd}},
                   "dead_relu": {"granularity": "channel", "probability": 0.99, "units": 100,
                                 "fraction": small / 2 + 0.01 * rnd}}
        json.dump(metrics, open(os.path.join(out, "metrics.json"), "w"))
        rows = ["layer,channel,gamma,beta"] + ["bn,%d,%f,-0.1" % (c, (c % 10) / 10 * (1 - small)) for c in range(64)]
        open(os.path.join(out, "tables", "bn_values.csv"), "w").write("\\n".join(rows) + "\\n")
        open(os.path.join(out, "plots", "gamma_histogram.png"), "wb").write(os.urandom(2048))


if __name__ == "__main__":
    write(*sys.argv[1:5])
'''


def machine() -> dict[str, str]:
    cpu = next((line.split(':', 1)[1].strip() for line in Path('/proc/cpuinfo').read_text().splitlines()
                if line.startswith('model name')), platform.processor())
    dvc = subprocess.run([str(Path(sys.executable).parent / 'dvc'), '--version'], capture_output=True,
                         text=True).stdout.strip()
    return {'cpu': cpu, 'cores (usable)': str(len(os.sched_getaffinity(0))), 'dvc': dvc,
            'python': platform.python_version(), 'platform': platform.platform(),
            'load average at start (1, 5, 15 min)': ', '.join(f'{v:.2f}' for v in os.getloadavg())}


class Repo:
    def __init__(self, root: Path):
        self.root = root
        venv_bin = Path(sys.executable).parent
        self.env = dict(os.environ, PATH=f'{venv_bin}{os.pathsep}{os.environ.get("PATH", "")}', DVC_NO_ANALYTICS='1',
                        DVC_SITE_CACHE_DIR=str(root / '.dvc' / 'tmp' / 'site_cache'), GIT_AUTHOR_NAME='bench',
                        GIT_AUTHOR_EMAIL='bench@example.com', GIT_COMMITTER_NAME='bench',
                        GIT_COMMITTER_EMAIL='bench@example.com', PYTHONDONTWRITEBYTECODE='1')

    def run(self, *command: str) -> tuple[float, str]:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f'{" ".join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
        return seconds, result.stdout + result.stderr

    def ran(self, output: str) -> list[str]:
        return re.findall(r"Running stage '([^']+)'", output)


def standin_pipeline(paper_grid: dict) -> tuple[dict, dict]:
    """(dvc.yaml, params.yaml) for the benchmark repo: the project's grid stages with stand-in commands."""
    pipeline = yaml.safe_load((PROJECT / 'dvc.yaml').read_text())  # YAML anchors resolved
    stages = {name: stage for name, stage in pipeline['stages'].items() if name.startswith(KEPT)}
    cell, name = '${item.run} ${item.seed}', '${item.run}-${item.seed}'
    stages['grid_prepare']['cmd'] = 'mkdir -p data/grid_prepared && echo "{}" > data/grid_prepared/meta.json'
    stages['grid_train']['cmd'] = f'python standin.py train results/grid/{name}/train {cell}'
    stages['grid_analyze']['cmd'] = f'python standin.py analyze results/grid/{name}/analyze {cell}'
    stages['grid_prepare']['deps'] = [d for d in stages['grid_prepare']['deps'] if not d.startswith('stages/')]
    params = yaml.safe_load((PROJECT / 'params.yaml').read_text())
    params['grid'] = paper_grid
    return {'stages': stages}, params


def build(root: Path, paper_grid: dict) -> Repo:
    root.mkdir(parents=True)
    for name in ('src', 'stages'):
        shutil.copytree(PROJECT / name, root / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    pipeline, params = standin_pipeline(paper_grid)
    (root / 'dvc.yaml').write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (root / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    (root / 'standin.py').write_text(STANDIN)
    repo = Repo(root)
    repo.run('git', 'init', '-q')
    repo.run('dvc', 'init', '-q')
    repo.run('dvc', 'config', 'core.analytics', 'false')
    repo.run('git', 'add', '-A')
    repo.run('git', 'commit', '-qm', 'grid')
    return repo


def median_of(repo: Repo, command: tuple[str, ...], repeats: int) -> tuple[float, list[float], str]:
    times, output = [], ''
    for _ in range(repeats):
        seconds, output = repo.run(*command)
        times.append(seconds)
    return statistics.median(times), times, output


def fill(repo: Repo, grid: dict) -> int:
    """Write every cell's stand-in outputs in this process (what the cells' commands would write)."""
    from bnonly.paper.grid import analysed_cells, train_cells
    namespace: dict = {}
    exec(compile(STANDIN, 'standin.py', 'exec'), namespace)
    write, count = namespace['write'], 0
    for kind, cells in (('train', train_cells(grid)), ('analyze', analysed_cells(grid))):
        for cell in cells:
            write(kind, str(repo.root / cell.folder / kind), cell.run, cell.seed)
            count += 1
    return count


def write_params(repo: Repo, params: dict) -> None:
    (repo.root / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--grid-file', type=Path, default=PROJECT / 'params' / 'paper_cifar10.yaml')
    parser.add_argument('--quick', action='store_true', help='one seed and two archs: a smoke run')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--keep', action='store_true', help='keep the benchmark repository')
    parser.add_argument('--out', type=Path, default=None)
    args = parser.parse_args()
    grid_file = args.grid_file.resolve()
    grid = yaml.safe_load(grid_file.read_text())['grid']
    if args.quick:
        archs = list(dict.fromkeys(run.split('-')[0] for run in grid['runs']))[:2]
        grid.update({key: [run for run in grid[key] if run.split('-')[0] in archs]
                     for key in ('runs', 'analyze_runs')}, seeds=[0])
    out = args.out or RESULTS / ('bookkeeping-quick.md' if args.quick else 'bookkeeping.md')
    info = machine()
    workdir = Path(tempfile.mkdtemp(prefix='bnonly-bookkeeping-'))
    started = datetime.datetime.now().isoformat(timespec='seconds')
    rows = []
    try:
        repo = build(workdir / 'repo', grid)
        _, listing = repo.run('dvc', 'stage', 'list', '--name-only')
        stages = len(listing.split())
        repo.run('dvc', 'repro', 'grid_recipe', 'grid_prepare')
        cells = fill(repo, grid)
        seconds, _ = repo.run('dvc', 'commit', '-f', 'grid_train', 'grid_analyze')
        rows.append((f'`dvc commit` of the {cells} finished cells (hashes every output, one lock write)',
                     seconds, '-'))
        seconds, output = repo.run('dvc', 'repro')
        ran = repo.ran(output)
        assert not [name for name in ran if '@' in name], 'a committed cell was rerun'
        rows.append(('`dvc repro`: the real aggregation, 7 figures and claims over all cells', seconds,
                     f'{len(ran)} ({", ".join(ran)})'))
        repo.run('git', 'add', '-A')
        repo.run('git', 'commit', '-qm', 'finished grid')
        lock_kb = (repo.root / 'dvc.lock').stat().st_size / 1024

        status, times, _ = median_of(repo, ('dvc', 'status'), args.repeats)
        rows.append((f'`dvc status`, nothing changed (median of {args.repeats}: '
                     f'{", ".join(f"{t:.1f}" for t in times)})', status, '-'))
        noop, times, output = median_of(repo, ('dvc', 'repro'), args.repeats)
        assert not repo.ran(output), f'a no-op repro ran stages: {repo.ran(output)}'
        rows.append((f'no-op `dvc repro` (median of {args.repeats}: {", ".join(f"{t:.1f}" for t in times)})',
                     noop, '0'))

        params = yaml.safe_load((repo.root / 'params.yaml').read_text())
        params['figures']['dpi'] += 1
        write_params(repo, params)
        seconds, output = repo.run('dvc', 'repro')
        ran = repo.ran(output)
        assert ran and all(name.startswith('figure') for name in ran), ran
        rows.append(('`dvc repro` after changing `figures.dpi`', seconds, f'{len(ran)} ({", ".join(ran)})'))

        new_seed = max(params['grid']['seeds']) + 1
        params['grid']['seeds'].append(new_seed)
        write_params(repo, params)
        seconds, output = repo.run('dvc', 'status', '--json')
        changed = sorted(json.loads(output[output.index('{'):]))
        old = [name for name in changed if '@' in name and not name.endswith(f'-{new_seed}')]
        assert not old, f'adding a seed changed old cells: {old[:5]}'
        new_cells = [name for name in changed if name.endswith(f'-{new_seed}')]
        rows.append((f'`dvc status` after adding seed {new_seed}', seconds,
                     f'{len(changed)} changed: {len(new_cells)} new cells + '
                     f'{", ".join(n for n in changed if "@" not in n)}'))
        one = next(name for name in new_cells if name.startswith('grid_train@'))
        seconds, output = repo.run('dvc', 'repro', one)
        assert repo.ran(output) == [one], repo.ran(output)
        rows.append((f'`dvc repro {one}`: one new stand-in cell (DVC\'s own cost per cell at this scale)',
                     seconds, '1'))
    finally:
        if args.keep:
            print(f'kept {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    info['load average at end (1, 5, 15 min)'] = ', '.join(f'{v:.2f}' for v in os.getloadavg())
    shown = grid_file.relative_to(PROJECT) if grid_file.is_relative_to(PROJECT) else grid_file
    lines = [f'# DVC bookkeeping at paper scale{" (QUICK SMOKE RUN)" if args.quick else ""}', '',
             f'{started}: the `{shown}` grid{" (cut down: --quick)" if args.quick else ""} with stand-in cells: '
             f'{stages} stages ({cells} cells, plus grid_recipe, grid_prepare, grid_aggregate, figure1-7, claims); '
             f'dvc.lock of the finished grid: {lock_kb:,.0f} KB.', '',
             '| what | seconds | stages |', '|---|---:|---|']
    lines += [f'| {what} | {seconds:.1f} | {ran} |' for what, seconds, ran in rows]
    load = os.getloadavg()[1]
    busy = (f'**The machine was busy** (5-minute load average {load:.1f} on {os.cpu_count()} cores): these times '
            f'are upper bounds.' if load > 0.5 else 'The machine was idle (5-minute load average '
            f'{load:.1f}).')
    lines += ['', 'The stand-in cells make the cells themselves free, so these are DVC\'s bookkeeping and the '
              'real aggregation, figure and claims stages (each about 3-4 s of Python and torch start-up on this '
              f'CPU). {busy}', '',
              '| machine | |', '|---|---|'] + [f'| {k} | {v} |' for k, v in info.items()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
