"""The two-sided t interval of a mean, written once: the claims' intervals (bnonly.reporting.statistics) and
the figures' error bars (the summary's ``ci95``, bnonly.paper.aggregate) are both this one.

It imports scipy alone, so that the figure stages, which draw error bars, do not load the statistical models
the claims need.
"""
import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def t_interval(mean, se, df, confidence: float = CONFIDENCE):
    """(low, high): mean + t_q(df) x se at q = (1 - confidence) / 2 and (1 + confidence) / 2, elementwise, in
    scipy.stats.t.interval's arithmetic (so its results are that function's to the last bit)."""
    low = stats.t.ppf((1.0 - confidence) / 2, df) * se + mean
    high = stats.t.ppf((1.0 + confidence) / 2, df) * se + mean
    return low, high


def t_half_width(sd, n, confidence: float = CONFIDENCE) -> np.ndarray:
    """The half-width of the t interval of a mean over ``n`` values of sample sd ``sd``, elementwise; NaN where
    n < 2."""
    n = np.asarray(n, dtype=float)
    se = np.asarray(sd, dtype=float) / np.sqrt(n)
    return np.asarray(t_interval(0.0, se, np.where(n > 1, n - 1, np.nan), confidence)[1], dtype=float)
