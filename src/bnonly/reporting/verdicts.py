"""How a row of the claims table gets its verdict from its tests, after a multiplicity correction.

A row is measured on one or more networks, each with one test (bnonly.reporting.statistics). A claim about
every network is an intersection-union test: its p-value is the largest of the networks' one-sided p.
Every one-sided test that can decide a verdict is corrected: each measured row's claim (its IUT p) and
each network's contradicting test(s), so the chance of any wrong verdict in the table stays at α.

The correction is Holm's, over one family, or, when the table names its **primary** rows, a serial
gatekeeping procedure of two Holm families (Dmitrienko, Tamhane & Bretz, *Multiple Testing Problems in
Pharmaceutical Statistics*, 2010, ch. 5; Westfall & Krishen 2001):

1. the primary family: the claim tests of the primary rows, Holm at α; with ``both_directions``, also
   each primary row's contradicting tests, so that a primary claim can be found reversed there;
2. the secondary family: every other test (the other rows' claims and their contradicting tests; without
   ``both_directions``, the primary rows' contradicting tests too), Holm at α, tested only if every primary
   claim holds. Its adjusted p is the larger of its Holm p and the largest adjusted p of the primary claims,
   so "adjusted p ≤ α" is the one rule for both families.

Without ``both_directions`` the whole table keeps its family-wise error rate at α (serial gatekeeping), but a
primary claim can only hold or stay open: its contradicting tests sit behind the gate it would shut. With
``both_directions`` the primary family is larger (Holm asks more of each primary claim) and a primary claim
can fail; the gate opens when every primary claim holds, which no rejected primary contradicting test allows
(its network's claim test then has p ≥ 1 - α). Holm keeps each family's error rate at α; a table-wide bound
at α is not claimed for this option. With ``gate=DECIDED`` (only with ``both_directions``) the gate opens
when every primary row is decided either way, holding or reversed: each primary row is then one two-sided
question asked by its two one-sided tests, and the gate is the largest over the rows of the smaller of the
two adjusted p.

Naming the primary rows, and the option, is a choice made before the data it is applied to: a smaller first
family asks less of each test (Holm's first step is α / m), which is what lets a few seeds decide the claims
that matter most, at the price that nothing else is decided unless they all hold.

- **holds**: the claim's adjusted p ≤ α.
- **does not hold**: some network's contradicting test (the opposite direction; for an equivalence, outside
  the margin) has adjusted p ≤ α. When the table's budget is short of the recipe the claim was made at
  (``Budget.short``), the verdict is **contradicted at this budget** instead: a short run going the other way
  is not a test of a claim about converged networks.
- **not resolvable at this budget**: neither; the row gives the seeds a new confirmatory seed set would need
  (``Planning``): at α (as a single test) and at α / m, the level of Holm's first step over the m tests of
  its family (an upper bound on what the correction can ask for).
- **exploratory**: a row kept out of every family (``Row.exploratory`` says why): its estimate and
  unadjusted p are printed, never a verdict.
- **not measured**: the grid lacks the cells; the row says which.

Every verdict is scoped: the networks it was measured on (``Row.scope``) and the budget (``Budget``).

Beside the verdict, each measured row carries a Benjamini-Hochberg q-value of its own test over the rows'
own tests: what a false-discovery-rate reading at 5% would accept. It is exploratory and never changes a
verdict.
"""
import copy
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from bnonly.reporting.statistics import (ALPHA, POWER, TOST, TOST_POWER, Outcome, benjamini_hochberg, holm,
                                     intersection_union, sd_upper, seeds_needed)

HOLDS, FAILS, CONTRADICTED = 'holds', 'does not hold', 'contradicted at this budget'
UNRESOLVED, EXPLORATORY, NOT_MEASURED = 'not resolvable at this budget', 'exploratory', 'not measured'
VERDICTS = (HOLDS, FAILS, CONTRADICTED, UNRESOLVED, EXPLORATORY, NOT_MEASURED)
DECIDED = 'is decided'      # decide's other gate: every primary row holds or is reversed (module docstring)


class Budget(NamedTuple):
    """What each cell was trained for, as the verdicts print it, and whether that is short of the recipe the
    claims were made at (then a contradiction is CONTRADICTED, not FAILS)."""
    text: str               # e.g. '1,000 steps'
    short: bool


class Planning(NamedTuple):
    """The effect a seed count plans for, in the test's own units (a difference of shares, a log odds ratio)."""
    effect: float
    basis: str              # e.g. "the paper's", 'smallest effect of interest'
    scale: float = 100      # printed as scale x effect ...
    unit: str = 'points'    # ... in this unit


