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
- Every estimate carries its two-sided 95% t interval and n.
- **Holm** across the whole table (``holm``) over every one-sided test that can decide a verdict.
- The **seeds needed** when a test does not resolve: the n at which a one-sided one-sample t at
  α = 0.05 reaches power 0.8 for a given standardised effect (mean / sd of the paired differences).
  The power calculation ignores the Holm correction, so it is a lower bound under the table's correction.
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

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95
GREATER, LESS = 'greater', 'less'


@dataclass(frozen=True)
class Outcome:
    name: str                   # e.g. 'paired t, one-sided (> 0), df=2'
    estimate: float             # mean of the values (the paired differences, or the cell's values)
    ci_low: float               # two-sided 95% t interval of the mean; NaN when n < 2
    ci_high: float
    n: int
    sd: float                   # sample sd of the values; NaN when n < 2
    p: float                    # one-sided p of the claim (TOST: the larger of its two); NaN when undefined
    opposite: tuple[float, ...]  # one-sided p of each test that would contradict the claim
    power_effect: float         # standardised effect the seeds-needed rule uses (NaN: no count applies)

    @property
    def decidable(self) -> bool:
        return not math.isnan(self.p)


def paired_differences(a: pd.Series, b: pd.Series) -> pd.Series:
    """a - b per seed, on the seeds both series have (both indexed by seed)."""
    shared = a.index.intersection(b.index).sort_values()
    return (a.loc[shared] - b.loc[shared]).astype(float)


def _interval(x: np.ndarray) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    sem = stats.sem(x)
    if sem == 0:
        return float(x.mean()), float(x.mean())
    low, high = stats.t.interval(CONFIDENCE, len(x) - 1, loc=x.mean(), scale=sem)
    return float(low), float(high)


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


def one_sided_t(values, *, null: float = 0.0, direction: str = GREATER, kind: str = 'paired t') -> Outcome:
    """One-sided one-sample t of mean(values) against ``null`` in ``direction``; the other side is the opposite."""
    x = np.asarray(values, dtype=float)
    other = LESS if direction == GREATER else GREATER
    sign = '>' if direction == GREATER else '<'
    low, high = _interval(x)
    mean = float(x.mean()) if len(x) else math.nan
    effect = math.nan if _no_spread(x) else standardised(mean - null, _sd(x)) * (1 if direction == GREATER else -1)
    return Outcome(name=f'{kind}, one-sided ({sign} {null:g}), df={len(x) - 1}', estimate=mean, ci_low=low,
                      ci_high=high, n=len(x), sd=_sd(x), p=_one_sided_p(x, null, direction),
                      opposite=(_one_sided_p(x, null, other),), power_effect=effect)


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
        return Outcome(name=name, estimate=mean, ci_low=math.nan, ci_high=math.nan, n=seeds, sd=math.nan,
                       p=math.nan, opposite=(math.nan,), power_effect=math.nan)
    fit = smf.ols(f"value ~ C(arch, Treatment(reference='{b}')) + C(seed)", data=complete).fit()
    term = f"C(arch, Treatment(reference='{b}'))[T.{a}]"
    t, se = float(fit.tvalues[term]), float(fit.bse[term])
    low, high = (float(x) for x in fit.conf_int(1 - CONFIDENCE).loc[term])
    sd = math.sqrt(2 * float(fit.mse_resid))  # the sd of a per-seed difference under the model
    p_greater, p_less = float(stats.t.sf(t, fit.df_resid)), float(stats.t.cdf(t, fit.df_resid))
    p, opposite = (p_greater, p_less) if direction == GREATER else (p_less, p_greater)
    effect = standardised(mean, sd) * (1 if direction == GREATER else -1)
    return Outcome(name=name, estimate=float(fit.params[term]), ci_low=low, ci_high=high, n=seeds, sd=sd, p=p,
                   opposite=(opposite,), power_effect=effect)


def equivalence(values, *, low: float, high: float, kind: str = 'paired', margins: str | None = None) -> Outcome:
    """TOST: is mean(values) inside (low, high)? The opposite: below low, or above high (two one-sided t)."""
    x = np.asarray(values, dtype=float)
    ci_low, ci_high = _interval(x)
    mean = float(x.mean()) if len(x) else math.nan
    if _no_spread(x):
        p = math.nan
    else:
        p = float(DescrStatsW(x).ttost_mean(low, high)[0])
    sd = _sd(x)
    # the nearer margin binds: the power rule uses the one-sided test against it
    effect = math.nan if _no_spread(x) else standardised(min(mean - low, high - mean), sd)
    margins = margins or f'({low:+g}, {high:+g})'
    return Outcome(name=f'TOST ({kind}), margins {margins}, df={len(x) - 1}', estimate=mean,
                      ci_low=ci_low, ci_high=ci_high, n=len(x), sd=sd, p=p,
                      opposite=(_one_sided_p(x, low, LESS), _one_sided_p(x, high, GREATER)), power_effect=effect)


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


def seeds_needed(effect_size: float, alpha: float = ALPHA) -> int | None:
    """Seeds for a one-sided one-sample t at ``alpha`` to reach POWER at ``effect_size``; None if no count can.

    A standardised effect that is not positive (the data point the other way) or unknown (no spread) has no
    answer.
    """
    if not (effect_size > 0 and math.isfinite(effect_size)):
        return None
    power = TTestPower()
    if power.power(effect_size=effect_size, nobs=2, alpha=alpha, alternative='larger') >= POWER:
        return 2  # the solver's bracket starts above 2; the smallest t test already suffices
    n = power.solve_power(effect_size=effect_size, nobs=None, alpha=alpha, power=POWER, alternative='larger')
    return int(math.ceil(float(n))) if math.isfinite(float(n)) else None
