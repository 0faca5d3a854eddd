"""The committed claims table of the paper's claims (reports/), recomputed from the default pipeline's committed
per-seed cells with scipy alone; and the budget study's table (study/reports/), which re-tests the paper's claims
9, 10, 13, 15 and 16 at longer budgets, by the check in tests/test_study_claims.py.

An independent check of the claims code (bnonly.paper.claims, bnonly.reporting): it reads only the pipeline's
reports/grid_cells.csv, reports/claims.csv and reports/claims.md, and restates here what each tested row compares
(the pre-registered design, written again, not imported). Every tested row's raw p, estimate and interval, the
Holm-adjusted p (the paper's serial gatekeeping), the verdict category and the sensitivity line under the table
are recomputed with numpy and scipy.stats and compared. The check itself imports neither bnonly nor torch (a
subprocess proves it). tests/test_recompute_committed.py runs every table's check on the committed files.
"""
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from claims_recompute import ALPHA, PROJECT, aggregate, claims_stage, holm, one_sample

THRESHOLD = 't0p1'
PRIMARY = ('6', '7', '9', '12', '13', '14', '17b', '18')
SHARE, SHARE_INIT = f'gamma.frac_abs_below.{THRESHOLD}', f'gamma_init.frac_abs_below.{THRESHOLD}'
CLAMPED, CONTROL = f'clamped.{THRESHOLD}.delta', f'clamped_random.{THRESHOLD}.delta'
# Rows comparing two runs of each network: (source, (setup, metric) of a, (setup, metric) of b), a setup being the
# run less its network: the trainable set and any variant tokens ('-fixed': γ = 1, β = 0 at init, Figure 1).
PAIRED = {
    '6': ('train', ('bn_only', 'test_accuracy'), ('random_k', 'test_accuracy')),
    '7': ('train', ('bn_only', 'test_accuracy'), ('output_only', 'test_accuracy')),
    '8': ('train', ('bn_output', 'test_accuracy'), ('random_k_output', 'test_accuracy')),
    '11': ('train', ('all-fixed', 'test_accuracy'), ('all_but_bn-fixed', 'test_accuracy')),
    '13': ('analysis', ('bn_only', SHARE), ('bn_only', SHARE_INIT)),
    '14': ('analysis', ('bn_only', SHARE), ('all', SHARE)),
    '17b': ('analysis', ('bn_only', CLAMPED), ('bn_only', CONTROL)),
    '18': ('analysis', ('bn_only', 'dead_relu.fraction'), ('all', 'dead_relu.fraction')),
}
# Rows contrasting two BN-only networks in the block model value ~ network + seed: (source, metric, pair rule).
BLOCKED = {'9': ('train', 'test_accuracy', 'depth'), '10': ('train', 'test_accuracy', 'width'),
           '12': ('train', 'test_accuracy', 'equal_bn'), '15': ('analysis', SHARE, 'depth'),
           '16': ('analysis', SHARE, 'width')}


def label(arch: str) -> str:
    deep, wide = re.fullmatch(r'cifar_resnet(\d+)', arch), re.fullmatch(r'cifar_wide_resnet(\d+)_(\d+)', arch)
    return f'ResNet-{deep[1]}' if deep else f'WRN-{wide[1]}-{wide[2]}' if wide else arch


def depth_width(arch: str) -> tuple[str, int, int] | None:
    deep, wide = re.fullmatch(r'cifar_resnet(\d+)', arch), re.fullmatch(r'cifar_wide_resnet(\d+)_(\d+)', arch)
    return ('deep', int(deep[1]), 1) if deep else ('wide', int(wide[1]), int(wide[2])) if wide else None


class Cells:
    """Cells by run, ``<arch>-<setup>``: a variant run is another experiment than its paper run."""
    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def values(self, source, arch, setup, metric) -> pd.Series:
        f = self.frame
        match = f[(f.run == f'{arch}-{setup}') & (f.source == source) & (f.metric == metric)]
        return match.groupby('seed')['value'].first().astype(float)

    def archs(self, source, setup, metric) -> list[str]:
        f = self.frame
        return sorted(set(f[(f.run == f.arch + '-' + setup) & (f.source == source) & (f.metric == metric)].arch))


def logit(cells: Cells, source, arch, setup, metric) -> pd.Series:
    """The empirical logit of a dead-ReLU fraction: p kept half a channel away from 0 and 1."""
    p = cells.values(source, arch, setup, metric)
    units = cells.values(source, arch, setup, 'dead_relu.units').reindex(p.index)
    half = (0.5 / units).fillna(1e-3)
    p = p.clip(lower=half, upper=1 - half)
    return np.log(p / (1 - p))


