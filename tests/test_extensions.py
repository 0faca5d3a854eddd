"""The extensions pipeline on synthetic aggregated tables: each claim's verdict for a built-in effect (holds,
does not hold, not resolvable, not measured), the secondary family shut while a primary row is open, the four
figures written, and extensions/grid.yaml read by the grid's own loader with every run the figures and claims
name in it."""
import json
import math
import runpy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bnonly.config import load_params
from bnonly.vocabulary import parse_run
from bnonly.extensions import claims, figures, runs
from bnonly.paper import aggregate
from bnonly.paper.aggregate import KEYS, summarize
from bnonly.paper.claims import evaluate
from bnonly.paper.grid import analysed_cells, train_cells
from bnonly.reporting.claims_table import p_text, verdict_text
from bnonly.reporting.verdicts import CONTRADICTED, EXPLORATORY, HOLDS, NOT_MEASURED, UNRESOLVED

PROJECT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
SEED_OFFSET = (0.01, -0.02, 0.005)      # shared by every run of a seed: what pairing by seed removes
JITTER = (0.0, 0.001, -0.001)           # each run's own seed-to-seed noise: small, so clear effects are clear
PROFILE = {'dataset': 'fashion_mnist', 'epochs': 4, 'train_images': 32000, 'steps': 1000, 'seeds': 3,
           'cells_trained': 48, 'cells_analysed': 12}
NORM_COUNT = 1_120                      # ResNet-14's γ and β, and random_k's at k = 2

# Built-in effects, one verdict each (X6's LayerNorm runs are left out: not measured). Every primary row is
# decided (X15 reversed), so the secondary family is open.
ACCURACY = {
    runs.BN_ONLY: 0.80, runs.GAMMA_ONLY: 0.70, runs.BETA_ONLY: 0.60, runs.RANDOM_K: 0.40,      # X1-X4 hold
    runs.NORMS['GroupNorm'][0]: 0.40, runs.NORMS['GroupNorm'][1]: 0.60,                         # X5 reversed
    runs.VIT_NORM_ONLY: 0.75, runs.VIT_RANDOM_K: 0.50, runs.VIT_OUTPUT_ONLY: 0.65, runs.VIT_ALL: 0.88,  # X7-X9
    runs.RANDOM_K1: 0.30, runs.OUTPUT_ONLY: 0.70,                           # X13, X14 hold; X15 reversed
}
# Per-seed offsets from bn_only (X10-X12): well inside ±1 point, 5 points below, noisy around 0 (X10 and X11 are
# estimates without a verdict; X12 the equivalence test).
FROM_BN_ONLY = {f'{runs.BN_ONLY}-fixed': (0.0005, -0.0004, 0.0001),
                f'{runs.BN_ONLY}-orthogonal': (-0.05, -0.051, -0.049),
                f'{runs.BN_ONLY}-binary': (0.03, -0.04, 0.005)}
EXPECTED = {'X1': HOLDS, 'X2': HOLDS, 'X3': HOLDS, 'X13': HOLDS, 'X14': HOLDS, 'X15': CONTRADICTED,
            'X4': EXPLORATORY, 'X5': CONTRADICTED, 'X6': NOT_MEASURED, 'X7': HOLDS, 'X8': HOLDS, 'X9': HOLDS,
            'X10': EXPLORATORY, 'X11': EXPLORATORY, 'X12': UNRESOLVED}
SECONDARY = ('X5', 'X7', 'X8', 'X9', 'X12')     # the measured secondary rows


def cell_rows(run: str, metric: str, values, *, source='train') -> list[dict]:
    """One run's metric per seed, in results/grid_cells.csv's columns (bnonly.paper.aggregate.KEYS)."""
    arch, trainable, variants = parse_run(run)
    settings = {'norm_init': 'uniform', 'norm_layer': 'batchnorm', 'weight_init': 'kaiming_normal',
                'k': 2, **variants}
    return [{**{key: settings.get(key) for key in KEYS}, 'arch': arch, 'trainable': trainable,
             'seed': seed, 'run': run, 'source': source, 'metric': metric, 'value': value}
            for seed, value in zip(SEEDS, values)]


def accuracies(base: float, scale: float) -> list[float]:
    """Per seed: the base, the seed's shared offset and this run's own jitter (``scale`` x JITTER)."""
    return [base + offset + scale * jitter for offset, jitter in zip(SEED_OFFSET, JITTER)]


