"""The committed extensions' claims table (extensions/reports/), recomputed from the extensions pipeline's committed
per-seed cells with scipy alone.

An independent check of the claims code (bnonly.reporting): it reads only extensions/reports/grid_cells.csv,
claims.csv and claims.md, and restates here what each row compares (the design, written again, not imported).
Every measured row's raw p, estimate and interval, the Holm-adjusted p and the verdict category are recomputed
with numpy and scipy.stats and compared. The check itself imports neither bnonly nor torch;
tests/test_recompute_committed.py runs it on the committed files (skipped, naming the command that writes them,
until the per-seed cells are committed).

Two designs, each checked on the tables written under it: the registered one (extensions/registration.yaml: two
Holm families, the secondary gated on every primary row being decided), which a table states by naming the
registration; and the one the committed seeds-0-2 table (exploratory) was written under, one Holm family over
every row, which no code writes any more.
"""
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from claims_recompute import ALPHA, PROJECT, holm, one_sample

REGISTRATION = 'extensions/registration.yaml'   # a table written under the registered design names it

# Each row: (run a, run b, test) on test accuracy, paired by seed. 'above': one-sided paired t of a - b > 0;
# 'estimate': a - b with its 95% interval and a two-sided p, no verdict; 'equivalent': TOST within ±MARGIN
# (claims_recompute.MARGIN). Each test's contradicting tests (the other direction; outside the margin on either
# side) are in its row's family.
_RUNS = {
    'X1': ('cifar_resnet14-bn_only', 'cifar_resnet14-gamma_only'),
    'X2': ('cifar_resnet14-bn_only', 'cifar_resnet14-beta_only'),
    'X3': ('cifar_resnet14-gamma_only', 'cifar_resnet14-beta_only'),
    'X4': ('cifar_resnet14-bn_only', 'cifar_resnet14-random_k'),
    'X5': ('cifar_resnet14-norm_only-groupnorm', 'cifar_resnet14-random_k-groupnorm'),
    'X6': ('cifar_resnet14-norm_only-layernorm', 'cifar_resnet14-random_k-layernorm'),
    'X7': ('vit_fmnist_tiny-norm_only', 'vit_fmnist_tiny-random_k'),
    'X8': ('vit_fmnist_tiny-norm_only', 'vit_fmnist_tiny-output_only'),
    'X9': ('vit_fmnist_tiny-all', 'vit_fmnist_tiny-norm_only'),
    'X10': ('cifar_resnet14-bn_only-fixed', 'cifar_resnet14-bn_only'),
    'X11': ('cifar_resnet14-bn_only-orthogonal', 'cifar_resnet14-bn_only'),
    'X12': ('cifar_resnet14-bn_only-binary', 'cifar_resnet14-bn_only'),
    'X13': ('cifar_resnet14-gamma_only', 'cifar_resnet14-random_k-k1'),
    'X14': ('cifar_resnet14-beta_only', 'cifar_resnet14-random_k-k1'),
    'X15': ('cifar_resnet14-beta_only', 'cifar_resnet14-output_only'),
}
# The registered design: the primary family, then the secondary one (decided only if every primary row is
# decided, holding or reversed), and the rows in neither.
REGISTERED_TESTS = {number: 'estimate' if number in ('X10', 'X11') else 'equivalent' if number == 'X12'
                    else 'above' for number in _RUNS}
PRIMARY = ('X1', 'X2', 'X3', 'X13', 'X14', 'X15')
SECONDARY = ('X5', 'X6', 'X7', 'X8', 'X9', 'X12')
REGISTERED_EXPLORATORY = ('X4', 'X10', 'X11')
# The committed seeds-0-2 table's design, as its claims.md states it: X1-X12, X10-X12 equivalences, every row in
# one Holm family (27 tests), none exploratory.
SEEDS_0_2_TESTS = {number: 'equivalent' if number in ('X10', 'X11', 'X12') else 'above'
                   for number in _RUNS if int(number[1:]) <= 12}


def run_values(frame: pd.DataFrame, run: str, metric: str = 'test_accuracy') -> pd.Series:
    match = frame[(frame.run == run) & (frame.source == 'train') & (frame.metric == metric)]
    return match.groupby('seed')['value'].first().astype(float)