def block_model(table: pd.DataFrame, a: str, b: str) -> dict:
    """Two-way ANOVA without interaction (networks x seeds) by hand; the contrast a - b."""
    y = table.dropna()                                   # complete blocks only
    k, s = y.shape[1], y.shape[0]
    values = y.to_numpy().T                             # networks x seeds
    residual = values - values.mean(axis=1, keepdims=True) - values.mean(axis=0, keepdims=True) + values.mean()
    df = (k - 1) * (s - 1)
    mse = (residual ** 2).sum() / df
    difference = float(y[a].mean() - y[b].mean())
    se = math.sqrt(2 * mse / s)
    half = stats.t.ppf(0.975, df) * se
    t = difference / se
    return dict(estimate=difference, low=difference - half, high=difference + half, level=0.95,
                p=stats.t.sf(t, df), opposite=[stats.t.cdf(t, df)], n=s)


def paired_row(cells: Cells, number: str) -> list[tuple[str, dict]]:
    source, (ta, ma), (tb, mb) = PAIRED[number]
    read = logit if number == '18' else (lambda c, *key: c.values(*key))
    found = []
    for arch in cells.archs(source, ta, ma):
        a, b = read(cells, source, arch, ta, ma), read(cells, source, arch, tb, mb)
        shared = a.index.intersection(b.index)
        if len(shared):
            found.append((label(arch), one_sample((a[shared] - b[shared]).to_numpy(), tost=False)))
    return found


def clamping_row(cells: Cells) -> list[tuple[str, dict]]:
    return [(label(arch), one_sample(cells.values('analysis', arch, 'bn_only', CLAMPED).to_numpy(), tost=True))
            for arch in cells.archs('analysis', 'bn_only', CLAMPED)]


def blocked_pair(cells: Cells, source: str, metric: str, rule: str) -> tuple[str, str] | None:
    archs = [a for a in cells.archs(source, 'bn_only', metric) if depth_width(a)]
    if rule == 'depth':
        deep = sorted((a for a in archs if depth_width(a)[0] == 'deep'), key=lambda a: depth_width(a)[1])
        return (deep[-1], deep[0]) if len(deep) > 1 else None
    if rule == 'width':
        family = sorted((a for a in archs if a == 'cifar_resnet14' or depth_width(a)[0] == 'wide'),
                        key=lambda a: depth_width(a)[2])
        return (family[-1], family[0]) if len(family) > 1 else None
    count = {a: cells.values('train', a, 'bn_only', 'batchnorm_params').mean() for a in archs}
    for wide in (a for a in archs if depth_width(a)[0] == 'wide' and depth_width(a)[2] > 1):
        close = [(abs(count[d] / count[wide] - 1), d) for d in archs if depth_width(d)[0] == 'deep']
        close = [c for c in close if c[0] <= 0.25]
        if close:
            return min(close)[1], wide
    return None


def blocked_row(cells: Cells, number: str) -> list[tuple[str, dict]]:
    source, metric, rule = BLOCKED[number]
    pair = blocked_pair(cells, source, metric, rule)
    if pair is None:
        return []
    table = pd.DataFrame({a: cells.values(source, a, 'bn_only', metric)
                          for a in cells.archs(source, 'bn_only', metric)})
    return [(f'{label(pair[0])} − {label(pair[1])}', block_model(table, *pair))]


def recompute(cells: Cells) -> dict[str, list[tuple[str, dict]]]:
    rows = {number: paired_row(cells, number) for number in PAIRED}
    rows |= {number: blocked_row(cells, number) for number in BLOCKED}
    rows['17a'] = clamping_row(cells)
    return {number: found for number, found in rows.items() if found}


def gatekeeping(rows: dict, both_directions: bool) -> dict[str, tuple[float, float]]:
    """(adjusted claim p, smallest adjusted contradicting p) per row: two Holm families, the second floored at
    the largest adjusted primary claim p."""
    first, second = [], []
    for number, found in rows.items():
        claim = max(f['p'] for _, f in found)
        (first if number in PRIMARY else second).append((number, True, claim))
        opposite = [(number, False, p) for _, f in found for p in f['opposite']]
        (first if number in PRIMARY and both_directions else second).extend(opposite)
    adjusted = holm([p for *_, p in first])
    gate = max(p for (_, own, _), p in zip(first, adjusted) if own)
    adjusted += [max(p, gate) for p in holm([p for *_, p in second])]
    result = {number: [math.nan, math.inf] for number in rows}
    for (number, own, _), p in zip(first + second, adjusted):
        if own:
            result[number][0] = p
        else:
            result[number][1] = min(result[number][1], p)
    return {number: tuple(pair) for number, pair in result.items()}


