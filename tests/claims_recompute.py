"""What the scipy recomputations of the committed claims tables share: where each table's pipeline writes its
files, which test module checks each table, the per-network test by formula and Holm's step-down.

Used by tests/test_recompute_paper_claims.py and tests/test_recompute_extension_claims.py (the budget study's check
is tests/test_study_claims.py's, the scope set's tests/test_scope.py's). Like the checks themselves it imports
neither bnonly nor torch.
"""
import importlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

PROJECT = Path(__file__).resolve().parents[1]
# Every claims table (bnonly.claims_tables): its pipeline's reports folder, and the commands that write its per-seed
# cells and then the table.
PIPELINES = {'paper': ('reports', 'dvc repro grid_aggregate', 'dvc repro claims'),
             'extensions': ('extensions/reports', 'dvc repro extensions/dvc.yaml:grid_aggregate',
                            'dvc repro extensions/dvc.yaml:claims'),
             'study': ('study/reports', 'dvc repro study/dvc.yaml:grid_aggregate', 'dvc repro study/dvc.yaml:claims'),
             'scope': ('scope/reports', 'dvc repro scope/dvc.yaml:grid_aggregate', 'dvc repro scope/dvc.yaml:claims')}


def files(table: str) -> tuple[Path, Path, Path]:
    """The per-seed cells, the claims CSV and the claims Markdown of a table's pipeline."""
    folder = PROJECT / PIPELINES[table][0]
    return folder / 'grid_cells.csv', folder / 'claims.csv', folder / 'claims.md'


# Each table's check: the test module that restates the table's design and the function there, imported on use.
CHECKS = {'paper': ('test_recompute_paper_claims', 'check'),
          'extensions': ('test_recompute_extension_claims', 'check_extensions'),
          'study': ('test_study_claims', 'check'), 'scope': ('test_scope', 'check')}
ALPHA, MARGIN = 0.05, 0.01


def one_sample(x: np.ndarray, *, tost: bool) -> dict:
    """The per-network test by formula: t, its one-sided p and the opposite p(s), the interval."""
    n, mean = len(x), float(x.mean())
    se = float(x.std(ddof=1)) / math.sqrt(n)
    df = n - 1
    if tost:
        p_low, p_high = stats.t.sf((mean + MARGIN) / se, df), stats.t.cdf((mean - MARGIN) / se, df)
        half = stats.t.ppf(1 - ALPHA, df) * se
        return dict(estimate=mean, low=mean - half, high=mean + half, level=1 - 2 * ALPHA, p=max(p_low, p_high),
                    opposite=[1 - p_low, 1 - p_high], n=n)
    t = mean / se
    half = stats.t.ppf(0.975, df) * se
    return dict(estimate=mean, low=mean - half, high=mean + half, level=0.95, p=stats.t.sf(t, df),
                opposite=[stats.t.cdf(t, df)], n=n)


def holm(ps: list[float]) -> list[float]:
    """Holm's step-down adjustment written out: sorted p times (m - rank), running maximum, capped at 1."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted, running = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def check_committed(table: str) -> list[str]:
    """Every disagreement between ``table``'s committed claims table and its recomputation from the committed
    cells, as lines; [] when they agree."""
    module, function = CHECKS[table]
    return getattr(importlib.import_module(module), function)(*files(table))


def check_in_fresh_interpreter(table: str) -> subprocess.CompletedProcess:
    """``check_committed(table)`` in a fresh interpreter, which fails if that imported torch or bnonly or found a
    disagreement."""
    script = ('import sys; sys.path.insert(0, sys.argv[1]); import claims_recompute as r; '
              f'problems = r.check_committed({table!r}); '
              'assert "torch" not in sys.modules and "bnonly" not in sys.modules, "imported torch or bnonly"; '
              'assert problems == [], problems')
    return subprocess.run([sys.executable, '-c', script, str(Path(__file__).parent)], capture_output=True,
                          text=True, cwd=PROJECT)


def committed(table: str):
    # The per-seed cells are committed by the run that writes the table; until a checkout has them, the check of
    # the committed table cannot run (each test module's synthetic tests exercise its check on every run).
    folder, aggregate, claims = PIPELINES[table]
    if not files(table)[0].is_file():
        pytest.skip(f'{folder}/grid_cells.csv is not in the checkout: `{aggregate}` writes it from the trained '
                    f'cells (`{claims}` then rewrites {folder}/claims.md and {folder}/claims.csv from it); commit '
                    f'all three')


# ------------------------------------------------------------------------------- the stages on synthetic cells
# The tests that run the claims stage on stand-in cells (bnonly.paper.synthetic, never measurements) aggregate
# them and call the stage the same way; bnonly is imported inside, so importing this module still loads neither.
def aggregate(grid: dict, cells: Path, out: Path):
    """The aggregate stage's tables of the cells under ``cells``, written to ``out``; the per-seed cells read back."""
    import pandas as pd
    from bnonly.paper import aggregate as stage
    stage.write(grid, cells, cells_csv=out / 'grid_cells.csv', summary_csv=out / 'summary.csv',
                bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv', summary_json_path=out / 'summary.json')
    return pd.read_csv(out / 'grid_cells.csv')


def claims_stage(table: str, out: Path) -> int:
    """stages/claims.py on ``aggregate``'s tables in ``out``, writing claims.md and claims.csv there."""
    import runpy
    main = runpy.run_path(str(PROJECT / 'stages' / 'claims.py'), run_name='claims_stage')['main']
    return main(['--table', table, '--cells', str(out / 'grid_cells.csv'), '--summary', str(out / 'summary.csv'),
                 '--summary-json', str(out / 'summary.json'), '--out', str(out / 'claims.md'),
                 '--csv', str(out / 'claims.csv')])
