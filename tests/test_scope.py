"""The scope set against its registration (scope/registration.yaml), and its claims table recomputed with scipy.

The grid is the default grid's recipe with the registered cells and seeds; the table's rows are the paper table's
rows the registration names, restricted to its networks, in one Holm family with both directions. ``check``
restates that design from the registration alone (it imports neither bnonly nor torch, so it is also the committed
scope table's check in tests/claims_recompute.py): per registered network the paired differences and their
one-sided t (row 18 on logits), the intersection-union p, Holm over every row and its contradicting test. The
synthetic tests run the claims stage on stand-in cells (bnonly.paper.synthetic, never measurements).
"""
import math
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from claims_recompute import ALPHA, PROJECT, aggregate, claims_stage, holm
from test_recompute_paper_claims import SHARE, Cells, label, paired_row

REGISTRATION = 'scope/registration.yaml'
OWN = ('runs', 'seeds', 'analyze_runs')     # what the scope grid sets differently from grid.yaml, besides thresholds
TESTED = {'holds', 'does not hold', 'contradicted at this budget', 'not resolvable at this budget'}


def registration() -> dict:
    return yaml.safe_load((PROJECT / REGISTRATION).read_text())


def recompute(cells: Cells) -> dict[str, list[tuple[str, dict]]]:
    """Each registered row's per-network findings on its registered networks only."""
    rows = {}
    for test in registration()['tests']:
        wanted = {label(arch) for arch in test['networks']}
        found = [(name, finding) for name, finding in paired_row(cells, test['row']) if name in wanted]
        if found:
            rows[test['row']] = found
    return rows


def adjusted(rows: dict) -> dict[str, tuple[float, float]]:
    """(Holm-adjusted claim p, smallest adjusted contradicting p) per row: one family, both directions."""
    family = []
    for number, found in rows.items():
        family.append((number, True, max(f['p'] for _, f in found)))
        family += [(number, False, p) for _, f in found for p in f['opposite']]
    result = {number: [math.nan, math.inf] for number in rows}
    for (number, own, _), p in zip(family, holm([p for *_, p in family])):
        if own:
            result[number][0] = p
        else:
            result[number][1] = min(result[number][1], p)
    return {number: tuple(pair) for number, pair in result.items()}