@pytest.fixture(scope='module')
def cells() -> pd.DataFrame:
    rows = []
    # A different jitter scale per run, so that every paired difference has some spread (a t test needs it).
    table = {run: accuracies(base, 1 + index) for index, (run, base) in enumerate(ACCURACY.items())}
    bn_only = table[runs.BN_ONLY]
    table |= {run: [a + d for a, d in zip(bn_only, deltas)] for run, deltas in FROM_BN_ONLY.items()}
    for run, values in table.items():
        rows += cell_rows(run, 'test_accuracy', values)
        half = parse_run(run)[1] in ('gamma_only', 'beta_only') or run == runs.RANDOM_K1
        count = NORM_COUNT // 2 if half else 650 if 'output_only' in run else NORM_COUNT
        rows += cell_rows(run, 'trainable_params', [count] * len(SEEDS))
    return pd.DataFrame(rows)


@pytest.fixture(scope='module')
def history() -> pd.DataFrame:
    """The share of |γ| < 0.1 after each of 4 epochs; the last epoch's is 0.1 x (4 + run index)."""
    rows = []
    for index, (_, run) in enumerate(runs.GAMMA_INITS + runs.WEIGHT_INITS[1:]):
        for seed in SEEDS:
            rows += [dict(run=run, seed=seed, epoch=epoch, test_accuracy=None,
                          gamma_frac_abs_below_t0p1=0.1 * (epoch + index) + 0.001 * seed) for epoch in range(1, 5)]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------- claims
def all_claims(cells: pd.DataFrame, profile: dict = PROFILE):
    """The extensions' table on per-seed cells, through the evaluator every table shares."""
    return evaluate(claims.TABLE, claims.TABLE.results(summarize(cells), profile, cells))


def test_each_claim_gets_the_verdict_its_built_in_effect_asks_for(cells):
    table = {row.number: row for row in all_claims(cells)}
    assert {number: row.verdict for number, row in table.items()} == EXPECTED
    assert 'cifar_resnet14-norm_only-layernorm' in table['X6'].reason
    assert 'trainable parameters 1,120 vs 1,120 (equal)' in table['X4'].ours
    assert 'trainable parameters 1,120 vs 560' in table['X1'].ours
    assert table['X5'].p_opposite_holm <= 0.05
    assert verdict_text(table['X5']).startswith('**reversed at 1,000 steps** (ResNet-14 (GroupNorm) only;')
    assert 'TOST' in table['X12'].test and '±1 point' in table['X12'].test
    assert '90% CI, unadjusted, the interval the TOST decides by' in table['X12'].ours
    assert 'one-sided (> 0), df=2' in table['X3'].test
    assert 'trainable parameters 560 vs 560 (equal)' in table['X13'].ours
    assert table['X15'].p_opposite_holm <= 0.05 and table['X15'].family == 'primary'
    assert table['X12'].seeds_needed is None or table['X12'].seeds_needed > 3
    # X4 is exploratory: its one-sided p unadjusted, out of the family; X10, X11 two-sided estimates
    assert 'row 6' in table['X4'].reason and p_text(table['X4']).startswith('one-sided ')
    for number in ('X10', 'X11'):
        assert 'two-sided, df=2' in table[number].test and '95% CI, unadjusted' in table[number].ours
        assert p_text(table[number]).startswith('two-sided ') and math.isnan(table[number].p_holm)
    orthogonal = table['X11'].findings[0].outcome
    assert orthogonal.ci_high < -0.04 and orthogonal.p < 0.05   # 5 points below, shown, not decided
    for family in ('primary', 'secondary'):     # both directions of every tested row in its family
        measured = [row for row in table.values() if row.family == family and row.verdict != NOT_MEASURED]
        assert {row.family_size for row in measured} == {sum(1 + len(row.opposite_raw) for row in measured)}
    assert [n for n, row in table.items() if row.family == 'secondary' and row.verdict != NOT_MEASURED] == \
        list(SECONDARY)


def test_the_secondary_family_stays_shut_while_a_primary_row_is_open(cells):
    """β only and output only made equal up to noise: X15 stays open, so no secondary row is decided, however
    clear its effect (X5's reversal and X7-X9's gaps are as large as in the test above)."""
    beta = cells[(cells.run == runs.BETA_ONLY) & (cells.metric == 'test_accuracy')].set_index('seed').value
    noise = dict(zip(SEEDS, (0.01, -0.012, 0.003)))
    output = (cells.run == runs.OUTPUT_ONLY) & (cells.metric == 'test_accuracy')
    open_cells = cells.copy()
    open_cells.loc[output, 'value'] = [beta[seed] + noise[seed] for seed in cells.loc[output, 'seed']]
    table = {row.number: row for row in all_claims(open_cells)}
    assert table['X15'].verdict == UNRESOLVED
    assert all(table[n].verdict == EXPECTED[n] for n in ('X1', 'X2', 'X3', 'X13', 'X14'))
    assert {table[n].verdict for n in SECONDARY} == {UNRESOLVED}


