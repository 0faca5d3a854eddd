"""How a claim's verdict is decided from estimates over seeds: the sign of a difference, beyond Z standard errors,
combined over every network where the claim can be measured (the rules are spelled out in claims.py).
"""
import math
from dataclasses import dataclass

Z = 2.0                 # standard errors for a difference to count as clear

HOLDS, FAILS, UNCLEAR, NOT_MEASURED = 'holds', 'does not hold', 'inconclusive', 'not measured'


@dataclass(frozen=True)
class Estimate:
    mean: float
    std: float          # sample std over seeds; NaN when n = 1
    n: int

    @property
    def se(self) -> float:
        return self.std / math.sqrt(self.n) if self.n > 1 and not math.isnan(self.std) else math.nan

    def percent(self) -> str:
        spread = f' ± {100 * self.std:.1f}' if self.n > 1 and not math.isnan(self.std) else ''
        return f'{100 * self.mean:.1f}{spread}%'


def sign(difference: float, se: float) -> int:
    """+1 clearly above zero, -1 clearly below, 0 within Z standard errors; with no spread (NaN) the sign."""
    if math.isnan(se):
        return (difference > 0) - (difference < 0)
    if difference > Z * se:
        return 1
    if difference < -Z * se:
        return -1
    return 0


def difference(a: Estimate, b: Estimate) -> tuple[float, float]:
    """a - b and its standard error (NaN if either has n = 1)."""
    se = math.sqrt(a.se ** 2 + b.se ** 2) if not (math.isnan(a.se) or math.isnan(b.se)) else math.nan
    return a.mean - b.mean, se


def combine(signs: list[int]) -> str:
    """Every comparison clearly right: holds; any clearly wrong: does not hold; else inconclusive."""
    if any(s < 0 for s in signs):
        return FAILS
    if signs and all(s > 0 for s in signs):
        return HOLDS
    return UNCLEAR


@dataclass(frozen=True)
class Row:
    claim: str
    paper: str
    measured: str
    n: str
    verdict: str
    why: str
