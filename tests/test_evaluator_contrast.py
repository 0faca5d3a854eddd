"""The shared evaluator's per-seed contrasts (bnonly.paper.claims.contrast_values, the CONTRAST test), a claim
registered one-sided (Claim.contradicting), and the gate on decided primary rows (bnonly.reporting.verdicts,
gate=DECIDED), each against scipy or a hand-built case."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bnonly.paper.claims import claim_row, contrast_values, evaluate
from bnonly.paper.results import Comparison, Results, Side
from bnonly.reporting.claim import CONTRAST, IN_FAMILY, PRIMARY, Claim
from bnonly.reporting.claims_table import ClaimsTable
from bnonly.reporting.verdicts import DECIDED, FAILS, HOLDS, UNRESOLVED, Finding, Planning, Row, decide
from bnonly.reporting.statistics import one_sided_t

SEEDS = (7, 8, 9, 10)


def cells(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [dict(arch=run.split('-')[0], trainable=run.split('-')[1], run=run, seed=seed, source='train',
                 metric='test_accuracy', value=value)
            for run, per_seed in values.items() for seed, value in zip(SEEDS, per_seed)]
    return pd.DataFrame(rows)


VALUES = {'a-bn_only': [0.9, 0.8, 0.85, 0.7], 'b-bn_only': [0.5, 0.55, 0.4, 0.45],
          'a-bn_only-e12': [0.95, 0.99, 0.9, 0.92], 'b-bn_only-e12': [0.3, 0.2, 0.25, 0.31]}
RESULTS = Results(pd.DataFrame(columns=['run', 'source', 'metric', 'mean']), {'dataset': 'fashion_mnist'},
                  cells(VALUES))


def side(run: str) -> Side:
    return Side(run, 'test_accuracy')


class Select:
    def __init__(self, comparisons):
        self.list = comparisons

    def comparisons(self, results, key):
        return self.list


INTERACTION = Comparison('interaction', Comparison('high', side('a-bn_only-e12'), side('b-bn_only-e12')),
                         Comparison('low', side('a-bn_only'), side('b-bn_only')))


def test_a_nested_comparison_is_the_per_seed_difference_of_differences():
    v = {run: np.array(x) for run, x in VALUES.items()}
    expected = (v['a-bn_only-e12'] - v['b-bn_only-e12']) - (v['a-bn_only'] - v['b-bn_only'])
    assert contrast_values(RESULTS, INTERACTION).to_numpy() == pytest.approx(expected)
    assert list(contrast_values(RESULTS, INTERACTION).index) == list(SEEDS)
    assert contrast_values(RESULTS, Comparison('alone', side('a-bn_only'), None)).tolist() == VALUES['a-bn_only']


def test_the_contrast_test_is_scipys_one_sample_t():
    claim = Claim('I', 'grows', '', Select([INTERACTION]), CONTRAST, Planning(0.02, 'x'))
    row = claim_row(RESULTS, claim)
    x = contrast_values(RESULTS, INTERACTION).to_numpy()
    outcome = row.findings[0].outcome
    assert outcome.p == pytest.approx(stats.ttest_1samp(x, 0, alternative='greater').pvalue, rel=1e-12)
    assert outcome.opposite[0] == pytest.approx(stats.ttest_1samp(x, 0, alternative='less').pvalue, rel=1e-12)
    assert (outcome.ci_low, outcome.ci_high) == pytest.approx(
        stats.t.interval(0.95, 3, loc=x.mean(), scale=stats.sem(x)), rel=1e-12)
    one_sided = claim_row(RESULTS, Claim('I', 'grows', '', Select([INTERACTION]), CONTRAST, Planning(0.02, 'x'),
                                         contradicting=False))
    assert one_sided.findings[0].outcome.opposite == () and one_sided.opposite_raw == []
    assert claim_row(RESULTS, Claim('M', 'x', '', Select([Comparison('m', side('c-bn_only'), side('a-bn_only'))]),
                                    CONTRAST, Planning(0.02, 'x'), missing='absent')).verdict == 'not measured'


def row(number: str, values) -> Row:
    outcome = one_sided_t(np.asarray(values))
    return Row(number, number, '', findings=[Finding(number, outcome, '')], planning=Planning(0.02, 'x'))


def test_the_gate_on_decided_rows_opens_when_a_primary_row_is_reversed():
    rows = [row('P1', [1.0, 1.1, 0.9, 1.05]), row('P2', [-1.0, -1.1, -0.9, -1.05]), row('S', [0.5, 0.6, 0.4, 0.55])]
    decided = decide([*rows], primary=['P1', 'P2'], both_directions=True, gate=DECIDED)
    assert [r.verdict for r in decided] == [HOLDS, FAILS, HOLDS]     # no budget given: reversed reads FAILS
    assert decided[2].gate == DECIDED and decided[2].p_holm <= 0.05
    # the default gate (every primary claim holds) stays shut: the reversed P2 keeps S open
    rows = [row('P1', [1.0, 1.1, 0.9, 1.05]), row('P2', [-1.0, -1.1, -0.9, -1.05]), row('S', [0.5, 0.6, 0.4, 0.55])]
    shut = decide(rows, primary=['P1', 'P2'], both_directions=True)
    assert shut[2].verdict == UNRESOLVED and shut[2].p_holm > 0.05
    # an open primary row shuts the decided gate too
    rows = [row('P1', [1.0, 1.1, 0.9, 1.05]), row('P2', [0.1, -0.2, 0.15, -0.1]), row('S', [0.5, 0.6, 0.4, 0.55])]
    assert decide(rows, primary=['P1', 'P2'], both_directions=True, gate=DECIDED)[2].verdict == UNRESOLVED
    with pytest.raises(ValueError, match='both directions'):
        decide([row('P1', [1.0, 1.1, 0.9, 1.05])], primary=['P1'], gate=DECIDED)


def test_a_table_passes_its_gate_to_the_decision():
    claims = (Claim('P', 'p', '', Select([INTERACTION]), CONTRAST, Planning(0.02, 'x'), family=PRIMARY),
              Claim('S', 's', '', Select([Comparison('s', side('a-bn_only'), side('b-bn_only'))]), CONTRAST,
                    Planning(0.02, 'x'), family=IN_FAMILY))
    table = ClaimsTable(name='t', claims=claims, results=Results, header=lambda *a: [], columns=(),
                        aggregate='', both_directions=True, gate=DECIDED)
    rows = evaluate(table, RESULTS)
    assert rows[1].gate == DECIDED and rows[0].family == 'primary' and not math.isnan(rows[1].p_holm)