def check(cells_csv: Path, claims_csv: Path, claims_md: Path) -> list[str]:
    """Every disagreement between the recomputed and the committed table, as lines; [] when they agree."""
    cells = Cells(pd.read_csv(cells_csv))
    table = pd.read_csv(claims_csv, dtype={'number': str}).set_index('number')
    rows = recompute(cells)
    problems = []
    tested = set(table.index[table.verdict.isin(['holds', 'does not hold', 'contradicted at this budget',
                                                 'not resolvable at this budget'])])
    if tested != set(rows):
        problems.append(f'tested rows: the table has {sorted(tested)}, the cells give {sorted(rows)}')
    adjusted = gatekeeping(rows, both_directions=False)

    def differs(number, what, ours, theirs, rel=1e-6):
        if not math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-12):
            problems.append(f'row {number}: {what} recomputed {ours:.6g}, table {theirs:.6g}')

    for number, found in rows.items():
        if number not in table.index:
            continue
        row = table.loc[number]
        deciding_label, deciding = max(found, key=lambda item: item[1]['p'])
        if not all(part in str(row.decided_on) for part in deciding_label.split(' − ')):
            problems.append(f'row {number}: decided on {row.decided_on!r}, recomputed {deciding_label!r}')
        for what in ('estimate', 'low', 'high', 'level', 'p'):
            column = {'low': 'ci_low', 'high': 'ci_high', 'level': 'ci_level', 'p': 'p_raw'}.get(what, what)
            differs(number, column, deciding[what], float(row[column]))
        family = 'primary' if number in PRIMARY else 'secondary'
        if row.family != family:
            problems.append(f'row {number}: family {row.family!r}, pre-registered {family!r}')
        claim, opposite = adjusted[number]
        differs(number, 'p_holm', claim, float(row.p_holm))
        # a contradiction reads 'does not hold' at the paper's budget and 'contradicted at this budget' short of it
        verdicts = ({'holds'} if claim <= ALPHA else {'does not hold', 'contradicted at this budget'}
                    if opposite <= ALPHA else {'not resolvable at this budget'})
        if row.verdict not in verdicts:
            problems.append(f'row {number}: verdict {row.verdict!r}, recomputed {" or ".join(sorted(verdicts))}')
    both = gatekeeping(rows, both_directions=True)
    primary = [both[n][0] for n in PRIMARY if n in both]
    held = sum(p <= ALPHA for p in primary)
    line = re.search(r'in the primary family: (\d+) of (\d+) still hold, largest Holm-adjusted p = ([0-9.e-]+)\.',
                     claims_md.read_text())
    if line is None:
        problems.append('reports/claims.md has no sensitivity line')
    else:
        if (int(line[1]), int(line[2])) != (held, len(PRIMARY)):
            problems.append(f'sensitivity: {line[1]} of {line[2]} hold, recomputed {held} of {len(PRIMARY)}')
        if f'{max(primary):.3f}' != line[3]:
            problems.append(f'sensitivity: largest p {line[3]}, recomputed {max(primary):.3f}')
    return problems


def test_the_check_catches_a_changed_number(tmp_path):
    """The claims stage on synthetic cells (bnonly.paper.synthetic, never measurements) passes the check; a
    changed estimate, p or verdict in its table does not."""
    from bnonly.config import load_params
    from bnonly.paper.synthetic import write_grid

    grid = load_params(PROJECT / 'grid.yaml')['grid']
    write_grid(grid, tmp_path / 'cells')
    out = tmp_path / 'reports'
    frame = aggregate(grid, tmp_path / 'cells', out)
    noise = np.random.default_rng(0).normal(0, 0.01, len(frame))      # every paired difference gets a spread
    spread = frame.metric.isin(['test_accuracy', SHARE, SHARE_INIT, CLAMPED, CONTROL, 'dead_relu.fraction'])
    frame.loc[spread, 'value'] += noise[spread.to_numpy()]
    frame.to_csv(out / 'grid_cells.csv', index=False)
    assert claims_stage('paper', out) == 0
    assert check(out / 'grid_cells.csv', out / 'claims.csv', out / 'claims.md') == []
    assert {'9', '11', '12', '13', '17a', '18'} <= set(recompute(Cells(frame)))  # blocked, -fixed, TOST, logit rows
    table = pd.read_csv(out / 'claims.csv', dtype={'number': str})
    for column, change in (('estimate', 0.001), ('p_raw', 1e-3), ('ci_high', 0.001)):
        changed = table.copy()
        changed.loc[changed.number == '9', column] += change
        changed.to_csv(tmp_path / 'changed.csv', index=False)
        assert any(p.startswith(f'row 9: {column}') for p in check(out / 'grid_cells.csv', tmp_path / 'changed.csv',
                                                                   out / 'claims.md'))
    changed = table.copy()
    changed.loc[changed.number == '6', 'verdict'] = 'not resolvable at this budget'
    changed.to_csv(tmp_path / 'changed.csv', index=False)
    assert any(p.startswith('row 6: verdict') for p in check(out / 'grid_cells.csv', tmp_path / 'changed.csv',
                                                             out / 'claims.md'))