@dataclass(frozen=True)
class Finding:
    """One network's test within a row."""
    label: str
    outcome: Outcome
    text: str                   # the estimate as printed, e.g. '+30.1 [27.0, 33.2] points'
    scope: str | None = None    # the networks it covers, when not the label (a contrast of two networks)

    @property
    def covers(self) -> str:
        return self.scope or self.label


@dataclass
class Row:
    number: str
    claim: str
    paper: str
    ours: str = '-'
    test: str = '-'
    findings: list[Finding] = field(default_factory=list)
    reason: str = ''            # why not measured / why exploratory
    planning: Planning | None = None        # the effect a seed count plans for
    exploratory: bool = False               # kept out of every family: estimate and unadjusted p only
    verdict: str = ''
    budget: Budget | None = None
    p_holm: float = math.nan
    p_opposite_holm: float = math.nan
    q_bh: float = math.nan                  # exploratory: Benjamini-Hochberg over the rows' own tests
    seeds_needed: int | None = None        # at ALPHA
    seeds_needed_holm: int | None = None   # at ALPHA / (tests in the row's Holm family)
    planning_sd: float = math.nan           # the sd the count planned with (upper bound), the network's that
    observed_sd: float = math.nan           # needs the most seeds, and its observed sd
    family_size: int = 0
    family: str = ''                        # 'primary' | 'secondary' in a gatekept table, '' in one Holm family
    gate: str = HOLDS                       # a secondary row: what every primary row must do to open the gate

    @property
    def primary(self) -> bool:
        return self.family == 'primary'

    @property
    def p_raw(self) -> float:
        return intersection_union(f.outcome.p for f in self.findings) if self.findings else math.nan

    @property
    def opposite_raw(self) -> list[float]:
        return [p for f in self.findings for p in f.outcome.opposite if not math.isnan(p)]

    @property
    def deciding(self) -> Finding | None:
        """The finding whose p is the row's (the weakest network of an IUT; else one without a test)."""
        if not self.findings:
            return None
        undecidable = [f for f in self.findings if not f.outcome.decidable]
        return undecidable[0] if undecidable else max(self.findings, key=lambda f: f.outcome.p)

    @property
    def scope(self) -> str:
        """The networks the verdict rests on: 'ResNet-14 only', or 'ResNet-14, ResNet-32'."""
        covered = list(dict.fromkeys(f.covers for f in self.findings))
        if not covered:
            return ''
        return f'{covered[0]} only' if len(covered) == 1 else ', '.join(covered)

    @property
    def equivalence(self) -> bool:
        return any(f.outcome.kind == TOST for f in self.findings)

    @property
    def n_text(self) -> str:
        ns = sorted({f.outcome.n for f in self.findings})
        if not ns:
            return '-'
        return str(ns[0]) if len(ns) == 1 else f'{ns[0]}-{ns[-1]}'


def not_measured(number: str, claim: str, paper: str, reason: str) -> Row:
    return Row(number, claim, paper, verdict=NOT_MEASURED, reason=reason)


def _plan(row: Row, alpha: float) -> tuple[int | None, float, float]:
    """Seeds for every network's test to reach the power at the row's planning effect, with each network's sd
    at its upper confidence bound: (the largest count, that network's planning sd, its observed sd); None
    when some network has no count (no spread, or no planning effect)."""
    if row.planning is None:
        return None, math.nan, math.nan
    power = TOST_POWER if row.equivalence else POWER
    plans = []
    for finding in row.findings:
        sd = sd_upper(finding.outcome.sd, finding.outcome.df)
        effect = row.planning.effect / sd if sd > 0 else math.nan
        plans.append((seeds_needed(effect, alpha, power), sd, finding.outcome.sd))
    if not plans or any(count is None for count, _, _ in plans):
        return None, math.nan, math.nan
    return max(plans, key=lambda plan: plan[0])


def _adjust(family: list[tuple[int, bool, float]], floor: float = 0.0) -> list[float]:
    """Holm over one family, no adjusted p below ``floor`` (the gate a secondary family passes through)."""
    return [max(p, floor) for p in holm(p for _, _, p in family)]


def _reset(row: Row) -> None:
    """Forget an earlier decision, so that a table can be decided again under another design."""
    if row.verdict != NOT_MEASURED:
        row.verdict = ''
    row.p_holm = row.p_opposite_holm = row.q_bh = row.planning_sd = row.observed_sd = math.nan
    row.seeds_needed = row.seeds_needed_holm = None
    row.family_size, row.family = 0, ''


