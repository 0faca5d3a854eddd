"""The claims table's tests against textbook answers: a paired t, a TOST, Holm, a power calculation, the
chi-square bound of an sd."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bnonly.reporting import statistics as st

# Student (1908), Cushny & Peebles' sleep data: extra hours of sleep, drug 2 - drug 1, per patient
SLEEP_DIFFERENCES = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]


def test_paired_t_on_the_sleep_data():
    result = st.one_sided_t(SLEEP_DIFFERENCES)
    assert result.estimate == pytest.approx(1.58)
    assert result.n == 10 and result.name == 'paired t, one-sided (> 0), df=9'
    assert 2 * result.p == pytest.approx(0.00283, abs=1e-5)  # two-sided p = 0.00283, t = 4.062
    assert result.ci_low == pytest.approx(0.70, abs=0.005) and result.ci_high == pytest.approx(2.46, abs=0.005)
    assert result.opposite[0] == pytest.approx(1 - result.p)
    assert result.sd == pytest.approx(np.std(SLEEP_DIFFERENCES, ddof=1)) and result.df == 9
    assert result.se == pytest.approx(result.sd / math.sqrt(10)) and result.confidence == 0.95
    # the one-sided 95% upper bound: mean + t_0.95(9) se = 1.58 + 1.833 x 0.389
    assert st.upper_bound(result) == pytest.approx(1.58 + 1.8331 * 0.3890, abs=1e-3)


def test_two_sided_estimate_on_the_sleep_data():
    result = st.two_sided_t(SLEEP_DIFFERENCES)
    assert result.p == pytest.approx(0.00283, abs=1e-5) and result.opposite == () and result.kind == st.TWO_SIDED
    assert result.name == 'paired t, two-sided, df=9'
    assert (result.ci_low, result.ci_high) == pytest.approx((0.70, 2.46), abs=0.005)


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
    # its interval is the 90% one: inside the margins exactly when both one-sided tests reject at 0.05
    half = stats.t.ppf(0.95, len(x) - 1) * se
    assert result.confidence == pytest.approx(0.90)
    assert (result.ci_low, result.ci_high) == pytest.approx((x.mean() - half, x.mean() + half))
    assert (low < result.ci_low and result.ci_high < high) == (result.p <= 0.05)


def test_holm_on_a_known_example():
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([]) == []


def test_power_calculation():
    # one-sample t, one-sided α = 0.05, power 0.8, d = 1: n ≈ 7.7 (the normal approximation says 6.2)
    assert st.seeds_needed(1.0) == 8
    assert st.seeds_needed(0.5) > st.seeds_needed(1.0)
    assert st.seeds_needed(50.0) == 2
    assert st.seeds_needed(1.0, alpha=0.01) > 8
    assert st.seeds_needed(1.0, power=0.9) > 8      # the TOST's per-side power asks for more
    assert st.seeds_needed(-0.3) is None and st.seeds_needed(math.nan) is None


def test_upper_confidence_bound_of_an_sd():
    """sd * sqrt(df / chi2_0.2(df)): with df = 3, chi2_0.2(3) = 1.0052, so the bound is 1.7276 sd."""
    assert st.sd_upper(1.0, 3) == pytest.approx(math.sqrt(3 / 1.005174), rel=1e-4)
    assert st.sd_upper(2.0, 3) == pytest.approx(2 * st.sd_upper(1.0, 3))
    assert st.sd_upper(1.0, 30) < st.sd_upper(1.0, 3)          # more df, a tighter bound
    assert math.isnan(st.sd_upper(0.0, 3)) and math.isnan(st.sd_upper(1.0, 0))


def test_intersection_union_is_the_largest_p():
    assert st.intersection_union([0.01, 0.2, 0.03]) == 0.2
    assert math.isnan(st.intersection_union([0.01, math.nan]))


def test_no_test_without_spread_or_with_one_seed():
    assert not st.one_sided_t([0.1]).decidable
    assert not st.one_sided_t([0.1, 0.1, 0.1]).decidable
    assert not st.one_sided_t(np.subtract([0.75, 0.76], [0.70, 0.71])).decidable  # equal but for rounding
    assert math.isnan(st.one_sided_t([0.1]).ci_low)


def _frame(table: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([dict(arch=arch, seed=seed, value=value) for arch, values in table.items()
                         for seed, value in enumerate(values)])


def test_blocked_contrast_with_two_networks_is_the_paired_t():
    a, b = [0.61, 0.64, 0.60, 0.66], [0.55, 0.59, 0.56, 0.58]
    outcome = st.blocked_contrast(_frame({'deep': a, 'shallow': b}), 'deep', 'shallow')
    paired = stats.ttest_rel(a, b, alternative='greater')
    assert outcome.p == pytest.approx(paired.pvalue) and outcome.name.endswith('df=3')
    assert outcome.estimate == pytest.approx(np.mean(np.subtract(a, b)))


def test_blocked_contrast_uses_the_two_way_anova_error():
    """The randomised complete block design by hand: residual = y - row mean - column mean + grand mean,
    MSE = SSE / ((k - 1)(s - 1)), t = (mean_a - mean_b) / sqrt(2 MSE / s)."""
    table = {'r14': [0.50, 0.56, 0.52], 'r32': [0.58, 0.61, 0.57], 'wrn': [0.55, 0.57, 0.53]}
    y = np.array(list(table.values()))                      # networks x seeds
    residual = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    df = (y.shape[0] - 1) * (y.shape[1] - 1)
    mse = (residual ** 2).sum() / df
    t = (y[1].mean() - y[0].mean()) / math.sqrt(2 * mse / y.shape[1])
    outcome = st.blocked_contrast(_frame(table), 'r32', 'r14')
    assert outcome.p == pytest.approx(stats.t.sf(t, df)) and outcome.name.endswith(f'df={df}')
    assert outcome.df == df and outcome.sd == pytest.approx(math.sqrt(2 * mse))  # what a seed count plans with
    half = stats.t.ppf(0.975, df) * math.sqrt(2 * mse / y.shape[1])
    assert (outcome.ci_low, outcome.ci_high) == pytest.approx((y[1].mean() - y[0].mean() - half,
                                                              y[1].mean() - y[0].mean() + half))


def test_blocked_contrast_keeps_only_complete_blocks():
    values = _frame({'a': [0.6, 0.7, 0.65], 'b': [0.5, 0.55, 0.52]})
    values = values[~((values.arch == 'b') & (values.seed == 2))]   # seed 2 lacks network b
    assert st.blocked_contrast(values, 'a', 'b').n == 2


def test_benjamini_hochberg_on_a_known_example():
    """BH by hand: q_(i) = min over j >= i of p_(j) m / j; p = [0.01, 0.04, 0.03, 0.005] -> [0.02, 0.04, 0.04, 0.02]."""
    assert st.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_one_t_interval_for_the_claims_and_the_error_bars():
    """bnonly.reporting.intervals is scipy's t interval to the last bit (the claims' intervals), and its
    half-width is what the summary's ci95 and the figures' error bars print."""
    from bnonly.reporting.intervals import t_half_width, t_interval
    x = np.asarray(SLEEP_DIFFERENCES)
    sem = stats.sem(x)
    for confidence in (0.95, 0.9):
        expected = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=sem)
        assert t_interval(x.mean(), sem, len(x) - 1, confidence) == expected
        result = st.one_sided_t(x) if confidence == 0.95 else st.equivalence(x, low=-5, high=5)
        assert (result.ci_low, result.ci_high) == tuple(float(v) for v in expected)
    half = t_half_width([x.std(ddof=1), 1.0, 2.0], [len(x), 1, 3])
    assert half[0] == pytest.approx(stats.t.ppf(0.975, 9) * sem, rel=1e-12)
    assert math.isnan(half[1]) and half[2] == pytest.approx(4.303 * 2 / math.sqrt(3), rel=1e-3)
