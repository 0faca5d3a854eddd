"""The tests behind the claims table, each a library call (scipy.stats, statsmodels), never a hand formula.

Rules:

- Cells with the same seed share data order, training subset and (within one network) initial weights, so
  two cells are compared **paired by seed**: the difference per seed on the seeds both have, then a
  one-sample t test on those differences (df = pairs - 1). A single cell against a number is a one-sample t.
- Directional claims are **one-sided** tests in the claimed direction. Each result also carries the
  one-sided p-values of the tests that would contradict the claim (the opposite direction; for an
  equivalence, lying below the lower or above the upper margin), so a verdict of "does not hold" needs
  evidence too and is never read off a lack of power.
- Claims that compare networks trained the same way (depth, width, depth against width) use every network
  of that trainable set in the grid: a **randomised complete block** model, value ~ network + seed (OLS,
  statsmodels), with the contrast of the two networks tested by its t at the residual df,
  (networks - 1)(seeds - 1). The seeds are the blocks, as in the paired t, and the other networks add
  degrees of freedom to the error variance, assuming it is the same for every network. With two networks
  it is exactly the paired t.
- "Barely changes" claims are **TOST** equivalence tests against margins fixed before looking at the data.
- Every estimate carries a two-sided t interval (bnonly.reporting.intervals) and n, unadjusted for
  multiplicity: 95% (``CONFIDENCE``) for the t tests, 90% (1 - 2α, ``TOST_CONFIDENCE``) for a TOST, the
  interval the TOST decides by (it shows equivalence at α exactly when it lies inside the margins).
  ``upper_bound`` gives a one-sided bound.
- Estimates reported without a test of a claim (``two_sided_t``) carry a two-sided p, never a verdict.
- **Holm** across the whole table (``holm``) over every one-sided test that can decide a verdict.
- The **seeds needed** when a test does not resolve (``seeds_needed``): the n at which a one-sided
  one-sample t at level α reaches power 0.8 for a standardised effect. The caller states the effect it plans
  for (the paper's, or a smallest effect of interest) and divides it by ``sd_upper``, the upper 80%
  chi-square confidence bound of the observed sd, so that a lucky small sd from a few seeds does not
  promise too few. A TOST needs both of its one-sided tests to reject: each is planned at power
  1 - (1 - 0.8) / 2 (``TOST_POWER``), so that both reject with probability at least 0.8.
"""
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
import statsmodels.formula.api as smf
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import DescrStatsW

from bnonly.reporting.intervals import CONFIDENCE, t_interval

ALPHA = 0.05
POWER = 0.8
TOST_POWER = 1 - (1 - POWER) / 2    # per one-sided test of a TOST: both reject with probability >= POWER
TOST_CONFIDENCE = 1 - 2 * ALPHA     # the interval a TOST at ALPHA decides by
SD_CONFIDENCE = 0.8                 # the sd a seed count plans with: its upper 80% confidence bound
GREATER, LESS = 'greater', 'less'
ONE_SIDED, TOST, TWO_SIDED = 'one-sided', 'tost', 'two-sided'


@dataclass(frozen=True)
class Outcome:
    name: str                   # e.g. 'paired t, one-sided (> 0), df=2'
    kind: str                   # ONE_SIDED, TOST or TWO_SIDED
    estimate: float             # mean of the values (the paired differences, or the cell's values)
    ci_low: float               # two-sided t interval of the mean at ``confidence``, unadjusted; NaN when n < 2
    ci_high: float
    confidence: float           # CONFIDENCE, or TOST_CONFIDENCE for a TOST
    n: int
    df: int                     # degrees of freedom of sd and of the t (n - 1, or a block model's residual df)
    sd: float                   # sd of one value (a paired difference); NaN when undefined
    se: float                   # standard error of the estimate; NaN when undefined
    p: float                    # one-sided p of the claim (TOST: the larger of its two; two-sided: two-sided)
    opposite: tuple[float, ...]  # one-sided p of each test that would contradict the claim

    @property
    def decidable(self) -> bool:
        return not math.isnan(self.p)


def paired_differences(a: pd.Series, b: pd.Series) -> pd.Series:
    """a - b per seed, on the seeds both series have (both indexed by seed)."""
    shared = a.index.intersection(b.index).sort_values()
    return (a.loc[shared] - b.loc[shared]).astype(float)


