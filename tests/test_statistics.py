"""The claims table's tests against textbook answers: a paired t, a TOST, Holm, a power calculation."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bnonly.paper import statistics as st

# Student (1908), Cushny & Peebles' sleep data: extra hours of sleep, drug 2 - drug 1, per patient
SLEEP_DIFFERENCES = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]


def test_paired_t_on_the_sleep_data():
    result = st.one_sided_t(SLEEP_DIFFERENCES)
    assert result.estimate == pytest.approx(1.58)
    assert result.n == 10 and result.name == 'paired t, one-sided (> 0), df=9'
    assert 2 * result.p == pytest.approx(0.00283, abs=1e-5)  # two-sided p = 0.00283, t = 4.062
    assert result.ci_low == pytest.approx(0.70, abs=0.005) and result.ci_high == pytest.approx(2.46, abs=0.005)
    assert result.opposite[0] == pytest.approx(1 - result.p)
    assert result.power_effect == pytest.approx(1.58 / np.std(SLEEP_DIFFERENCES, ddof=1))


def test_pairing_by_seed_uses_only_shared_seeds():
    a = pd.Series([0.80, 0.82, 0.90], index=[0, 1, 2])
    b = pd.Series([0.70, 0.71], index=[1, 0])
    differences = st.paired_differences(a, b)
    assert list(differences.index) == [0, 1] and differences.to_numpy() == pytest.approx([0.09, 0.12])


def test_tost_matches_two_one_sided_t_by_hand():
    x = np.array([0.2, -0.1, 0.3, 0.0, 0.1])
    low, high = -0.5, 0.5
    se = x.std(ddof=1) / math.sqrt(len(x))
    p_low = stats.t.sf((x.mean() - low) / se, len(x) - 1)      # H0: mean <= low
    p_high = stats.t.cdf((x.mean() - high) / se, len(x) - 1)   # H0: mean >= high
    result = st.equivalence(x, low=low, high=high)
    assert result.p == pytest.approx(max(p_low, p_high))
    assert result.opposite == pytest.approx((1 - p_low, 1 - p_high))  # below low, above high
    assert result.power_effect == pytest.approx((high - x.mean()) / x.std(ddof=1))


def test_holm_on_a_known_example():
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([]) == []


def test_power_calculation():
    # one-sample t, one-sided α = 0.05, power 0.8, d = 1: n ≈ 7.7 (the normal approximation says 6.2)
    assert st.seeds_needed(1.0) == 8
    assert st.seeds_needed(0.5) > st.seeds_needed(1.0)
    assert st.seeds_needed(50.0) == 2
    assert st.seeds_needed(1.0, alpha=0.01) > 8
    assert st.seeds_needed(-0.3) is None and st.seeds_needed(math.nan) is None


def test_intersection_union_is_the_largest_p():
    assert st.intersection_union([0.01, 0.2, 0.03]) == 0.2
    assert math.isnan(st.intersection_union([0.01, math.nan]))


def test_no_test_without_spread_or_with_one_seed():
    assert not st.one_sided_t([0.1]).decidable
    assert not st.one_sided_t([0.1, 0.1, 0.1]).decidable
    assert not st.one_sided_t(np.subtract([0.75, 0.76], [0.70, 0.71])).decidable  # equal but for rounding
    assert math.isnan(st.one_sided_t([0.1]).ci_low)