def decide(rows: list[Row], primary: Collection[str] | None = None, *, both_directions: bool = False,
           budget: Budget | None = None, gate: str = HOLDS) -> list[Row]:
    """Correct for multiplicity (module docstring), then give each measured row its verdict.

    ``primary``: the numbers of the rows whose claim tests form the first family of a serial gatekeeping
    procedure; None (or empty) corrects the whole table as one Holm family. ``both_directions``: the primary
    rows' contradicting tests join the first family. ``budget``: what the cells were trained for, printed
    with every verdict. Rows are updated in place.
    """
    primary = set(primary or ())
    unknown = primary - {row.number for row in rows}
    if unknown:
        raise ValueError(f'primary rows {sorted(unknown)} are not in the table')
    first, second = [], []      # (row index, is the claim's own test, raw p)
    for index, row in enumerate(rows):
        _reset(row)
        row.budget = budget
        if row.verdict == NOT_MEASURED:
            continue
        if row.exploratory:
            row.verdict = EXPLORATORY
            continue
        row.family = ('primary' if row.number in primary else 'secondary') if primary else ''
        row.gate = gate
        if not math.isnan(row.p_raw):
            (first if row.primary else second).append((index, True, row.p_raw))
        contradicting = [(index, False, p) for p in row.opposite_raw]
        (first if row.primary and both_directions else second).extend(contradicting)
    if not primary:
        first, second = second, []
    adjusted = _adjust(first)
    # A primary row the grid does not measure is outside the first family: which rows a grid measures is fixed by
    # its cells, before any outcome, so leaving it out keeps the family-wise error at α. A measured primary row
    # without a test (no spread) depends on the outcomes: it is a claim not shown, and the gate stays shut.
    untested = any(row.primary and row.verdict != EXPLORATORY and row.verdict != NOT_MEASURED
                   and math.isnan(row.p_raw) for row in rows)
    claims = [p for (_, is_own, _), p in zip(first, adjusted) if is_own]
    if gate == DECIDED:
        if not both_directions:
            raise ValueError('a gate on decided primary rows needs both directions in the primary family')
        either = {}
        for (index, _, _), p in zip(first, adjusted):
            either[index] = min(either.get(index, 1.0), p)
        claims = list(either.values())
    floor = 1.0 if untested else max(claims, default=0.0)
    adjusted += _adjust(second, floor=floor)
    family = first + second
    own = [(index, p) for index, is_own, p in family if is_own]
    for (index, _), q in zip(own, benjamini_hochberg(p for _, p in own)):
        rows[index].q_bh = q
    for (index, is_own, _), p in zip(family, adjusted):
        row = rows[index]
        if is_own:
            row.p_holm = p
        else:
            row.p_opposite_holm = p if math.isnan(row.p_opposite_holm) else min(row.p_opposite_holm, p)
    for row in rows:
        if row.verdict in (NOT_MEASURED, EXPLORATORY):
            continue
        row.family_size = len(first) if row.primary or not primary else len(second)
        if row.p_holm <= ALPHA:
            row.verdict = HOLDS
        elif row.p_opposite_holm <= ALPHA:
            row.verdict = CONTRADICTED if budget is not None and budget.short else FAILS
        else:
            row.verdict = UNRESOLVED
            row.seeds_needed = _plan(row, ALPHA)[0]
            row.seeds_needed_holm, row.planning_sd, row.observed_sd = _plan(row, ALPHA / max(1, row.family_size))
    return rows


class Sensitivity(NamedTuple):
    held: int           # primary claims that hold under the other design
    primary: int        # primary claims in the table
    largest_p: float    # the largest adjusted p of the primary claims under it


def both_directions_sensitivity(rows: list[Row], primary: Collection[str], budget: Budget | None = None
                                ) -> Sensitivity:
    """The same table decided again with both directions of each primary claim in the primary family (on a
    copy; the rows keep their verdicts): how many primary claims would still hold, and at what largest p."""
    again = decide(copy.deepcopy(rows), primary, both_directions=True, budget=budget)
    claims = [row for row in again if row.number in set(primary)]
    adjusted = [row.p_holm for row in claims if not math.isnan(row.p_holm)]
    return Sensitivity(held=sum(row.verdict == HOLDS for row in claims), primary=len(claims),
                       largest_p=max(adjusted, default=math.nan))
