"""The budget study's claims table recomputed with scipy alone, from its per-seed cells.

``check`` reads the study pipeline's study/reports/grid_cells.csv, claims.csv and claims.md, and restates here
what each registered test of study/registration.yaml compares (written again, not imported): the per-seed
contrast, its one-sample t (scipy), Holm over the primary family with both directions of B1 and B2, the
secondary family gated on every primary row being decided, B7's intersection-union p. Every tested row's
estimate, interval, raw and adjusted p, family and verdict category must agree with the table, and the
Markdown must name the commit that last changed the registration. It imports neither bnonly nor torch, so it
is also the committed study table's check in tests/test_recompute_paper_claims.py. The tests below run the claims
stage on synthetic cells (bnonly.paper.synthetic, never measurements).
"""
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from claims_recompute import aggregate, claims_stage

PROJECT = Path(__file__).resolve().parents[1]
ALPHA = 0.05
R14, R32, WRN = 'cifar_resnet14-bn_only', 'cifar_resnet32-bn_only', 'cifar_wide_resnet14_2-bn_only'
LOW, HIGH = '', '-e12'          # 1,000 steps: the recipe's 4 epochs; 3,000 steps: 12 epochs
EXCESS, ACCURACY = 'excess', 'accuracy'
# id -> (a, b, outcome, budgets): [a - b] at each budget, the first minus the second (an interaction); B7: None.
TESTS = {'B1': (R32, R14, EXCESS, (HIGH, LOW)), 'B2': (WRN, R14, EXCESS, (HIGH, LOW)),
         'B3': (R32, R14, EXCESS, (HIGH,)), 'B4': (WRN, R14, EXCESS, (HIGH,)),
         'B5': (R32, R14, ACCURACY, (HIGH, LOW)), 'B6': (WRN, R14, ACCURACY, (HIGH, LOW)), 'B7': None}
PRIMARY = ('B1', 'B2')
TESTED = {'holds', 'does not hold', 'contradicted at this budget', 'not resolvable at this budget'}


def values(frame: pd.DataFrame, run: str, outcome: str, threshold: str = 't0p1') -> pd.Series:
    def metric(source, name):
        rows = frame[(frame.run == run) & (frame.source == source) & (frame.metric == name)]
        return rows.groupby('seed')['value'].first().astype(float)
    if outcome == ACCURACY:
        return metric('train', 'test_accuracy')
    return metric('analysis', f'gamma.frac_abs_below.{threshold}') - \
        metric('analysis', f'gamma_init.frac_abs_below.{threshold}')


def contrast(frame: pd.DataFrame, number: str) -> pd.Series:
    a, b, outcome, budgets = TESTS[number]
    gaps = [values(frame, a + budget, outcome) - values(frame, b + budget, outcome) for budget in budgets]
    return (gaps[0] - gaps[1] if len(gaps) == 2 else gaps[0]).dropna()


def t_test(x: pd.Series) -> dict:
    x = x.to_numpy(dtype=float)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return dict(estimate=x.mean(), low=low, high=high, n=len(x),
                p=stats.ttest_1samp(x, 0, alternative='greater').pvalue,
                opposite=stats.ttest_1samp(x, 0, alternative='less').pvalue)


def holm(ps: list[float]) -> list[float]:
    order = np.argsort(ps)
    adjusted, running = [0.0] * len(ps), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[index]))
        adjusted[index] = running
    return adjusted


def recompute(frame: pd.DataFrame) -> dict[str, dict]:
    """Every registered test: its deciding finding, raw p, adjusted p of its claim and of its opposite."""
    rows = {number: t_test(contrast(frame, number)) for number in TESTS if number != 'B7'}
    cells = [t_test((values(frame, net + budget, EXCESS)).dropna()) for budget in (LOW, HIGH) for net in (R14, R32, WRN)]
    deciding = max(cells, key=lambda cell: cell['p'])
    rows['B7'] = dict(deciding, opposite=math.nan)          # one-sided, registered so: no opposite in the family
    primary = [(n, side) for n in PRIMARY for side in ('p', 'opposite')]
    adjusted = dict(zip(primary, holm([rows[n][side] for n, side in primary])))
    gate = max(min(adjusted[n, 'p'], adjusted[n, 'opposite']) for n in PRIMARY)
    secondary = [(n, side) for n in TESTS if n not in PRIMARY for side in ('p', 'opposite')
                 if not math.isnan(rows[n][side])]
    adjusted.update(zip(secondary, (max(p, gate) for p in holm([rows[n][side] for n, side in secondary]))))
    for number, row in rows.items():
        row['p_holm'] = adjusted[number, 'p']
        row['p_opposite_holm'] = adjusted.get((number, 'opposite'), math.nan)
        row['verdict'] = ('holds' if row['p_holm'] <= ALPHA else 'contradicted at this budget'
                          if row['p_opposite_holm'] <= ALPHA else 'not resolvable at this budget')
        row['family'] = 'primary' if number in PRIMARY else 'secondary'
    return rows