def _interval(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    sem = stats.sem(x)
    if sem == 0:
        return float(x.mean()), float(x.mean())
    low, high = t_interval(x.mean(), sem, len(x) - 1, confidence)
    return float(low), float(high)


def _se(x: np.ndarray) -> float:
    return float(stats.sem(x)) if len(x) > 1 else math.nan


def _no_spread(x: np.ndarray) -> bool:
    """Under two values, or all equal up to rounding: t is undefined (0/0 or a rounding artefact over 0)."""
    return len(x) < 2 or np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max()))


def _one_sided_p(x: np.ndarray, null: float, alternative: str) -> float:
    """scipy's one-sample t p-value; NaN when it is undefined (no spread)."""
    if _no_spread(x):
        return math.nan
    return float(stats.ttest_1samp(x, null, alternative=alternative).pvalue)


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else math.nan


def standardised(mean: float, sd: float) -> float:
    """Mean over sd (Cohen's d of one sample, d_z of paired differences); NaN when sd is 0 or unknown."""
    return mean / sd if sd > 0 else math.nan


def sd_upper(sd: float, df: int, confidence: float = SD_CONFIDENCE) -> float:
    """The upper one-sided ``confidence`` bound of a normal sd estimated with ``df`` degrees of freedom:
    sd * sqrt(df / chi2_{1 - confidence}(df)). NaN when sd or df says nothing."""
    if not (df >= 1 and sd > 0 and math.isfinite(sd)):
        return math.nan
    return float(sd * math.sqrt(df / stats.chi2.ppf(1 - confidence, df)))


def upper_bound(outcome: Outcome, confidence: float = CONFIDENCE) -> float:
    """The one-sided upper ``confidence`` t bound of the estimate (unadjusted); NaN without a standard error."""
    if not (outcome.se > 0 and outcome.df >= 1):
        return math.nan
    return float(outcome.estimate + stats.t.ppf(confidence, outcome.df) * outcome.se)


def one_sided_t(values, *, null: float = 0.0, direction: str = GREATER, kind: str = 'paired t') -> Outcome:
    """One-sided one-sample t of mean(values) against ``null`` in ``direction``; the other side is the opposite."""
    x = np.asarray(values, dtype=float)
    other = LESS if direction == GREATER else GREATER
    sign = '>' if direction == GREATER else '<'
    low, high = _interval(x)
    mean = float(x.mean()) if len(x) else math.nan
    return Outcome(name=f'{kind}, one-sided ({sign} {null:g}), df={len(x) - 1}', kind=ONE_SIDED, estimate=mean,
                   ci_low=low, ci_high=high, confidence=CONFIDENCE, n=len(x), df=len(x) - 1, sd=_sd(x),
                   se=_se(x), p=_one_sided_p(x, null, direction), opposite=(_one_sided_p(x, null, other),))


def two_sided_t(values, *, kind: str = 'paired t') -> Outcome:
    """An estimate with its two-sided interval and two-sided p against 0: reported, never a claim's test."""
    x = np.asarray(values, dtype=float)
    low, high = _interval(x)
    mean = float(x.mean()) if len(x) else math.nan
    p = math.nan if _no_spread(x) else float(stats.ttest_1samp(x, 0.0).pvalue)
    return Outcome(name=f'{kind}, two-sided, df={len(x) - 1}', kind=TWO_SIDED, estimate=mean, ci_low=low,
                   ci_high=high, confidence=CONFIDENCE, n=len(x), df=len(x) - 1, sd=_sd(x), se=_se(x), p=p,
                   opposite=())


