"""The claims table on synthetic per-seed cells: clear effects hold, reversed ones do not (at a short budget:
reversed at that budget), noise is not resolvable (with a seed count at a stated effect), absent cells are not
measured, cells are paired by seed, and every verdict names the networks and budget it rests on."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bnonly.paper import claims, paper_claims
from bnonly.paper.aggregate import SETTINGS, summarize
from bnonly.paper.results import Results
from bnonly.paper.claims_table import TABLE
from bnonly.paper.synthetic import batchnorm_params
from bnonly.reporting import claims_table
from bnonly.reporting.statistics import sd_upper, seeds_needed, upper_bound
from bnonly.reporting.verdicts import CONTRADICTED, FAILS, HOLDS, NOT_MEASURED, UNRESOLVED, decide

PROFILE = {'dataset': 'fashion_mnist', 'steps': 1000, 'seeds': 3, 'cells_trained': 30, 'cells_analysed': 15}
SEEDS = (0, 1, 2)
TRAINABLE_PARAMS = {'bn_only': 1, 'random_k': 1, 'output_only': 0.3, 'bn_output': 1.3, 'random_k_output': 1.3}


def cell(arch, trainable, metric, values, *, source='train', variant='', seeds=SEEDS) -> list[dict]:
    """One cell's metric, one row per seed, in results/grid_cells.csv's columns; ``variant``: the run's variant
    tokens ('fixed': Figure 1's γ = 1, β = 0)."""
    init = 'fixed' if 'fixed' in variant.split('-') else 'uniform'
    run = '-'.join([arch, trainable, *([variant] if variant else [])])
    return [dict(arch=arch, trainable=trainable, norm_init=init, seed=seed, run=run, **dict.fromkeys(SETTINGS),
                 source=source, metric=metric, value=value) for seed, value in zip(seeds, values)]


def accuracy(arch, trainable, values, **options):
    return cell(arch, trainable, 'test_accuracy', values, **options)


def analysis(arch, trainable, metric, values, **options):
    return cell(arch, trainable, metric, values, source='analysis', **options)


def results(*rows, profile=PROFILE) -> Results:
    """Results over the given cells, each trained cell with its parameter counts as the train stage writes them."""
    cells = pd.DataFrame([r for group in rows for r in group])
    trained = cells[cells.source == 'train'][['arch', 'trainable', 'seed', 'run']]
    counts = []
    for c in trained.drop_duplicates().itertuples(index=False):
        bn = batchnorm_params(c.arch)
        trainable = TRAINABLE_PARAMS.get(c.trainable, 100) * bn
        for metric, value in (('batchnorm_params', bn), ('trainable_params', trainable)):
            counts += cell(c.arch, c.trainable, metric, [value], variant=c.run[len(f'{c.arch}-{c.trainable}-'):],
                           seeds=[c.seed])
    cells = pd.concat([cells, pd.DataFrame(counts)], ignore_index=True)
    return Results(summarize(cells), profile, cells)


def all_claims(cells: Results, **options):
    """The paper's table on ``cells`` (bnonly.paper.claims.evaluate)."""
    return claims.evaluate(TABLE, cells, **options)


def row(number, *groups, profile=PROFILE):
    table = all_claims(results(*groups, profile=profile))
    return next(r for r in table if r.number == number)


def test_clear_effect_holds_in_every_network():
    found = row('6', accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_resnet14', 'random_k', [0.50, 0.52, 0.49]),
                accuracy('cifar_resnet32', 'bn_only', [0.85, 0.86, 0.84]),
                accuracy('cifar_resnet32', 'random_k', [0.55, 0.55, 0.53]))
    assert found.verdict == HOLDS
    assert 'ResNet-14: +29.7 [' in found.ours and 'ResNet-32: +30.7 [' in found.ours
    assert 'equal trainable counts' in found.ours
    assert 'paired t, one-sided (> 0), df=2' in found.test and 'IUT over 2 networks' in found.test
    assert found.n_text == '3' and found.p_holm <= 0.05 and found.seeds_needed is None
    assert claims_table.verdict_text(found) == '**holds** (ResNet-14, ResNet-32; 1,000 steps per cell)'
    assert 'estimate [95% CI, unadjusted]' in found.ours


def test_a_verdict_on_one_network_says_so():
    found = row('6', accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_resnet14', 'random_k', [0.50, 0.52, 0.49]))
    assert claims_table.verdict_text(found) == '**holds** (ResNet-14 only; 1,000 steps per cell)'


def test_reversed_effect_at_a_short_budget_is_reversed_at_that_budget():
    # width (row 10) is a secondary claim; with no primary claim measured the gate is open
    found = row('10', accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_wide_resnet14_2', 'bn_only', [0.60, 0.62, 0.61]))
    assert found.family == 'secondary'
    assert found.verdict == CONTRADICTED and found.p_opposite_holm <= 0.05
    assert 'contradicting test' in claims_table.p_text(found)
    assert claims_table.verdict_text(found) == ('**reversed at 1,000 steps** (WRN-14-2 vs ResNet-14 only; not a '
                                                'test of the converged claim)')


def test_reversed_effect_at_the_papers_budget_does_not_hold():
    profile = dict(PROFILE, dataset='cifar10', epochs=160, steps=62560)
    found = row('10', accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_wide_resnet14_2', 'bn_only', [0.60, 0.62, 0.61]), profile=profile)
    assert found.verdict == FAILS
    assert claims_table.verdict_text(found) == '**does not hold** (WRN-14-2 vs ResNet-14 only; 62,560 steps per cell)'
    assert claims.budget(dict(profile, epochs=20)).short and not claims.budget(profile).short


def test_a_reversed_primary_claim_is_left_open_by_the_gatekeeping():
    cells = results(accuracy('cifar_resnet14', 'bn_only', [0.50, 0.51, 0.49]),
                    accuracy('cifar_resnet14', 'output_only', [0.80, 0.80, 0.79]))
    found = next(r for r in all_claims(cells) if r.number == '7')
    # its contradicting test is in the secondary family, which opens only if every primary claim holds
    assert found.family == 'primary' and found.verdict == UNRESOLVED and found.p_opposite_holm > 0.05
    # one Holm family over the same tests would call it reversed
    single = next(r for r in decide([r for r in all_claims(cells)]) if r.number == '7')
    assert single.family == '' and single.verdict == FAILS
    # and so does the primary family with both directions of each primary claim in it
    both = next(r for r in all_claims(cells, both_directions=True) if r.number == '7')
    assert both.family == 'primary' and both.verdict == CONTRADICTED


def test_the_sensitivity_line_is_computed_under_a_one_direction_table():
    cells = results(accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                    accuracy('cifar_resnet14', 'random_k', [0.50, 0.52, 0.49]),
                    accuracy('cifar_resnet14', 'output_only', [0.70, 0.75, 0.69]))
    table = all_claims(cells)
    both = all_claims(cells, both_directions=True)
    largest = max(r.p_holm for r in both if r.number in paper_claims.PRIMARY_CLAIMS and r.verdict != NOT_MEASURED)
    held = sum(r.verdict == HOLDS for r in both if r.number in paper_claims.PRIMARY_CLAIMS)
    text = claims_table.to_markdown(TABLE, table, PROFILE)
    assert (f'with both directions of each primary claim in the primary family: {held} of 8 still hold, largest '
            f'Holm-adjusted p = {largest:.3f}.') in text
    assert 'Sensitivity' not in claims_table.to_markdown(TABLE, both, PROFILE, both_directions=True)


def test_noisy_small_effect_is_not_resolvable_and_says_how_many_seeds():
    bn, rk = [0.62, 0.55, 0.60], [0.58, 0.57, 0.57]
    found = row('6', accuracy('cifar_resnet14', 'bn_only', bn), accuracy('cifar_resnet14', 'random_k', rk))
    assert found.verdict == UNRESOLVED
    differences = np.subtract(bn, rk)
    # planned at row 6's declared effect (5 points), the sd at its upper 80% bound: sd sqrt(2 / chi2_0.2(2))
    sd = differences.std(ddof=1) * math.sqrt(2 / stats.chi2.ppf(0.2, 2))
    declared = next(c for c in paper_claims.CLAIMS if c.number == '6').planning
    assert found.planning_sd == pytest.approx(sd) and found.planning.effect == declared.effect == 0.05
    assert found.seeds_needed == seeds_needed(0.05 / sd) > 3
    text = claims_table.verdict_text(found)
    assert f'a new confirmatory seed set of ≈ {found.seeds_needed_holm} seeds' in text
    assert f'{found.seeds_needed} for a lone test' in text
    assert 'an effect of +5 points (smallest effect of interest ("far above"))' in text
    assert f'an sd of {100 * sd:.3g} points (the upper 80% confidence bound of the observed ' in text
    # Holm's first-step level over the row's family: the primary family here holds this row's test alone
    assert found.family == 'primary' and found.family_size == 1
    assert found.seeds_needed_holm == seeds_needed(0.05 / sd, 0.05 / 1)


def test_one_network_unresolved_keeps_the_every_network_claim_unresolved():
    found = row('6', accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_resnet14', 'random_k', [0.50, 0.52, 0.49]),
                accuracy('cifar_resnet32', 'bn_only', [0.62, 0.55, 0.60]),
                accuracy('cifar_resnet32', 'random_k', [0.58, 0.57, 0.57]))
    assert found.verdict == UNRESOLVED
    assert found.p_raw == max(f.outcome.p for f in found.findings) and found.deciding.label == 'ResNet-32'


def test_missing_cells_are_not_measured_with_the_reason():
    found = row('6', accuracy('cifar_resnet14', 'bn_only', [0.8, 0.8, 0.8]))
    assert found.verdict == NOT_MEASURED and 'random_k' in found.reason and found.ours == '-'
    assert row('8', accuracy('cifar_resnet14', 'bn_only', [0.8, 0.8, 0.8])).verdict == NOT_MEASURED


def test_pairing_by_seed_finds_what_an_unpaired_test_cannot():
    bn, rk = [0.70, 0.80, 0.90], [0.680, 0.779, 0.881]  # seeds differ a lot, the per-seed gap hardly
    assert stats.ttest_ind(bn, rk, alternative='greater').pvalue > 0.3
    found = row('6', accuracy('cifar_resnet14', 'bn_only', bn), accuracy('cifar_resnet14', 'random_k', rk))
    assert found.verdict == HOLDS


def test_only_shared_seeds_are_paired():
    found = row('6', accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_resnet14', 'random_k', [0.50, 0.52], seeds=(1, 2)))
    assert found.n_text == '2' and 'df=1' in found.test


def test_depth_width_and_depth_against_width():
    rows = (accuracy('cifar_resnet14', 'bn_only', [0.70, 0.71, 0.69]),
            accuracy('cifar_resnet32', 'bn_only', [0.80, 0.80, 0.79]),
            accuracy('cifar_wide_resnet14_2', 'bn_only', [0.75, 0.77, 0.74]))
    depth, width, versus = (row(n, *rows) for n in ('9', '10', '12'))
    assert depth.verdict == HOLDS and 'ResNet-32 − ResNet-14' in depth.ours
    assert width.verdict == HOLDS and 'WRN-14-2 − ResNet-14' in width.ours
    assert versus.verdict == HOLDS and 'ResNet-32 (2,464 BN) − WRN-14-2 (2,240 BN)' in versus.ours
    far = row('12', accuracy('cifar_resnet14', 'bn_only', [0.7] * 3),
              accuracy('cifar_wide_resnet14_4', 'bn_only', [0.8] * 3))
    assert far.verdict == NOT_MEASURED  # WRN-14-4's 4,480 BN parameters: no deep network within 25%


def test_gamma_beta_power_at_the_papers_effect():
    found = row('11', accuracy('cifar_resnet14', 'all', [0.910, 0.905, 0.912], variant='fixed'),
                accuracy('cifar_resnet14', 'all_but_bn', [0.902, 0.909, 0.904], variant='fixed'),
                accuracy('cifar_resnet14', 'all', [0.50, 0.50, 0.50]),  # the paper-initialised run is not used
                accuracy('cifar_resnet14', 'all_but_bn', [0.99, 0.99, 0.99], variant='fixed-orthogonal'))  # nor this
    assert found.verdict == UNRESOLVED and 'all − all_but_bn' in found.ours
    sd = np.std(np.subtract([0.910, 0.905, 0.912], [0.902, 0.909, 0.904]), ddof=1)
    assert found.seeds_needed == seeds_needed(0.005 / sd_upper(sd, 2))
    assert 'an effect of +0.5 points (the paper\'s smallest)' in claims_table.verdict_text(found)
    # the one-sided upper bound, and where the paper's +0.5 to +2 points lie against it
    bound = upper_bound(found.findings[0].outcome)
    assert f'one-sided upper 95% bound (unadjusted) {100 * bound:+.1f} points' in found.ours
    assert 0.005 < bound < 0.02 and f'those above {100 * bound:+.1f} lie above it (excluded)' in found.ours
    excluded = row('11', accuracy('cifar_resnet14', 'all', [0.900, 0.902, 0.901], variant='fixed'),
                   accuracy('cifar_resnet14', 'all_but_bn', [0.901, 0.900, 0.902], variant='fixed'))
    assert row('11', accuracy('cifar_resnet14', 'all', [0.91] * 3),
               accuracy('cifar_resnet14', 'all_but_bn', [0.90] * 3)).verdict == NOT_MEASURED  # not the -fixed runs
    assert 'the paper\'s +0.5 to +2 points lie above it (excluded)' in excluded.ours


def gamma_cells(arch, trained, at_init, all_trained, threshold='t0p1'):
    return (analysis(arch, 'bn_only', f'gamma.frac_abs_below.{threshold}', trained)
            + analysis(arch, 'bn_only', f'gamma_init.frac_abs_below.{threshold}', at_init)
            + analysis(arch, 'all', f'gamma.frac_abs_below.{threshold}', all_trained))


def test_small_gammas_against_init_and_against_all():
    rows = (gamma_cells('cifar_resnet14', [0.30, 0.32, 0.31], [0.10, 0.10, 0.10], [0.11, 0.10, 0.12]),
            gamma_cells('cifar_resnet32', [0.40, 0.41, 0.43], [0.10, 0.11, 0.10], [0.10, 0.10, 0.11]),
            gamma_cells('cifar_resnet14', [0.2] * 3, [0.01] * 3, [0.01] * 3, threshold='t0p01'))
    against_init, against_all, depth = row('13', *rows), row('14', *rows), row('15', *rows)
    assert against_init.verdict == HOLDS and 'IUT over 2 networks' in against_init.test
    assert 'not tested: t=0.01' in against_init.ours  # the other threshold: printed, never tested
    assert against_all.verdict == HOLDS
    assert depth.verdict in (HOLDS, UNRESOLVED) and 'ResNet-32 − ResNet-14' in depth.ours
    assert row('16', *rows).verdict == NOT_MEASURED
    trained_only = (analysis('cifar_resnet14', 'bn_only', 'gamma.frac_abs_below.t0p1', [0.30, 0.32, 0.31])
                    + analysis('cifar_resnet14', 'all', 'gamma.frac_abs_below.t0p1', [0.11, 0.10, 0.12]))
    no_init = row('13', trained_only)
    assert no_init.verdict == NOT_MEASURED and 'gamma_init' in no_init.reason


def test_clamping_equivalence_and_the_random_control():
    harmless = (analysis('cifar_resnet14', 'bn_only', 'clamped.t0p1.delta', [-0.001, 0.000, -0.002])
                + analysis('cifar_resnet14', 'bn_only', 'clamped_random.t0p1.delta', [-0.20, -0.22, -0.21]))
    equivalent, control = row('17a', harmless), row('17b', harmless)
    assert equivalent.verdict == HOLDS and 'TOST' in equivalent.test
    assert 'estimate [90% CI, unadjusted, the interval the TOST decides by]' in equivalent.ours
    assert equivalent.findings[0].outcome.confidence == pytest.approx(0.9)
    assert control.verdict == HOLDS and 'estimate [95% CI, unadjusted]' in control.ours
    harmful = analysis('cifar_resnet14', 'bn_only', 'clamped.t0p1.delta', [-0.050, -0.052, -0.049])
    outside = row('17a', harmful)
    assert outside.verdict == CONTRADICTED  # significantly outside the ±1 point margin, at 1,000 steps
    assert claims_table.verdict_text(outside).startswith('**outside the margin at 1,000 steps**')
    assert row('17b', harmful).verdict == NOT_MEASURED  # no control cells


def test_dead_relus_on_the_logit_scale_with_sites():
    rows = []
    for trainable, fraction, units in (('bn_only', [0.20, 0.22, 0.25], 3000), ('all', [0.0, 0.001, 0.002], 3000)):
        rows += analysis('cifar_resnet14', trainable, 'dead_relu.fraction', fraction)
        rows += analysis('cifar_resnet14', trainable, 'dead_relu.units', [units] * 3)
        for site in ('block', 'residual'):
            rows += analysis('cifar_resnet14', trainable, f'dead_relu.site.{site}', fraction)
    found = row('18', rows)
    assert found.verdict == HOLDS and all(math.isfinite(f.outcome.estimate) for f in found.findings)
    assert 'block OR ×' in found.ours and 'residual OR ×' in found.ours and 'not tested' in found.ours
    assert 'paired t on logits' in found.test and 'decided on the overall fraction' in found.test
    equal = row('18', analysis('cifar_resnet14', 'bn_only', 'dead_relu.fraction', [0.10, 0.12, 0.11]),
                analysis('cifar_resnet14', 'all', 'dead_relu.fraction', [0.11, 0.10, 0.12]))
    assert equal.verdict == UNRESOLVED


def test_paper_numbers_off_their_data_set_print_nothing():
    table = all_claims(results(accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.82])))
    for found in table[:5]:
        assert found.verdict == NOT_MEASURED and found.ours == '-'
        assert 'the grid ran on Fashion-MNIST' in found.reason


def test_paper_numbers_on_cifar10():
    profile = dict(PROFILE, dataset='cifar10', epochs=160)
    reached = accuracy('cifar_resnet866', 'bn_only', [0.815, 0.818, 0.812])
    assert row('1', reached, profile=profile).verdict == HOLDS  # significantly above 82% - 2 points
    short = accuracy('cifar_resnet866', 'bn_only', [0.70, 0.71, 0.69])
    assert row('1', short, profile=profile).verdict == FAILS
    assert row('1', short, profile=dict(profile, epochs=20)).verdict == CONTRADICTED  # a short CIFAR-10 run
    missing = row('1', accuracy('cifar_resnet14', 'bn_only', [0.48] * 3), profile=profile)
    assert missing.verdict == NOT_MEASURED and 'ResNet-866' in missing.reason
    assert 'one-sample t' in row('3', accuracy('cifar_resnet14', 'bn_only', [0.50, 0.51, 0.52]), profile=profile).test


def test_markdown_and_csv(tmp_path):
    table = all_claims(results(accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                                      accuracy('cifar_resnet14', 'random_k', [0.50, 0.52, 0.49])))
    text = claims_table.to_markdown(TABLE, table, PROFILE)
    assert text.count('\n| ') == len(table) + 1  # header + one line per claim
    assert 'Grid: Fashion-MNIST, 1,000 SGD steps per cell, 3 seeds, 30 trained and 15 analysed cells' in text
    header = ('| # | Claim (paper) | Paper | Ours (estimate [CI, unadjusted] per network) | Test | n | Family | '
              'p (adjusted) | q (BH) | Verdict |')
    assert header in text
    assert '| 6 | BatchNorm-only training is far above' in text and '| primary |' in text
    assert 'serial gatekeeping' in text and 'Holm' in text and 'TOST' in text and '±1 point' in text
    assert 'unadjusted' in text and 'new confirmatory seed set' in text
    frame = claims_table.to_frame(TABLE, table)
    assert len(frame) == 19 and {'estimate', 'ci_low', 'ci_high', 'ci_level', 'n', 'family', 'p_raw', 'p_holm',
                                 'verdict', 'verdict_text', 'scope', 'budget', 'seeds_needed'} <= set(frame.columns)
    random_k = frame.set_index('number').loc['6']
    assert random_k.verdict == HOLDS and random_k.ci_low < random_k.estimate < random_k.ci_high
    assert random_k.ci_level == 0.95 and random_k.scope == 'ResNet-14 only' and random_k.budget == '1,000 steps'
    assert random_k.verdict_text == 'holds (ResNet-14 only; 1,000 steps per cell)'


def test_stage_reads_the_cells(tmp_path):
    r = results(accuracy('cifar_resnet14', 'bn_only', [0.80, 0.81, 0.79]),
                accuracy('cifar_resnet14', 'random_k', [0.50, 0.52, 0.49]))
    r.cells.to_csv(tmp_path / 'cells.csv', index=False)
    r.summary.to_csv(tmp_path / 'summary.csv', index=False)
    (tmp_path / 'summary.json').write_text(json.dumps({'profile': PROFILE}))
    path = Path(__file__).resolve().parents[1] / 'stages' / 'claims.py'
    spec = importlib.util.spec_from_file_location('claims_stage', path)
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    assert stage.main(['--cells', str(tmp_path / 'cells.csv'), '--summary', str(tmp_path / 'summary.csv'),
                       '--summary-json', str(tmp_path / 'summary.json'), '--out', str(tmp_path / 'claims.md'),
                       '--csv', str(tmp_path / 'claims.csv')]) == 0
    assert '**holds**' in (tmp_path / 'claims.md').read_text()
    assert pd.read_csv(tmp_path / 'claims.csv').shape[0] == 19
    assert stage.main(['--cells', str(tmp_path / 'absent.csv'), '--summary', str(tmp_path / 'summary.csv'),
                       '--summary-json', str(tmp_path / 'summary.json')]) == 1