def registration_commit() -> str:
    done = subprocess.run(['git', 'log', '-1', '--format=%H', '--', 'study/registration.yaml'], cwd=PROJECT,
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else ''


def check(cells_csv: Path, claims_csv: Path, claims_md: Path) -> list[str]:
    """Every disagreement between the recomputed and the written table, as lines; [] when they agree."""
    frame = pd.read_csv(cells_csv)
    table = pd.read_csv(claims_csv, dtype={'number': str}).set_index('number')
    rows = recompute(frame)
    problems = []
    tested = set(table.index[table.verdict.isin(TESTED)])
    if tested != set(rows):
        problems.append(f'tested rows: the table has {sorted(tested)}, the registration {sorted(rows)}')
    for number, ours in rows.items():
        if number not in table.index:
            continue
        row = table.loc[number]
        for what, column in (('estimate', 'estimate'), ('low', 'ci_low'), ('high', 'ci_high'), ('p', 'p_raw'),
                             ('p_holm', 'p_holm'), ('p_opposite_holm', 'p_opposite_holm')):
            theirs = float(row[column])
            if not (math.isnan(ours[what]) and math.isnan(theirs)) and \
                    not math.isclose(ours[what], theirs, rel_tol=1e-6, abs_tol=1e-12):
                problems.append(f'row {number}: {column} recomputed {ours[what]:.6g}, table {theirs:.6g}')
        if str(row.n) != str(ours['n']):
            problems.append(f'row {number}: n {row.n}, recomputed {ours["n"]}')
        if row.family != ours['family']:
            problems.append(f'row {number}: family {row.family!r}, registered {ours["family"]!r}')
        if row.verdict != ours['verdict']:
            problems.append(f'row {number}: verdict {row.verdict!r}, recomputed {ours["verdict"]!r}')
    commit = registration_commit()
    if commit and f'last changed in commit {commit}' not in claims_md.read_text():
        problems.append(f'claims.md does not name the registration\'s commit {commit}')
    return problems


# ------------------------------------------------------------------------------- on synthetic cells
def study_grid() -> dict:
    from bnonly.config import load_params
    return load_params(PROJECT / 'study' / 'grid.yaml')['grid']


def write_study_cells(grid: dict, root: Path, seed: int = 0) -> None:
    """Stand-in results for every cell of the study grid, as bnonly.paper.synthetic writes the paper grid's, each
    trained cell with its own budget's epochs (its history one row per epoch)."""
    from bnonly.paper.grid import analysed_cells, train_cells
    from bnonly.paper.synthetic import write_analysis, write_cell
    rng = np.random.default_rng(seed)
    for cell in train_cells(grid):
        write_cell(cell, root, epochs=cell.epochs or grid['train']['epochs'], rng=rng)
    for cell in analysed_cells(grid):
        write_analysis(cell, root, thresholds=tuple(grid['analyze']['thresholds']), rng=rng)


def aggregated(grid: dict, tmp_path: Path, effect: float) -> Path:
    """The study grid's aggregated tables from synthetic cells, ``effect`` added to the share of |γ| < 0.1 of
    ResNet-32 and WRN-14-2 at 3,000 steps (a built-in network x budget interaction) and a spread to every
    per-seed value the tests read."""
    write_study_cells(grid, tmp_path / 'cells')
    out = tmp_path / 'reports'
    frame = aggregate(grid, tmp_path / 'cells', out)
    spread = frame.metric.str.startswith(('gamma.frac_abs_below', 'gamma_init.frac_abs_below', 'test_accuracy'))
    frame.loc[spread, 'value'] += np.random.default_rng(1).normal(0, 0.005, len(frame))[spread.to_numpy()]
    boosted = frame.run.isin([R32 + HIGH, WRN + HIGH]) & (frame.metric == 'gamma.frac_abs_below.t0p1')
    frame.loc[boosted, 'value'] += effect
    frame.to_csv(out / 'grid_cells.csv', index=False)
    return out


def run_claims(out: Path) -> pd.DataFrame:
    assert claims_stage('study', out) == 0
    assert check(out / 'grid_cells.csv', out / 'claims.csv', out / 'claims.md') == []
    return pd.read_csv(out / 'claims.csv', dtype={'number': str}).set_index('number')


def test_with_a_built_in_interaction_the_gate_opens_and_scipy_agrees(tmp_path):
    table = run_claims(aggregated(study_grid(), tmp_path, effect=0.2))
    assert table.loc[['B1', 'B2'], 'verdict'].tolist() == ['holds', 'holds']
    assert table.loc[['B3', 'B4', 'B7'], 'verdict'].tolist() == ['holds'] * 3      # the gate opened
    assert table.loc['B1', 'estimate'] > 0.05 and table.loc['B1', 'n'] == '4'
    markdown = (tmp_path / 'reports' / 'claims.md').read_text()
    for number in ('B1@0.01', 'B7@0.01'):                   # reported, not tested
        assert table.loc[number, 'verdict'] == 'exploratory' and not math.isnan(table.loc[number, 'estimate'])
    assert table.loc['C14@1,000', 'verdict'] == 'not measured'   # the all-trained cells are opt-in
    assert re.search(r'last changed in commit ([0-9a-f]{40}|unknown \(no git\)|not committed)', markdown)


def test_without_an_interaction_the_secondary_family_stays_shut(tmp_path):
    table = run_claims(aggregated(study_grid(), tmp_path, effect=0.0))
    assert set(table.loc[['B1', 'B2'], 'verdict']) == {'not resolvable at this budget'}
    # B7's raw p is small (BN-only makes small γ in every synthetic cell), yet no secondary row is decided.
    assert table.loc['B7', 'p_raw'] < 0.01
    assert set(table.loc[['B3', 'B4', 'B5', 'B6', 'B7'], 'verdict']) == {'not resolvable at this budget'}


def test_the_check_catches_a_changed_number(tmp_path):
    out = aggregated(study_grid(), tmp_path, effect=0.2)
    table = run_claims(out).reset_index()
    for column in ('estimate', 'p_raw', 'p_holm'):
        changed = table.copy()
        changed.loc[changed.number == 'B2', column] += 1e-3
        changed.to_csv(tmp_path / 'changed.csv', index=False)
        assert any(p.startswith(f'row B2: {column}') for p in check(out / 'grid_cells.csv', tmp_path / 'changed.csv',
                                                                    out / 'claims.md'))
