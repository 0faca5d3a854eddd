"""How a row of the claims table gets its verdict from its tests, after a multiplicity correction.

A row is measured on one or more networks, each with one test (bnonly.paper.statistics). A claim about
every network is an intersection-union test: its p-value is the largest of the networks' one-sided p.
Every one-sided test that can decide a verdict is corrected: each measured row's claim (its IUT p) and
each network's contradicting test(s), so the chance of any wrong verdict in the table stays at α.

The correction is Holm's, over one family, or, when the table names its **primary** rows, a serial
gatekeeping procedure of two Holm families (Dmitrienko, Tamhane & Bretz, *Multiple Testing Problems in
Pharmaceutical Statistics*, 2010, ch. 5; Westfall & Krishen 2001):

1. the primary family: the claim tests of the primary rows, Holm at α;
2. the secondary family: every other test (the other rows' claims and all contradicting tests), Holm at
   α, tested only if every primary claim holds. Its adjusted p is the larger of its Holm p and the
   largest primary adjusted p, so "adjusted p ≤ α" is the one rule for both families, and the whole table
   keeps its family-wise error rate at α.

Naming the primary rows is a choice made before the data it is applied to: a smaller first family asks
less of each test (Holm's first step is α / m), which is what lets a few seeds decide the claims that
matter most, at the price that nothing else is decided unless they all hold.

- **holds**: the claim's adjusted p ≤ α.
- **does not hold**: some network's contradicting test (the opposite direction; for an equivalence, outside
  the margin) has adjusted p ≤ α.
- **not resolvable at this budget**: neither; the row gives the seeds a power calculation asks for, at α
  (as a single test) and at α / m, the level of Holm's first step over the m tests of its family (an upper
  bound on what the correction can ask for).
- **not measured**: the grid lacks the cells; the row says which.

Beside the verdict, each measured row carries a Benjamini-Hochberg q-value of its own test over the rows'
own tests: what a false-discovery-rate reading at 5% would accept. It is exploratory and never changes a
verdict.
"""
import math
from collections.abc import Collection
from dataclasses import dataclass, field

from bnonly.paper.statistics import ALPHA, Outcome, benjamini_hochberg, holm, intersection_union, seeds_needed

HOLDS, FAILS, UNRESOLVED, NOT_MEASURED = 'holds', 'does not hold', 'not resolvable at this budget', 'not measured'
VERDICTS = (HOLDS, FAILS, UNRESOLVED, NOT_MEASURED)


@dataclass(frozen=True)
class Finding:
    """One network's test within a row."""
    label: str
    outcome: Outcome
    text: str                   # the estimate as printed, e.g. '+30.1 [27.0, 33.2] points'
    power_effect: float | None = None  # overrides the observed effect (e.g. the paper's effect size)


@dataclass
class Row:
    number: str
    claim: str
    paper: str
    ours: str = '-'
    test: str = '-'
    findings: list[Finding] = field(default_factory=list)
    reason: str = ''            # why not measured / how seeds needed was computed
    power_basis: str = 'the observed effect'
    verdict: str = ''
    p_holm: float = math.nan
    p_opposite_holm: float = math.nan
    q_bh: float = math.nan                  # exploratory: Benjamini-Hochberg over the rows' own tests
    seeds_needed: int | None = None        # at ALPHA
    seeds_needed_holm: int | None = None   # at ALPHA / (tests in the row's Holm family)
    family_size: int = 0
    family: str = ''                        # 'primary' | 'secondary' in a gatekept table, '' in one Holm family

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
    def n_text(self) -> str:
        ns = sorted({f.outcome.n for f in self.findings})
        if not ns:
            return '-'
        return str(ns[0]) if len(ns) == 1 else f'{ns[0]}-{ns[-1]}'


def not_measured(number: str, claim: str, paper: str, reason: str) -> Row:
    return Row(number, claim, paper, verdict=NOT_MEASURED, reason=reason)


def _seeds_for(row: Row, alpha: float) -> int | None:
    """Seeds for every network's test to reach the power: the largest count, None if any has none."""
    counts = []
    for finding in row.findings:
        effect = finding.power_effect if finding.power_effect is not None else finding.outcome.power_effect
        counts.append(seeds_needed(effect, alpha))
    return None if not counts or any(c is None for c in counts) else max(counts)


def _adjust(family: list[tuple[int, bool, float]], floor: float = 0.0) -> list[float]:
    """Holm over one family, no adjusted p below ``floor`` (the gate a secondary family passes through)."""
    return [max(p, floor) for p in holm(p for _, _, p in family)]


def decide(rows: list[Row], primary: Collection[str] | None = None) -> list[Row]:
    """Correct for multiplicity (module docstring), then give each measured row its verdict.

    ``primary``: the numbers of the rows whose claim tests form the first family of a serial gatekeeping
    procedure; None (or empty) corrects the whole table as one Holm family. Rows are updated in place.
    """
    primary = set(primary or ())
    unknown = primary - {row.number for row in rows}
    if unknown:
        raise ValueError(f'primary rows {sorted(unknown)} are not in the table')
    first, second = [], []      # (row index, is the claim's own test, raw p)
    for index, row in enumerate(rows):
        row.family = ('primary' if row.number in primary else 'secondary') if primary else ''
        if row.verdict == NOT_MEASURED:
            continue
        own = (index, True, row.p_raw)
        if not math.isnan(row.p_raw):
            (first if row.primary else second).append(own)
        second += [(index, False, p) for p in row.opposite_raw]
    if not primary:
        first, second = second, []
    adjusted = _adjust(first)
    # A measured primary row without a test (no spread) is a claim not shown: the gate stays shut.
    untested = any(row.primary and row.verdict != NOT_MEASURED and math.isnan(row.p_raw) for row in rows)
    gate = 1.0 if untested else max(adjusted, default=0.0)
    adjusted += _adjust(second, floor=gate)
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
        if row.verdict == NOT_MEASURED:
            continue
        row.family_size = len(first) if row.primary or not primary else len(second)
        if row.p_holm <= ALPHA:
            row.verdict = HOLDS
        elif row.p_opposite_holm <= ALPHA:
            row.verdict = FAILS
        else:
            row.verdict = UNRESOLVED
            row.seeds_needed = _seeds_for(row, ALPHA)
            row.seeds_needed_holm = _seeds_for(row, ALPHA / max(1, row.family_size))
    return rows
