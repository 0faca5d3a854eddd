"""The committed extensions' claims table (extensions/reports/), recomputed from the extensions pipeline's committed
per-seed cells with scipy alone.

An independent check of the claims code (bnonly.reporting): it reads only extensions/reports/grid_cells.csv,
claims.csv and claims.md, and restates here what each row compares (the registered design, written again, not
imported). Every measured row's raw p, estimate and interval, the Holm-adjusted p (the table's one family) and
the verdict category are recomputed with numpy and scipy.stats and compared. The check itself imports neither
bnonly nor torch (a subprocess proves it). Until the per-seed cells are committed the committed table's check is
skipped, naming the command that writes them.
"""
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from claims_recompute import (ALPHA, PROJECT, check_committed, check_in_fresh_interpreter, committed, holm,
                              one_sample)

# The committed tables this module checks.
TABLES_CHECKED = ('extensions',)

# Each row of extensions/reports/claims.csv: (run a, run b, test) on test accuracy, paired by seed. 'above': one-sided
# paired t of a - b > 0; 'estimate': a - b with its 95% interval and a two-sided p, no verdict; 'equivalent': TOST
# within ±MARGIN (claims_recompute.MARGIN). EXTENSION_EXPLORATORY rows stay out of the one Holm family (the table
# has no primary rows).
EXTENSION_ROWS = {
    'X1': ('cifar_resnet14-bn_only', 'cifar_resnet14-gamma_only', 'above'),
    'X2': ('cifar_resnet14-bn_only', 'cifar_resnet14-beta_only', 'above'),
    'X3': ('cifar_resnet14-gamma_only', 'cifar_resnet14-beta_only', 'above'),
    'X4': ('cifar_resnet14-bn_only', 'cifar_resnet14-random_k', 'above'),
    'X5': ('cifar_resnet14-norm_only-groupnorm', 'cifar_resnet14-random_k-groupnorm', 'above'),
    'X6': ('cifar_resnet14-norm_only-layernorm', 'cifar_resnet14-random_k-layernorm', 'above'),
    'X7': ('vit_fmnist_tiny-norm_only', 'vit_fmnist_tiny-random_k', 'above'),
    'X8': ('vit_fmnist_tiny-norm_only', 'vit_fmnist_tiny-output_only', 'above'),
    'X9': ('vit_fmnist_tiny-all', 'vit_fmnist_tiny-norm_only', 'above'),
    'X10': ('cifar_resnet14-bn_only-fixed', 'cifar_resnet14-bn_only', 'estimate'),
    'X11': ('cifar_resnet14-bn_only-orthogonal', 'cifar_resnet14-bn_only', 'estimate'),
    'X12': ('cifar_resnet14-bn_only-binary', 'cifar_resnet14-bn_only', 'equivalent'),
}
EXTENSION_EXPLORATORY = ('X4', 'X10', 'X11')


def run_values(frame: pd.DataFrame, run: str, metric: str = 'test_accuracy') -> pd.Series:
    match = frame[(frame.run == run) & (frame.source == 'train') & (frame.metric == metric)]
    return match.groupby('seed')['value'].first().astype(float)


def recompute_extensions(frame: pd.DataFrame) -> dict[str, dict]:
    """Every measured row's test by formula, on the runs' shared seeds."""
    rows = {}
    for number, (a, b, test) in EXTENSION_ROWS.items():
        values_a, values_b = run_values(frame, a), run_values(frame, b)
        shared = values_a.index.intersection(values_b.index).sort_values()
        if not len(shared):
            continue
        found = one_sample((values_a[shared] - values_b[shared]).to_numpy(), tost=test == 'equivalent')
        if test == 'estimate':
            found |= dict(p=2 * min(found['p'], found['opposite'][0]), opposite=[])
        rows[number] = found
    return rows


