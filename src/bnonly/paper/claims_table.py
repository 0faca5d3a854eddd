"""The paper's claims table as declared (``TABLE``): its rows (bnonly.paper.paper_claims), the cells they read
(bnonly.paper.results), its columns, and the text above them, which states the rules the rows were decided by
(the constants it prints are paper_claims' and the statistics'). bnonly.reporting.claims_table writes it as
reports/claims.md and reports/claims.csv.
"""
import math

from bnonly.paper.claims import budget
from bnonly.paper.names import dataset_label
from bnonly.paper.paper_claims import (CLAIMS, EQUIVALENCE_MARGIN, PRIMARY_BOTH_DIRECTIONS, PRIMARY_CLAIMS,
                                       PRIMARY_THRESHOLD)
from bnonly.paper.results import Results
from bnonly.reporting.claims_table import ClaimsTable, tally
from bnonly.reporting.statistics import ALPHA, CONFIDENCE, POWER, SD_CONFIDENCE, TOST_CONFIDENCE
from bnonly.reporting.verdicts import EXPLORATORY, NOT_MEASURED, Row


def _run_length(profile: dict) -> str:
    length = budget(profile).text
    length = length.replace(' steps', ' SGD steps') if profile.get('steps') else length
    if not profile.get('steps') and profile.get('train_images') is not None:
        length += f' on {profile["train_images"]:,} training images'
    return f'{length} per cell'


def header(rows: list[Row], profile: dict, both_directions: bool) -> list[str]:
    """The title, the grid and the rules, above the columns; ``both_directions``: the design the rows were
    decided with."""
    dataset = dataset_label(profile.get('dataset'))
    decided = sum(1 for r in rows if r.verdict not in (NOT_MEASURED, EXPLORATORY) and not math.isnan(r.p_raw))
    length = budget(profile)
    short = (f'Every cell trained {length.text}, far short of the paper\'s recipe: each verdict names that budget, '
             f'and a significant result against a claim about converged networks reads "reversed at '
             f'{length.text}" (or "outside the margin at …"), not "does not hold".' if length.short else
             f'Every cell trained {length.text}, the paper\'s recipe.')
    if both_directions:
        design = (f'the primary family, the claim tests of rows {", ".join(PRIMARY_CLAIMS)} and their '
                  f'contradicting tests (both directions, fixed before the grid\'s seeds were trained), is '
                  f'Holm-corrected, so a primary claim can fail; every other test is Holm-corrected in a second '
                  f'family whose adjusted p is never below the largest adjusted p of the primary claims')
    else:
        design = (f'the primary family, the claim tests of rows {", ".join(PRIMARY_CLAIMS)} (fixed before the '
                  f'grid\'s seeds were trained), is Holm-corrected; every other test (secondary rows and all '
                  f'contradicting tests, the primary rows\' included) is Holm-corrected in a second family whose '
                  f'adjusted p is never below the largest primary one, so it can decide only if every primary '
                  f'claim holds, and a primary claim can only hold or stay open; the table\'s family-wise error '
                  f'rate stays at α')
    return [
        '# The paper\'s claims against our measurements',
        '',
        f'Grid: {dataset}, {_run_length(profile)}, {profile.get("seeds")} seeds, '
        f'{profile.get("cells_trained")} trained and {profile.get("cells_analysed")} analysed cells. '
        f'Verdicts: {tally(rows)}.',
        '',
        f'Each row is one test fixed before the data, computed by `bnonly.paper.claims` from the per-seed cells '
        f'(reports/grid_cells.csv; `pytest tests/test_recompute_committed.py` recomputes every tested row from it '
        f'with scipy alone). Cells are paired by seed (same data order, subset and initial weights): '
        f'the estimate is the mean per-seed difference, tested by a one-sided paired t (df = pairs − 1) in the '
        f'claimed direction; a claim about every network is an intersection-union test (p = the largest '
        f'per-network p). Every interval is two-sided and unadjusted for multiplicity: '
        f'{100 * CONFIDENCE:g}% t intervals, except a TOST row\'s, which is the {100 * TOST_CONFIDENCE:g}% '
        f'interval the TOST decides by; each row says which. "Barely changes" is a TOST equivalence test '
        f'with a margin of ±{100 * EQUIVALENCE_MARGIN:g} point; clamping is two rows decided on their own '
        f'(17a equivalence, 17b against zeroing as many random γ); the γ threshold tested is '
        f'{PRIMARY_THRESHOLD:g} (others printed, not tested); dead ReLUs are compared as odds ratios '
        f'(paired t on logits) of the overall fraction, the sites printed only. Multiplicity ({decided} rows and '
        f'their contradicting tests) is corrected by serial gatekeeping at α = {ALPHA:g}: {design}. '
        f'**holds**: the claim\'s adjusted p ≤ α; **does not hold**: a contradicting test (the opposite '
        f'direction, or outside the margin) has adjusted p ≤ α; **not resolvable at this budget**: neither, '
        f'with the size of a new confirmatory seed set (fresh seeds, tested on their own) that would reach '
        f'power {POWER:g} at α / m, the strictest level Holm can ask for over the m tests of the row\'s family '
        f'(and, for comparison, for a lone test at α), planned at the effect the row states (the paper\'s '
        f'where it gives one for the networks compared, else a declared smallest effect of interest) with the '
        f'sd at its upper {100 * SD_CONFIDENCE:g}% chi-square confidence bound; **not measured**: the grid lacks '
        f'the cells. Each verdict names the networks it rests on, which are often fewer than the claim\'s '
        f'wording covers. {short} CIFAR-10 and ImageNet numbers are tested only on a grid run on that data set; '
        f'the other rows are measured on {dataset}, whose sizes are not the paper\'s. The column q (BH) is '
        f'exploratory: the Benjamini-Hochberg q-value of each row\'s own test over the rows\' own tests, i.e. '
        f'what a false-discovery-rate reading at {100 * ALPHA:g}% would accept (q ≤ {ALPHA:g}); it never changes '
        f'a verdict.',
        '',
    ]


TABLE = ClaimsTable(
    name='paper', claims=CLAIMS, results=Results, header=header,
    columns=(('#', 'number'), ('Claim (paper)', 'claim'), ('Paper', 'paper'),
             ('Ours (estimate [CI, unadjusted] per network)', 'ours'), ('Test', 'test'), ('n', 'n'),
             ('Family', 'family'), ('p (adjusted)', 'p'), ('q (BH)', 'q'), ('Verdict', 'verdict')),
    aggregate='dvc repro grid_aggregate', both_directions=PRIMARY_BOTH_DIRECTIONS)
