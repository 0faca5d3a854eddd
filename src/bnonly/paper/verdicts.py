"""How a row of the claims table gets its verdict from its tests, after Holm across the whole table.

A row is measured on one or more networks, each with one test (bnonly.paper.statistics). A claim about
every network is an intersection-union test: its p-value is the largest of the networks' one-sided p.
The Holm family is every one-sided test that can decide a verdict: each measured row's claim (its IUT
p) and each network's contradicting test(s), so the chance of any wrong verdict in the table stays at α.

- **holds**: the claim's Holm-adjusted p ≤ α.
- **does not hold**: some network's contradicting test (the opposite direction; for an equivalence, outside
  the margin) has Holm-adjusted p ≤ α.
- **not resolvable at this budget**: neither; the row gives the seeds a power calculation asks for, at α
  (as a single test) and at α / m, the level of Holm's first step over the m tests of the table (an upper
  bound on what the correction can ask for).
- **not measured**: the grid lacks the cells; the row says which.

Beside the verdict, each measured row carries a Benjamini-Hochberg q-value of its own test over the rows'
own tests: what a false-discovery-rate reading at 5% would accept. It is exploratory and never changes a
verdict: the table's rule is Holm's, fixed before any data.
"""
import math
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
    seeds_needed_holm: int | None = None   # at ALPHA / (tests in the Holm family)
    family_size: int = 0

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


def decide(rows: list[Row]) -> list[Row]:
    """Holm across the table, then each measured row's verdict (rows are updated in place and returned)."""
    family = []                 # (row index, is the claim's own test, raw p)
    for index, row in enumerate(rows):
        if row.verdict == NOT_MEASURED:
            continue
        if not math.isnan(row.p_raw):
            family.append((index, True, row.p_raw))
        family += [(index, False, p) for p in row.opposite_raw]
    adjusted = holm(p for _, _, p in family)
    own = [(index, p) for index, is_own, p in family if is_own]
    for (index, _), q in zip(own, benjamini_hochberg(p for _, p in own)):
        rows[index].q_bh = q
    for (index, own, _), p in zip(family, adjusted):
        row = rows[index]
        if own:
            row.p_holm = p
        else:
            row.p_opposite_holm = p if math.isnan(row.p_opposite_holm) else min(row.p_opposite_holm, p)
    for row in rows:
        if row.verdict == NOT_MEASURED:
            continue
        row.family_size = len(family)
        if row.p_holm <= ALPHA:
            row.verdict = HOLDS
        elif row.p_opposite_holm <= ALPHA:
            row.verdict = FAILS
        else:
            row.verdict = UNRESOLVED
            row.seeds_needed = _seeds_for(row, ALPHA)
            row.seeds_needed_holm = _seeds_for(row, ALPHA / max(1, len(family)))
    return rows