def check_extensions(cells_csv: Path, claims_csv: Path, claims_md: Path) -> list[str]:
    """Every disagreement between the extensions' table recomputed from its cells and the committed one."""
    rows = recompute_extensions(pd.read_csv(cells_csv))
    table = pd.read_csv(claims_csv, dtype={'number': str}).set_index('number')
    problems = []
    measured = set(table.index[table.verdict != 'not measured'])
    if measured != set(rows):
        problems.append(f'measured rows: the table has {sorted(measured)}, the cells give {sorted(rows)}')
    family = [(number, own, p) for number, found in rows.items() if number not in EXTENSION_EXPLORATORY
              for own, p in [(True, found['p'])] + [(False, p) for p in found['opposite']]]
    adjusted = {number: [math.nan, math.inf] for number in rows}
    for (number, own, _), p in zip(family, holm([p for *_, p in family])):
        adjusted[number][0 if own else 1] = p if own else min(adjusted[number][1], p)
    tests = re.search(r'Holm-adjusted across this table \((\d+) tests', claims_md.read_text())
    if tests is None or int(tests[1]) != len(family):
        problems.append(f'claims.md: the Holm family, recomputed {len(family)} tests, is not the one it states')

    def differs(number, what, ours, theirs):
        if not (math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-12) or math.isnan(ours) and math.isnan(theirs)):
            problems.append(f'row {number}: {what} recomputed {ours:.6g}, table {theirs:.6g}')

    for number, found in rows.items():
        if number not in table.index:
            continue
        row = table.loc[number]
        for what, column in (('estimate', 'estimate'), ('low', 'ci_low'), ('high', 'ci_high'), ('level', 'ci_level'),
                             ('p', 'p_raw')):
            differs(number, column, found[what], float(row[column]))
        claim, opposite = adjusted[number]
        differs(number, 'p_holm', claim, float(row.p_holm))
        verdicts = ({'exploratory'} if number in EXTENSION_EXPLORATORY else {'holds'} if claim <= ALPHA
                    else {'does not hold', 'contradicted at this budget'} if opposite <= ALPHA
                    else {'not resolvable at this budget'})
        if row.verdict not in verdicts:
            problems.append(f'row {number}: verdict {row.verdict!r}, recomputed {" or ".join(sorted(verdicts))}')
    return problems


@pytest.mark.parametrize('table', TABLES_CHECKED)
def test_the_committed_table_recomputes_from_the_committed_cells(table):
    committed(table)
    assert check_committed(table) == []


@pytest.mark.parametrize('table', TABLES_CHECKED)
def test_the_check_needs_neither_bnonly_nor_torch(table):
    committed(table)
    done = check_in_fresh_interpreter(table)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_extensions_check_catches_a_changed_number(tmp_path):
    """The claims stage's extensions table on synthetic cells of every run of extensions/grid.yaml (made-up
    numbers, never measurements) passes the check; a changed estimate, p or verdict in it does not."""
    import json
    import runpy
    from bnonly.config import load_params
    from bnonly.paper.aggregate import KEYS, summarize
    from bnonly.vocabulary import parse_run

    grid = load_params(PROJECT / 'extensions' / 'grid.yaml')['grid']
    rng, rows = np.random.default_rng(0), []
    for index, run in enumerate(grid['runs']):     # each run below the one before it, every seed its own noise
        arch, trainable, variants = parse_run(run)
        settings = {'norm_init': 'uniform', 'norm_layer': 'batchnorm', 'weight_init': 'kaiming_normal',
                    'k': 2, **variants}
        for seed in grid['seeds']:
            for metric, value in (('test_accuracy', 0.9 - 0.03 * index + rng.normal(0, 0.01)),
                                  ('trainable_params', 1120)):
                rows.append({**{key: settings.get(key) for key in KEYS}, 'arch': arch, 'trainable': trainable,
                             'seed': seed, 'run': run, 'source': 'train', 'metric': metric, 'value': value})
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / 'grid_cells.csv', index=False)
    summarize(frame).to_csv(tmp_path / 'grid_summary.csv', index=False)
    profile = {'dataset': 'fashion_mnist', 'steps': 1000, 'seeds': 3, 'cells_trained': 48, 'cells_analysed': 12}
    (tmp_path / 'summary.json').write_text(json.dumps({'profile': profile}))
    main = runpy.run_path(str(PROJECT / 'stages' / 'claims.py'), run_name='claims_stage')['main']
    markdown, claims_csv = tmp_path / 'claims.md', tmp_path / 'claims.csv'
    assert main(['--table', 'extensions', '--cells', str(tmp_path / 'grid_cells.csv'), '--summary',
                 str(tmp_path / 'grid_summary.csv'), '--summary-json', str(tmp_path / 'summary.json'),
                 '--out', str(markdown), '--csv', str(claims_csv)]) == 0
    assert check_extensions(tmp_path / 'grid_cells.csv', claims_csv, markdown) == []
    assert set(recompute_extensions(frame)) == set(EXTENSION_ROWS)      # every row measured, TOST and estimates too
    table = pd.read_csv(claims_csv, dtype={'number': str})
    for number, column, change in (('X1', 'estimate', 0.001), ('X2', 'p_raw', 1e-3), ('X12', 'ci_high', 0.001),
                                   ('X10', 'p_raw', 1e-3)):
        changed = table.copy()
        changed.loc[changed.number == number, column] += change
        changed.to_csv(tmp_path / 'changed.csv', index=False)
        assert any(p.startswith(f'row {number}: {column}')
                   for p in check_extensions(tmp_path / 'grid_cells.csv', tmp_path / 'changed.csv', markdown))
    changed = table.copy()
    changed.loc[changed.number == 'X1', 'verdict'] = 'exploratory'
    changed.to_csv(tmp_path / 'changed.csv', index=False)
    assert any(p.startswith('row X1: verdict')
               for p in check_extensions(tmp_path / 'grid_cells.csv', tmp_path / 'changed.csv', markdown))