def recompute_extensions(frame: pd.DataFrame, tests: dict[str, str] = REGISTERED_TESTS) -> dict[str, dict]:
    """Every measured row's test by formula, on the runs' shared seeds."""
    rows = {}
    for number, test in tests.items():
        values_a, values_b = (run_values(frame, run) for run in _RUNS[number])
        shared = values_a.index.intersection(values_b.index).sort_values()
        if not len(shared):
            continue
        found = one_sample((values_a[shared] - values_b[shared]).to_numpy(), tost=test == 'equivalent')
        if test == 'estimate':
            found |= dict(p=2 * min(found['p'], found['opposite'][0]), opposite=[])
        rows[number] = found
    return rows


def _tests(rows: dict[str, dict], numbers) -> list[tuple[str, bool, float]]:
    """(row, is the claim's own test, raw p) of every test of ``numbers``' measured rows: each claim and its
    contradicting tests."""
    return [(number, own, p) for number in numbers if number in rows
            for own, p in [(True, rows[number]['p'])] + [(False, p) for p in rows[number]['opposite']]]


def adjust(rows: dict[str, dict], registered: bool) -> tuple[dict[str, list[float]], list[list]]:
    """Each measured row's [adjusted claim p, smallest adjusted contradicting p], and the families' tests."""
    if registered:
        families = [_tests(rows, PRIMARY), _tests(rows, SECONDARY)]
    else:
        families = [_tests(rows, SEEDS_0_2_TESTS)]
    adjusted = {number: [math.nan, math.inf] for number in rows}
    floor = 0.0
    for family in families:
        for (number, own, _), p in zip(family, holm([p for *_, p in family])):
            p = max(p, floor)
            adjusted[number][0 if own else 1] = p if own else min(adjusted[number][1], p)
        # The gate: the next family is decided only if every row of this one is, either way.
        floor = max((min(adjusted[number]) for number in {number for number, *_ in family}), default=0.0)
    return adjusted, families


def stated_sizes(claims_md: Path, registered: bool) -> list[int | None]:
    """The family sizes claims.md states, in family order."""
    text = claims_md.read_text()
    patterns = ([r'Primary family \([^;]*; Holm at α = [\d.]+, (\d+) tests', r'secondary family \([^;]*; Holm at α, '
                 r'(\d+) tests'] if registered else [r'Holm-adjusted across this table \((\d+) tests'])
    return [int(found[1]) if (found := re.search(pattern, text)) else None for pattern in patterns]


def check_extensions(cells_csv: Path, claims_csv: Path, claims_md: Path) -> list[str]:
    """Every disagreement between the extensions' table recomputed from its cells and the committed one, under the
    design the table was written with."""
    registered = REGISTRATION in claims_md.read_text()
    tests = REGISTERED_TESTS if registered else SEEDS_0_2_TESTS
    exploratory = REGISTERED_EXPLORATORY if registered else ()
    rows = recompute_extensions(pd.read_csv(cells_csv), tests)
    table = pd.read_csv(claims_csv, dtype={'number': str}).set_index('number')
    problems = []
    measured = set(table.index[table.verdict != 'not measured'])
    if measured != set(rows):
        problems.append(f'measured rows: the table has {sorted(measured)}, the cells give {sorted(rows)}')
    adjusted, families = adjust(rows, registered)
    if stated_sizes(claims_md, registered) != [len(family) for family in families]:
        problems.append(f'claims.md: the Holm families, recomputed {[len(f) for f in families]} tests, are not the '
                        f'ones it states ({stated_sizes(claims_md, registered)})')

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
        verdicts = ({'exploratory'} if number in exploratory else {'holds'} if claim <= ALPHA
                    else {'does not hold', 'contradicted at this budget'} if opposite <= ALPHA
                    else {'not resolvable at this budget'})
        if row.verdict not in verdicts:
            problems.append(f'row {number}: verdict {row.verdict!r}, recomputed {" or ".join(sorted(verdicts))}')
        if registered:
            family = 'primary' if number in PRIMARY else 'secondary' if number in SECONDARY else '-'
            if row.family != family:
                problems.append(f'row {number}: family {row.family!r}, registered {family!r}')
    return problems


