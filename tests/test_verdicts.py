"""Serial gatekeeping over two Holm families (bnonly.reporting.verdicts.decide) against Holm computed by hand."""
import math

import pytest

from claims_recompute import holm

from bnonly.reporting.statistics import ONE_SIDED, Outcome, sd_upper, seeds_needed
from bnonly.reporting.verdicts import (CONTRADICTED, EXPLORATORY, FAILS, HOLDS, NOT_MEASURED, UNRESOLVED, Budget,
                                   Finding, Planning, Row, both_directions_sensitivity, decide, not_measured)


def row(number: str, p: float, opposite: float | tuple = 0.9, label: str = 'net') -> Row:
    opposite = opposite if isinstance(opposite, tuple) else (opposite,)
    outcome = Outcome(name='paired t', kind=ONE_SIDED, estimate=1.0, ci_low=0.5, ci_high=1.5, confidence=0.95,
                      n=4, df=3, sd=0.5, se=0.25, p=p, opposite=opposite)
    return Row(number, f'claim {number}', '-', findings=[Finding(label, outcome, '+1')],
               planning=Planning(0.25, 'smallest effect of interest'))


def test_one_family_is_holm_over_every_claim_and_contradicting_test():
    rows = decide([row('1', 0.001, 0.95), row('2', 0.02, 0.4)])
    expected = holm([0.001, 0.95, 0.02, 0.4])
    assert rows[0].p_holm == pytest.approx(expected[0]) and rows[1].p_holm == pytest.approx(expected[2])
    assert rows[1].p_opposite_holm == pytest.approx(expected[3])
    assert all(r.family == '' and r.family_size == 4 for r in rows)


def test_primary_family_is_holm_over_its_claims_alone():
    rows = decide([row('a', 0.01), row('b', 0.02), row('c', 0.001)], primary=['a', 'b'])
    assert [rows[0].p_holm, rows[1].p_holm] == pytest.approx(holm([0.01, 0.02]))  # 0.02, 0.02
    assert rows[0].verdict == rows[1].verdict == HOLDS and rows[0].family_size == 2
    # the secondary family (c's claim and all three contradicting tests) is Holm-adjusted, floored at the gate
    secondary = holm([0.001, 0.9, 0.9, 0.9])
    assert rows[2].p_holm == pytest.approx(max(secondary[0], 0.02))
    assert rows[2].family == 'secondary' and rows[2].family_size == 4 and rows[2].verdict == HOLDS


def test_a_primary_claim_not_shown_shuts_the_gate():
    rows = decide([row('a', 0.001), row('b', 0.2), row('c', 1e-6), row('d', 0.99, 1e-6)], primary=['a', 'b'])
    assert rows[0].verdict == HOLDS and rows[1].verdict == UNRESOLVED
    # c and d would be decided alone; behind the gate their adjusted p is at least b's
    assert rows[2].p_holm >= rows[1].p_holm > 0.05 and rows[2].verdict == UNRESOLVED
    assert rows[3].p_opposite_holm >= rows[1].p_holm and rows[3].verdict == UNRESOLVED


def test_a_secondary_contradiction_is_decided_when_every_primary_claim_holds():
    rows = decide([row('a', 0.001), row('d', 0.99, 0.001)], primary=['a'])
    assert rows[1].verdict == FAILS and rows[1].p_opposite_holm <= 0.05


def test_an_untestable_primary_row_shuts_the_gate_but_an_unmeasured_one_does_not():
    untestable = row('b', math.nan)
    rows = decide([row('a', 0.001), untestable, row('c', 1e-6)], primary=['a', 'b'])
    assert rows[2].verdict == UNRESOLVED and rows[2].p_holm == 1.0
    rows = decide([row('a', 0.001), not_measured('b', '-', '-', 'no cells'), row('c', 1e-6)], primary=['a', 'b'])
    assert rows[1].verdict == NOT_MEASURED and rows[2].verdict == HOLDS


def test_unknown_primary_rows_are_an_error():
    with pytest.raises(ValueError, match="'z'"):
        decide([row('a', 0.01)], primary=['a', 'z'])