def blocked_contrast(values: pd.DataFrame, a: str, b: str, *, direction: str = GREATER) -> Outcome:
    """One-sided t of network ``a`` minus ``b`` in the block model value ~ network + seed.

    ``values`` has columns ``arch``, ``seed``, ``value`` for every network in the model; only the seeds every
    network has are used (complete blocks). The estimate is the mean per-seed difference a - b; its interval
    and p use the residual variance of all networks.
    """
    networks = sorted(set(values.arch))
    counts = values.groupby('seed').arch.nunique()
    complete = values[values.seed.isin(counts[counts == len(networks)].index)]
    seeds = complete.seed.nunique()
    df = (len(networks) - 1) * (seeds - 1)
    other = LESS if direction == GREATER else GREATER
    sign = '>' if direction == GREATER else '<'
    name = f'blocked t (network + seed, {len(networks)} networks), one-sided ({sign} 0), df={df}'
    wide = complete.pivot(index='seed', columns='arch', values='value')
    differences = (wide[a] - wide[b]).to_numpy(dtype=float) if a in wide and b in wide else np.array([])
    mean = float(differences.mean()) if len(differences) else math.nan
    if df < 1 or _no_spread(complete.value.to_numpy(dtype=float)):
        return Outcome(name=name, kind=ONE_SIDED, estimate=mean, ci_low=math.nan, ci_high=math.nan,
                       confidence=CONFIDENCE, n=seeds, df=max(df, 0), sd=math.nan, se=math.nan, p=math.nan,
                       opposite=(math.nan,))
    fit = smf.ols(f"value ~ C(arch, Treatment(reference='{b}')) + C(seed)", data=complete).fit()
    term = f"C(arch, Treatment(reference='{b}'))[T.{a}]"
    t, se = float(fit.tvalues[term]), float(fit.bse[term])
    low, high = (float(x) for x in fit.conf_int(1 - CONFIDENCE).loc[term])
    sd = math.sqrt(2 * float(fit.mse_resid))  # the sd of a per-seed difference under the model
    p_greater, p_less = float(stats.t.sf(t, fit.df_resid)), float(stats.t.cdf(t, fit.df_resid))
    p, opposite = (p_greater, p_less) if direction == GREATER else (p_less, p_greater)
    return Outcome(name=name, kind=ONE_SIDED, estimate=float(fit.params[term]), ci_low=low, ci_high=high,
                   confidence=CONFIDENCE, n=seeds, df=int(fit.df_resid), sd=sd, se=se, p=p, opposite=(opposite,))


def equivalence(values, *, low: float, high: float, kind: str = 'paired', margins: str | None = None) -> Outcome:
    """TOST: is mean(values) inside (low, high)? The opposite: below low, or above high (two one-sided t).
    Its interval is the 90% one (TOST_CONFIDENCE): inside the margins exactly when the TOST rejects at α."""
    x = np.asarray(values, dtype=float)
    ci_low, ci_high = _interval(x, TOST_CONFIDENCE)
    mean = float(x.mean()) if len(x) else math.nan
    if _no_spread(x):
        p = math.nan
    else:
        p = float(DescrStatsW(x).ttost_mean(low, high)[0])
    margins = margins or f'({low:+g}, {high:+g})'
    return Outcome(name=f'TOST ({kind}), margins {margins}, df={len(x) - 1}', kind=TOST, estimate=mean,
                   ci_low=ci_low, ci_high=ci_high, confidence=TOST_CONFIDENCE, n=len(x), df=len(x) - 1, sd=_sd(x),
                   se=_se(x), p=p, opposite=(_one_sided_p(x, low, LESS), _one_sided_p(x, high, GREATER)))


def intersection_union(ps) -> float:
    """The p-value of 'every one of these holds': the largest of the individual p-values (NaN if any is)."""
    ps = list(ps)
    if not ps or any(math.isnan(p) for p in ps):
        return math.nan
    return max(ps)


def holm(ps) -> list[float]:
    """Holm-adjusted p-values (statsmodels), in the order given."""
    ps = list(ps)
    if not ps:
        return []
    return [float(p) for p in multipletests(ps, alpha=ALPHA, method='holm')[1]]


def benjamini_hochberg(ps) -> list[float]:
    """Benjamini-Hochberg q-values (statsmodels), in the order given: the false-discovery-rate reading."""
    ps = list(ps)
    if not ps:
        return []
    return [float(q) for q in multipletests(ps, alpha=ALPHA, method='fdr_bh')[1]]


def seeds_needed(effect_size: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds for a one-sided one-sample t at ``alpha`` to reach ``power`` at ``effect_size``; None if no count
    can. A standardised effect that is not positive or unknown (no spread) has no answer."""
    if not (effect_size > 0 and math.isfinite(effect_size)):
        return None
    solver = TTestPower()
    if solver.power(effect_size=effect_size, nobs=2, alpha=alpha, alternative='larger') >= power:
        return 2  # the solver's bracket starts above 2; the smallest t test already suffices
    n = solver.solve_power(effect_size=effect_size, nobs=None, alpha=alpha, power=power, alternative='larger')
    return int(math.ceil(float(n))) if math.isfinite(float(n)) else None