def registration_commit() -> str:
    done = subprocess.run(['git', 'log', '-1', '--format=%H', '--', REGISTRATION], cwd=PROJECT, capture_output=True,
                          text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else ''


def check(cells_csv, claims_csv, claims_md) -> list[str]:
    """Every disagreement between the recomputed and the written table, as lines; [] when they agree."""
    rows = recompute(Cells(pd.read_csv(cells_csv)))
    table = pd.read_csv(claims_csv, dtype={'number': str}).set_index('number')
    problems = []
    tested = set(table.index[table.verdict.isin(TESTED)])
    if tested != set(rows):
        problems.append(f'tested rows: the table has {sorted(tested)}, the registered cells give {sorted(rows)}')
    for number, (claim, opposite) in adjusted(rows).items():
        if number not in table.index:
            continue
        row = table.loc[number]
        name, deciding = max(rows[number], key=lambda item: item[1]['p'])
        if name not in str(row.decided_on):
            problems.append(f'row {number}: decided on {row.decided_on!r}, recomputed {name!r}')
        for what, column in (('estimate', 'estimate'), ('low', 'ci_low'), ('high', 'ci_high'), ('p', 'p_raw')):
            if not math.isclose(deciding[what], float(row[column]), rel_tol=1e-6, abs_tol=1e-12):
                problems.append(f'row {number}: {column} recomputed {deciding[what]:.6g}, table {row[column]}')
        if not math.isclose(claim, float(row.p_holm), rel_tol=1e-6, abs_tol=1e-12):
            problems.append(f'row {number}: p_holm recomputed {claim:.6g}, table {row.p_holm}')
        if str(row.n) != str(deciding['n']) or row.family != 'primary':
            problems.append(f'row {number}: n {row.n} in family {row.family!r}, recomputed {deciding["n"]} in '
                            f'\'primary\'')
        verdicts = ({'holds'} if claim <= ALPHA else {'does not hold', 'contradicted at this budget'}
                    if opposite <= ALPHA else {'not resolvable at this budget'})
        if row.verdict not in verdicts:
            problems.append(f'row {number}: verdict {row.verdict!r}, recomputed {" or ".join(sorted(verdicts))}')
    commit = registration_commit()
    if commit and f'last changed in commit {commit}' not in claims_md.read_text():
        problems.append(f'claims.md does not name the registration\'s commit {commit}')
    return problems


# ------------------------------------------------------------------------------- the grid and the table
@pytest.fixture(scope='module')
def scope():
    from bnonly.config import load_params
    return load_params(PROJECT / 'scope' / 'grid.yaml')['grid']


def test_the_scope_set_trains_with_the_default_grids_recipe(scope):
    from bnonly.config import load_params
    default = load_params(PROJECT / 'grid.yaml')['grid']
    assert {k: v for k, v in scope.items() if k not in (*OWN, 'analyze')} == \
        {k: v for k, v in default.items() if k not in (*OWN, 'analyze')}
    strip = lambda analyze: {k: v for k, v in analyze.items() if k != 'thresholds'}  # noqa: E731
    assert strip(scope['analyze']) == strip(default['analyze'])
    assert scope['analyze']['thresholds'] == [0.1]             # the one threshold the rows test


def test_the_grid_holds_exactly_the_registered_cells(scope):
    from bnonly.paper.grid import analysed_cells, train_cells
    registered = registration()
    fresh = set(registered['seeds'])
    for other in ('grid.yaml', 'study/grid.yaml', 'extensions/grid.yaml'):
        used = yaml.safe_load((PROJECT / other).read_text())['grid']['seeds']
        assert not fresh & set(used), f'seeds {sorted(fresh & set(used))} are also {other}\'s'
    assert scope['seeds'] == registered['seeds'] and len(scope['seeds']) == registered['n']
    runs = [f'{arch}-{trainable}' for arch, trainables in registered['cells'].items() for trainable in trainables]
    assert sorted(scope['runs']) == sorted(runs)
    assert sorted(scope['analyze_runs']) == sorted(registered['analysed'])
    assert len(train_cells(scope)) == len(runs) * registered['n']
    assert len(analysed_cells(scope)) == len(registered['analysed']) * registered['n']
    # every registered row has its cells on every network it names
    for test in registered['tests']:
        for arch in test['networks']:
            assert any(run.startswith(f'{arch}-') for run in runs), (test['row'], arch)


def test_the_table_is_the_papers_rows_on_the_registered_networks():
    from bnonly.claims_tables import TABLES
    from bnonly.paper.paper_claims import CLAIMS
    from bnonly.reporting.claim import PRIMARY
    from bnonly.scope.claims import ALPHA as TABLE_ALPHA, TABLE
    registered = registration()
    assert TABLES['scope'] is TABLE and TABLE_ALPHA == registered['alpha'] and TABLE.both_directions
    assert [claim.number for claim in TABLE.claims] == [test['row'] for test in registered['tests']]
    paper = {claim.number: claim for claim in CLAIMS}
    for claim, test in zip(TABLE.claims, registered['tests']):
        assert claim.family == PRIMARY and claim.select.archs == tuple(test['networks'])
        original = paper[claim.number]
        assert (claim.test, claim.planning, claim.what) == (original.test, original.planning, original.what)
        assert claim.claim == original.claim or original.claim.startswith('...'), claim.number
        assert claim.select.a == original.select.a and claim.select.b == original.select.b


# ------------------------------------------------------------------------------- on synthetic cells
def _claims(scope, tmp_path, *, extra_network: bool = False) -> pd.DataFrame:
    from bnonly.paper.synthetic import write_grid
    grid = dict(scope)
    if extra_network:       # a ResNet-14 random_k cell the registration does not name for row 6
        grid['runs'] = [*grid['runs'], 'cifar_resnet14-bn_only', 'cifar_resnet14-random_k']
    write_grid(grid, tmp_path / 'cells')
    out = tmp_path / 'reports'
    frame = aggregate(grid, tmp_path / 'cells', out)
    spread = frame.metric.isin(['test_accuracy', SHARE, 'dead_relu.fraction'])
    frame.loc[spread, 'value'] += np.random.default_rng(0).normal(0, 0.01, len(frame))[spread.to_numpy()]
    frame.to_csv(out / 'grid_cells.csv', index=False)
    assert claims_stage('scope', out) == 0
    assert check(out / 'grid_cells.csv', out / 'claims.csv', out / 'claims.md') == []
    return pd.read_csv(out / 'claims.csv', dtype={'number': str}).set_index('number')


def test_every_row_is_tested_on_exactly_its_registered_networks(scope, tmp_path):
    table = _claims(scope, tmp_path, extra_network=True)
    assert set(table.verdict) <= TESTED and list(table.index) == ['6', '7', '8', '14', '18']
    assert table.loc['6', 'scope'] == 'ResNet-32, WRN-14-2'       # not ResNet-14, though its cells exist
    assert table.loc['7', 'scope'] == 'WRN-14-2 only'
    assert (table.loc[['8', '14', '18'], 'scope'] == ['ResNet-14 only', 'ResNet-32 only', 'ResNet-32 only']).all()
    assert (table.n.astype(int) == len(scope['seeds'])).all()
    markdown = (tmp_path / 'reports' / 'claims.md').read_text()
    assert re.search(r'last changed in commit ([0-9a-f]{40}|unknown \(no git\)|not committed)', markdown)


def test_the_check_catches_a_changed_number(scope, tmp_path):
    table = _claims(scope, tmp_path).reset_index()
    out = tmp_path / 'reports'
    for column, change in (('estimate', 0.001), ('p_holm', 1e-3)):
        changed = table.copy()
        changed.loc[changed.number == '6', column] += change
        changed.to_csv(tmp_path / 'changed.csv', index=False)
        assert any(p.startswith(f'row 6: {column}') for p in check(out / 'grid_cells.csv', tmp_path / 'changed.csv',
                                                                   out / 'claims.md'))