def test_claims_pair_by_seed(cells):
    # Seed offsets up to five times the effect, shared by both runs of a seed: paired, X1 still holds.
    swing = {0: 0.0, 1: 0.5, 2: -0.4}
    shifted = cells.assign(value=cells.value + cells.seed.map(swing).where(cells.metric == 'test_accuracy', 0))
    row = all_claims(shifted)[0]
    assert row.number == 'X1' and row.verdict == HOLDS


def test_the_claims_stage_writes_markdown_and_csv(cells, tmp_path):
    cells.to_csv(tmp_path / 'cells.csv', index=False)
    summarize(cells).to_csv(tmp_path / 'summary.csv', index=False)
    (tmp_path / 'summary.json').write_text(json.dumps({'profile': PROFILE}))
    main = runpy.run_path(str(PROJECT / 'stages' / 'claims.py'), run_name='test')['main']
    assert main(['--table', 'extensions', '--cells', str(tmp_path / 'cells.csv'), '--summary',
                 str(tmp_path / 'summary.csv'), '--summary-json', str(tmp_path / 'summary.json'),
                 '--out', str(tmp_path / 'claims.md'), '--csv', str(tmp_path / 'claims.csv')]) == 0
    text = (tmp_path / 'claims.md').read_text()
    assert text.count('\n| X') == len(claims.CLAIMS) and '1,000 SGD steps per cell, 3 seeds' in text
    table = pd.read_csv(tmp_path / 'claims.csv')
    assert dict(zip(table.number, table.verdict)) == EXPECTED and 'why_asked' in table


# -------------------------------------------------------------------------------------------- figures
@pytest.mark.parametrize('name', sorted(figures.FIGURES))
def test_each_figure_is_written(name, cells, history, tmp_path):
    paths = figures.draw(name, summarize(cells), PROFILE, {'dpi': 40}, tmp_path / name, history=history)
    assert [p.suffix for p in paths] == ['.png', '.pdf'] and all(p.stat().st_size > 1000 for p in paths)


def test_a_figure_without_its_runs_still_draws(tmp_path):
    empty = pd.DataFrame(columns=['run', 'source', 'metric', 'mean', 'ci95', 'n'])
    assert figures.draw('E3', empty, PROFILE, {'dpi': 40}, tmp_path / 'E3')[0].stat().st_size > 0


def test_the_share_of_small_gamma_is_the_last_epochs_mean_and_interval(history):
    stat = figures.final_small_gamma(history, runs.BN_ONLY)
    assert stat.n == 3 and stat.mean == pytest.approx(0.4 + 0.001)
    assert stat.ci95 == pytest.approx(4.303 * 0.001 / 3 ** 0.5, rel=1e-3)   # t(0.975, 2) x sd / sqrt(n)
    assert figures.final_small_gamma(history, f'{runs.BN_ONLY}-binary').mean == pytest.approx(0.8 + 0.001)


def test_the_figures_stage_reads_the_aggregated_files(cells, history, tmp_path):
    summarize(cells).to_csv(tmp_path / 'summary.csv', index=False)
    history.to_csv(tmp_path / 'history.csv', index=False)
    (tmp_path / 'summary.json').write_text(json.dumps({'profile': PROFILE}))
    (tmp_path / 'grid.yaml').write_text('figures: {dpi: 50}\n')
    main = runpy.run_path(str(PROJECT / 'stages' / 'figures.py'), run_name='test')['main']
    assert main(['--table', 'extensions', '--figure', 'E2', '--summary', str(tmp_path / 'summary.csv'),
                 '--summary-json', str(tmp_path / 'summary.json'), '--history', str(tmp_path / 'history.csv'),
                 '--params', str(tmp_path / 'grid.yaml'), '--out', str(tmp_path / 'E2')]) == 0
    assert (tmp_path / 'E2.png').stat().st_size > 1000
    with pytest.raises(SystemExit):     # a figure of the other table
        main(['--table', 'extensions', '--figure', '4', '--out', str(tmp_path / 'figure4')])
    assert main(['--table', 'extensions', '--figure', 'E4', '--summary', str(tmp_path / 'summary.csv'),
                 '--summary-json', str(tmp_path / 'summary.json'), '--params', str(tmp_path / 'grid.yaml'),
                 '--out', str(tmp_path / 'E4')]) == 1     # E4 reads the histories: an error without them


# ----------------------------------------------------------------------------------------------- grid
@pytest.fixture(scope='module')
def grid() -> dict:
    return load_params(PROJECT / 'extensions' / 'grid.yaml')['grid']   # names and variant tokens checked