def test_both_directions_put_the_primary_contradicting_tests_in_the_first_family():
    rows = decide([row('a', 0.001, 0.999), row('b', 0.999, 0.002), row('c', 1e-6)], primary=['a', 'b'],
                  both_directions=True)
    first = holm([0.001, 0.999, 0.999, 0.002])                     # a, its opposite, b, its opposite
    assert rows[0].p_holm == pytest.approx(first[0]) and rows[0].verdict == HOLDS
    assert rows[1].p_opposite_holm == pytest.approx(first[3]) and rows[1].verdict == FAILS  # a primary claim fails
    assert rows[0].family_size == 4
    # b does not hold, so the gate stays shut: c is not decided
    assert rows[2].p_holm >= rows[1].p_holm and rows[2].verdict == UNRESOLVED
    # without the option the same reversed primary claim stays open
    assert decide([row('a', 0.001, 0.999), row('b', 0.999, 0.002)], primary=['a', 'b'])[1].verdict == UNRESOLVED


def test_the_gate_opens_on_the_primary_claims_not_on_their_contradicting_tests():
    rows = decide([row('a', 0.001, 0.999), row('c', 1e-6)], primary=['a'], both_directions=True)
    assert rows[0].verdict == HOLDS and rows[1].verdict == HOLDS
    assert rows[1].p_holm == pytest.approx(max(holm([1e-6, 0.9])[0], holm([0.001, 0.999])[0]))


def test_sensitivity_decides_a_copy_with_both_directions():
    rows = decide([row('a', 0.01, (0.99, 0.98)), row('b', 0.02, 0.98), row('c', 0.3)], primary=['a', 'b'])
    found = both_directions_sensitivity(rows, ['a', 'b'])
    # the first family now holds 5 tests: Holm gives a 0.05 and b 0.08
    assert found.held == 1 and found.primary == 2
    assert found.largest_p == pytest.approx(max(holm([0.01, 0.99, 0.98, 0.02, 0.98])[i] for i in (0, 3)))
    assert [r.verdict for r in rows] == [HOLDS, HOLDS, UNRESOLVED]       # the rows keep their verdicts
    assert rows[0].p_holm == pytest.approx(0.02) and rows[0].family_size == 2


def test_a_contradiction_at_a_short_budget_is_not_called_does_not_hold():
    short = decide([row('a', 0.999, 0.001)], budget=Budget('1,000 steps', short=True))[0]
    assert short.verdict == CONTRADICTED and short.budget.text == '1,000 steps'
    assert decide([row('a', 0.999, 0.001)], budget=Budget('160 epochs', short=False))[0].verdict == FAILS


def test_an_exploratory_row_stays_out_of_every_family():
    explored = row('x', 1e-6)
    explored.exploratory = True
    rows = decide([row('a', 0.01), row('b', 0.03), explored])
    assert rows[2].verdict == EXPLORATORY and math.isnan(rows[2].p_holm)
    assert rows[0].family_size == 4                                  # a, b and their contradicting tests only


def test_scope_names_the_networks_tested():
    single, several = row('a', 0.01), row('b', 0.01)
    several.findings.append(Finding('ResNet-32', several.findings[0].outcome, '+1'))
    assert single.scope == 'net only' and several.scope == 'net, ResNet-32'
    contrast = Row('c', '-', '-', findings=[Finding('ResNet-32 − ResNet-14', single.findings[0].outcome, '+1',
                                                    scope='ResNet-32 vs ResNet-14')])
    assert contrast.scope == 'ResNet-32 vs ResNet-14 only'


def test_seeds_needed_plan_at_the_stated_effect_with_the_upper_bound_of_the_sd():
    found = decide([row('a', 0.2, 0.8)])[0]
    assert found.verdict == UNRESOLVED
    planned = sd_upper(0.5, 3)
    assert found.planning_sd == pytest.approx(planned) and found.observed_sd == 0.5
    assert found.seeds_needed == seeds_needed(0.25 / planned)                      # not the observed 1.0 / 0.5
    assert found.seeds_needed_holm == seeds_needed(0.25 / planned, 0.05 / 2)
    assert found.seeds_needed > seeds_needed(0.25 / 0.5)
