"""What one row of a claims table declares, as data: the cells it compares, its test, its wording, its family.

Every table declares its rows in this form (bnonly.paper.paper_claims, bnonly.extensions.claims) and one
evaluator tests them (bnonly.paper.claims). A selector (``Claim.select``) says which cells a row compares: any
object whose ``comparisons(results, key)`` lists them (bnonly.paper.results' selectors for the paper's grid,
bnonly.extensions.runs.RunPair for a table keyed by run), its metric among its fields.
"""
from dataclasses import dataclass
from typing import Any

from bnonly.reporting.verdicts import Planning

# How a claim is tested (bnonly.paper.claims evaluates each):
PAIRED = 'paired'           # one-sided paired t of a - b > 0 per network
BLOCKED = 'blocked'         # the same contrast in the block model of every network of that trainable set
TARGET = 'target'           # one-sided one-sample t above the paper's number minus a tolerance
EQUIVALENT = 'equivalent'   # TOST within ± the equivalence margin: of a's per-seed value, or of a - b when b is given
LOGIT = 'logit'             # paired t on empirical logits, printed as odds ratios
ESTIMATE = 'estimate'       # a - b with its two-sided interval and a two-sided p: reported, never decided
CONTRAST = 'contrast'       # one-sided one-sample t (> 0) of a per-seed contrast whose sides may be comparisons
                            # themselves: a difference of paired differences (a network x budget interaction)
TESTS = (PAIRED, BLOCKED, TARGET, EQUIVALENT, LOGIT, ESTIMATE, CONTRAST)

# What a row prints beside each network's estimate, never tested:
OTHER_THRESHOLDS = 'other thresholds'   # the same comparison at every other |γ| threshold
PAPER_EFFECT = 'paper effect'           # the one-sided upper bound against the paper's γ-and-β effect
DEAD_RELU_DETAIL = 'dead relu detail'   # the two mean fractions and the per-site odds ratios
TRAINABLE_COUNTS = 'trainable counts'   # the trainable parameter counts of the two cells, as trained

# A row's family in the multiplicity correction (bnonly.reporting.verdicts):
PRIMARY = 'primary'         # the first family of serial gatekeeping
IN_FAMILY = ''              # the table's one Holm family, or the secondary one when the table has primary rows
EXPLORATORY = 'exploratory'  # kept out of every family: estimate and unadjusted p, no verdict


@dataclass(frozen=True)
class Claim:
    """One row of a claims table. In ``what``, '{data}' is the grid's data set and '{counts}' whether the
    compared cells train as many parameters; in a selector's metric and in ``missing``, '{t}' is the key of the
    |γ| threshold the table tests."""
    number: str
    claim: str                  # the hypothesis, as the row words it
    paper: str                  # what the paper reports (beyond the paper: why the claim is asked)
    select: Any                 # which cells it compares: a selector (module docstring)
    test: str                   # one of TESTS
    planning: Planning          # the effect a seed count plans for
    what: str = ''              # what the estimate is (TARGET rows: said by the test)
    missing: str = ''           # why not measured (TARGET rows: said by the test)
    family: str = IN_FAMILY     # PRIMARY, IN_FAMILY or EXPLORATORY
    reason: str = ''            # EXPLORATORY: why the row stays out of every family
    note: str = ''              # said after the test's name
    detail: str = ''            # OTHER_THRESHOLDS, PAPER_EFFECT, DEAD_RELU_DETAIL or TRAINABLE_COUNTS
    contradicting: bool = True  # False: a claim registered one-sided, its contradicting tests in no family

    def __post_init__(self):
        if self.test not in TESTS:
            raise ValueError(f'claim {self.number}: test {self.test!r} is not one of {", ".join(TESTS)}')
        if self.family not in (PRIMARY, IN_FAMILY, EXPLORATORY) or (self.family == EXPLORATORY) != bool(self.reason):
            raise ValueError(f'claim {self.number}: family {self.family!r} with reason {self.reason!r} (an '
                             f'exploratory row, and only one, says why it is)')


def primary_rows(claims) -> tuple[str, ...]:
    """The numbers of the rows in the primary family, in table order."""
    return tuple(claim.number for claim in claims if claim.family == PRIMARY)