def test_the_extensions_grid_parses_and_names_every_run_it_is_read_for(grid):
    cells, seeds = train_cells(grid), len(grid['seeds'])
    assert len(cells) == 18 * seeds and len(analysed_cells(grid)) == 4 * seeds
    assert [cell.run for cell in cells[::seeds]] == list(grid['runs'])      # each run reads back as written
    assert set(runs.ALL_RUNS) == set(grid['runs'])
    assert {run for claim in claims.CLAIMS for run in (claim.select.a, claim.select.b)} <= set(grid['runs'])
    variants = {cell.run: dict(cell.variants) for cell in cells}
    assert variants['cifar_resnet14-norm_only-groupnorm'] == {'norm_layer': 'groupnorm'}
    assert variants['cifar_resnet14-bn_only-fixed'] == {'norm_init': 'fixed'}
    assert variants['cifar_resnet14-bn_only-binary'] == {'weight_init': 'binary'}
    assert variants[runs.RANDOM_K1] == {'k': 1}
    assert grid['model']['k'] == 2


def test_the_extensions_grid_trains_with_the_paper_grids_recipe(grid):
    paper = yaml.safe_load((PROJECT / 'grid.yaml').read_text())['grid']
    for section in ('dataset', 'data', 'model', 'train', 'analyze'):
        assert grid[section] == paper[section], section


def write_cells(grid: dict, root: Path) -> None:
    """Stand-in files for every cell of ``grid``, as the train and analyze stages write them (made-up numbers),
    each config.yaml recording the settings its run's variants name."""
    for index, cell in enumerate(train_cells(grid)):
        folder = root / cell.train_dir
        folder.mkdir(parents=True)
        accuracy = 0.5 + 0.01 * (index % 7) + 0.001 * cell.seed
        (folder / 'metrics.json').write_text(json.dumps({'test_accuracy': accuracy, 'trainable_params': NORM_COUNT,
                                                         'batchnorm_params': NORM_COUNT, 'train_seconds': 1.0}))
        run = {'arch': cell.arch, 'trainable': cell.trainable, 'seed': cell.seed, 'epochs': 4, 'examples': 32000,
               'batch_size': 128, 'norm_init': cell.norm_init, 'weight_init': 'kaiming_normal',
               'k': 2, **cell.variants}
        (folder / 'config.yaml').write_text(yaml.safe_dump({'run': run, 'data': {'dataset': 'fashion_mnist',
                                                                                 'test_size': 10000}}))
        pd.DataFrame({'epoch': [1, 2], 'gamma_frac_abs_below_t0p1': [0.2, 0.3 + 0.01 * cell.seed]}).to_csv(
            folder / 'history.csv', index=False)
    for cell in analysed_cells(grid):
        folder = root / cell.analyze_dir
        (folder / 'tables').mkdir(parents=True)
        (folder / 'metrics.json').write_text(json.dumps({'gamma': {'frac_abs_below': {'t0p1': 0.3}}}))
        pd.DataFrame({'layer': 'norm', 'channel': [0, 1], 'gamma': [0.05, 0.5], 'beta': [0.0, 0.1]}).to_csv(
            folder / 'tables' / 'bn_values.csv', index=False)


def test_the_grids_cells_aggregate_into_the_tables_the_figures_and_claims_read(grid, tmp_path):
    """The whole extensions grid through the grid_aggregate stage's code: every claim measured, every bar drawn
    (variant runs included: the γ inits, the weight inits, the normalisations)."""
    write_cells(grid, tmp_path)
    out = tmp_path / 'tables'
    summary = aggregate.write(grid, tmp_path, cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                              bn_values_csv=out / 'bn_values.csv', history_csv=out / 'history.csv',
                              summary_json_path=out / 'summary.json')
    table = all_claims(pd.read_csv(out / 'cells.csv'))
    assert [row.number for row in table if row.verdict == NOT_MEASURED] == []
    summary, history = pd.read_csv(out / 'summary.csv'), pd.read_csv(out / 'history.csv')
    seeds = grid['seeds']
    assert all(runs.summary_stat(summary, run, 'test_accuracy').n == len(seeds) for run in runs.ALL_RUNS)
    assert runs.random_k_of(summary, runs.VIT_RANDOM_K) == 2 and runs.random_k_of(summary, runs.RANDOM_K1) == 1
    stat = figures.final_small_gamma(history, f'{runs.BN_ONLY}-fixed')
    assert stat.n == len(seeds) and stat.mean == pytest.approx(0.3 + 0.01 * sum(seeds) / len(seeds))