def test_the_committed_table_states_the_design_it_is_checked_under():
    """Without its cells the committed table can still be held to the design it names: its rows and the Holm
    families it states are the ones recomputed from its own measured rows under that design."""
    _, claims_csv, claims_md = (PROJECT / 'extensions' / 'reports' / name
                                for name in ('grid_cells.csv', 'claims.csv', 'claims.md'))
    if not claims_md.is_file():
        pytest.skip('extensions/reports/claims.md is not committed yet')
    registered = REGISTRATION in claims_md.read_text()
    table = pd.read_csv(claims_csv, dtype={'number': str}).set_index('number')
    assert set(table.index) == set(REGISTERED_TESTS if registered else SEEDS_0_2_TESTS)
    measured = table.index[table.verdict != 'not measured']
    stand_in = {number: dict(p=0.5, opposite=[0.5] * (2 if tests == 'equivalent' else 1))
                for number, tests in (REGISTERED_TESTS if registered else SEEDS_0_2_TESTS).items()
                if number in measured and tests != 'estimate'}
    assert stated_sizes(claims_md, registered) == [len(family) for family in adjust(stand_in, registered)[1]]


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
    # Each run below the one before it, every seed its own noise; output only level with β only, so that X15's
    # primary row stays open and the gate raises every secondary p.
    level = {run: grid['runs'].index(_RUNS['X15'][0]) if run == _RUNS['X15'][1] else index
             for index, run in enumerate(grid['runs'])}
    for run, index in level.items():
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
    assert set(recompute_extensions(frame)) == set(REGISTERED_TESTS)    # every row measured, TOST and estimates too
    assert REGISTRATION in markdown.read_text()                          # checked under the registered design
    table = pd.read_csv(claims_csv, dtype={'number': str})
    for number, column, change in (('X1', 'estimate', 0.001), ('X2', 'p_raw', 1e-3), ('X12', 'ci_high', 0.001),
                                   ('X10', 'p_raw', 1e-3)):
        changed = table.copy()
        changed.loc[changed.number == number, column] += change
        changed.to_csv(tmp_path / 'changed.csv', index=False)
        assert any(p.startswith(f'row {number}: {column}')
                   for p in check_extensions(tmp_path / 'grid_cells.csv', tmp_path / 'changed.csv', markdown))
    for number, column, value in (('X1', 'verdict', 'exploratory'), ('X13', 'family', 'secondary'),
                                  ('X5', 'family', 'primary')):
        changed = table.copy()
        changed.loc[changed.number == number, column] = value
        changed.to_csv(tmp_path / 'changed.csv', index=False)
        assert any(p.startswith(f'row {number}: {column}')
                   for p in check_extensions(tmp_path / 'grid_cells.csv', tmp_path / 'changed.csv', markdown))
    # A secondary p without the gate's floor: the family's own Holm p, as if it were decided on its own.
    found = recompute_extensions(frame)
    secondary = [(n, own, p) for n in SECONDARY for own, p in [(True, found[n]['p'])] +
                 [(False, p) for p in found[n]['opposite']]]
    ungated = {n: p for (n, own, _), p in zip(secondary, holm([p for *_, p in secondary])) if own}
    gated = table.set_index('number').p_holm
    changed = table.copy()
    number = max(SECONDARY, key=lambda n: gated[n] - ungated[n])
    assert gated[number] > ungated[number], 'the synthetic gate never raises a secondary p: the test cannot fail'
    changed.loc[changed.number == number, 'p_holm'] = ungated[number]
    changed.to_csv(tmp_path / 'changed.csv', index=False)
    assert any(p.startswith(f'row {number}: p_holm')
               for p in check_extensions(tmp_path / 'grid_cells.csv', tmp_path / 'changed.csv', markdown))
    # A table that does not name the registration is read under the seeds-0-2 design: one family, other sizes.
    (tmp_path / 'unregistered.md').write_text(markdown.read_text().replace(REGISTRATION, 'a registration'))
    assert any(p.startswith('claims.md: the Holm families')
               for p in check_extensions(tmp_path / 'grid_cells.csv', claims_csv, tmp_path / 'unregistered.md'))
