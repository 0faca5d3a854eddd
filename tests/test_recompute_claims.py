"""Every committed claims table, recomputed from its pipeline's committed per-seed cells with scipy alone.

An independent check of the claims code (bnonly.paper.claims, bnonly.reporting): for each table named in
bnonly.claims_tables (``PIPELINES`` restates them, and a test keeps the two in step), this module reads only its
pipeline's reports/grid_cells.csv, reports/claims.csv and reports/claims.md, and restates here what each tested
row compares (the pre-registered design, written again, not imported). Every tested row's raw p, estimate and
interval, the Holm-adjusted p (the paper's serial gatekeeping, the extensions' one family), the verdict category
and, for the paper's table, the sensitivity line under it are recomputed with numpy and scipy.stats and
compared. The check itself imports neither bnonly nor torch (a subprocess proves it). A table whose per-seed
cells are not committed yet is skipped, naming the command that writes them.
"""
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from test_study_claims import check as check_study

PROJECT = Path(__file__).resolve().parents[1]
# Every claims table (bnonly.claims_tables): its pipeline's reports folder, and the commands that write its per-seed
# cells and then the table.
PIPELINES = {'paper': ('reports', 'dvc repro grid_aggregate', 'dvc repro claims'),
             'extensions': ('extensions/reports', 'dvc repro extensions/dvc.yaml:grid_aggregate',
                            'dvc repro extensions/dvc.yaml:claims'),
             'study': ('study/reports', 'dvc repro study/dvc.yaml:grid_aggregate', 'dvc repro study/dvc.yaml:claims')}


def files(table: str) -> tuple[Path, Path, Path]:
    """The per-seed cells, the claims CSV and the claims Markdown of a table's pipeline."""
    folder = PROJECT / PIPELINES[table][0]
    return folder / 'grid_cells.csv', folder / 'claims.csv', folder / 'claims.md'

ALPHA, MARGIN, THRESHOLD = 0.05, 0.01, 't0p1'
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


def holm(ps: list[float]) -> list[float]:
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted, running = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


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


def _committed(table: str):
    # The per-seed cells are committed by the run that writes the table; until a checkout has them, the check of
    # the committed table cannot run (the synthetic tests below exercise each check on every run).
    folder, aggregate, claims = PIPELINES[table]
    if not files(table)[0].is_file():
        pytest.skip(f'{folder}/grid_cells.csv is not in the checkout: `{aggregate}` writes it from the trained '
                    f'cells (`{claims}` then rewrites {folder}/claims.md and {folder}/claims.csv from it); commit '
                    f'all three')


def test_every_registered_table_is_checked():
    from bnonly.claims_tables import TABLES
    assert set(PIPELINES) == set(TABLES) == set(CHECKS)
    for name, table in TABLES.items():
        assert table.aggregate == PIPELINES[name][1], name


@pytest.mark.parametrize('table', sorted(PIPELINES))
def test_the_committed_table_recomputes_from_the_committed_cells(table):
    _committed(table)
    assert CHECKS[table](*files(table)) == []


@pytest.mark.parametrize('table', sorted(PIPELINES))
def test_the_check_needs_neither_bnonly_nor_torch(table):
    _committed(table)
    script = ('import sys; sys.path.insert(0, sys.argv[1]); import test_recompute_claims as t; '
              f'problems = t.CHECKS[{table!r}](*t.files({table!r})); '
              'assert "torch" not in sys.modules and "bnonly" not in sys.modules, "imported torch or bnonly"; '
              'assert problems == [], problems')
    done = subprocess.run([sys.executable, '-c', script, str(Path(__file__).parent)], capture_output=True,
                          text=True, cwd=PROJECT)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_check_catches_a_changed_number(tmp_path):
    """The claims stage on synthetic cells (bnonly.paper.synthetic, never measurements) passes the check; a
    changed estimate, p or verdict in its table does not."""
    from bnonly.config import load_params
    from bnonly.paper import aggregate
    from bnonly.paper.synthetic import write_grid
    import runpy

    grid = load_params(PROJECT / 'grid.yaml')['grid']
    write_grid(grid, tmp_path / 'cells')
    out = tmp_path / 'reports'
    aggregate.write(grid, tmp_path / 'cells', cells_csv=out / 'grid_cells.csv', summary_csv=out / 'summary.csv',
                    bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                    summary_json_path=out / 'summary.json')
    frame = pd.read_csv(out / 'grid_cells.csv')
    noise = np.random.default_rng(0).normal(0, 0.01, len(frame))      # every paired difference gets a spread
    spread = frame.metric.isin(['test_accuracy', SHARE, SHARE_INIT, CLAMPED, CONTROL, 'dead_relu.fraction'])
    frame.loc[spread, 'value'] += noise[spread.to_numpy()]
    frame.to_csv(out / 'grid_cells.csv', index=False)
    main = runpy.run_path(str(PROJECT / 'stages' / 'claims.py'), run_name='claims_stage')['main']
    assert main(['--cells', str(out / 'grid_cells.csv'), '--summary', str(out / 'summary.csv'),
                 '--summary-json', str(out / 'summary.json'), '--out', str(out / 'claims.md'),
                 '--csv', str(out / 'claims.csv')]) == 0
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


# ------------------------------------------------------------------------------------- the extensions' table
# Each row of extensions/reports/claims.csv: (run a, run b, test) on test accuracy, paired by seed. 'above': one-sided
# paired t of a - b > 0; 'estimate': a - b with its 95% interval and a two-sided p, no verdict; 'equivalent': TOST
# within ±MARGIN. EXTENSION_EXPLORATORY rows stay out of the one Holm family (the table has no primary rows).
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


CHECKS = {'paper': check, 'extensions': check_extensions, 'study': check_study}  # the study's: tests/test_study_claims


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
        settings = {'batchnorm_init': 'uniform', 'norm_layer': 'batchnorm', 'weight_init': 'kaiming_normal',
                    'random_k': 2, **variants}
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
