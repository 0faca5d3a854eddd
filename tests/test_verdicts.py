"""Serial gatekeeping over two Holm families (bnonly.paper.verdicts.decide) against Holm computed by hand."""
import math

import pytest

from bnonly.paper.statistics import Outcome
from bnonly.paper.verdicts import FAILS, HOLDS, NOT_MEASURED, UNRESOLVED, Finding, Row, decide, not_measured


def row(number: str, p: float, opposite: float = 0.9) -> Row:
    outcome = Outcome(name='paired t', estimate=1.0, ci_low=0.5, ci_high=1.5, n=4, sd=0.5, p=p,
                      opposite=(opposite,), power_effect=2.0)
    return Row(number, f'claim {number}', '-', findings=[Finding('net', outcome, '+1')])


def holm(ps):
    """Holm's step-down adjustment written out: sorted p times (m - rank), running maximum, capped at 1."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted, running = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


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
