"""The claims table as files: reports/claims.md (for people) and reports/claims.csv (for scripts).

The rows and their verdicts come from bnonly.paper.claims; this module only renders them, and states in the
Markdown header the rules they were decided by (the constants it prints are claims' and statistics').
"""
import math

import pandas as pd

from bnonly.paper.claims import DATASET_LABELS, EQUIVALENCE_MARGIN, PRIMARY_CLAIMS, PRIMARY_THRESHOLD
from bnonly.paper.statistics import ALPHA, CONFIDENCE, POWER
from bnonly.paper.verdicts import FAILS, NOT_MEASURED, UNRESOLVED, VERDICTS, Row


def escape(text: str) -> str:
    return str(text).replace('|', '\\|').replace('\n', ' ')


def _p(p: float) -> str:
    return '-' if math.isnan(p) else f'{p:.2g}' if p >= 0.001 else f'{p:.1e}'


def p_text(row: Row) -> str:
    if row.verdict == NOT_MEASURED or math.isnan(row.p_raw):
        return '-'
    text = f'{_p(row.p_holm)} (raw {_p(row.p_raw)})'
    if row.verdict == FAILS:
        text += f'; contradicting test {_p(row.p_opposite_holm)}'
    return text


def q_text(row: Row) -> str:
    return '-' if math.isnan(row.q_bh) else f'{row.q_bh:.2g}'


def verdict_text(row: Row) -> str:
    text = f'**{row.verdict}**'
    if row.verdict == NOT_MEASURED:
        return f'{text}: {row.reason}'
    if row.verdict != UNRESOLVED:
        return text
    if math.isnan(row.p_raw):
        return f'{text}: a t test needs 2 or more paired seeds with some spread'
    gate = ' (secondary: decided only if every primary claim holds)' if row.family == 'secondary' else ''
    if row.seeds_needed is None:
        return (f'{text}{gate}: no seed count (the observed effect is not in the claimed direction in every '
                f'network)')
    return (f'{text}{gate}: ≈ {row.seeds_needed_holm} seeds needed (power {POWER:g} at Holm\'s first level '
            f'in its family, {ALPHA:g}/{row.family_size}, at {row.power_basis}; {row.seeds_needed} for a lone '
            f'test at α = {ALPHA:g})')


def family_text(row: Row) -> str:
    return row.family if row.family and row.verdict != NOT_MEASURED else '-'


def _number(value) -> str:
    """1,000 for a count; a mixed grid's list of values as it is."""
    return f'{value:,}' if isinstance(value, int) else str(value)


def _run_length(profile: dict) -> str:
    if profile.get('steps'):
        return f'{_number(profile["steps"])} SGD steps per cell'
    epochs, images = profile.get('epochs'), _number(profile.get('train_images'))
    return f'{epochs} epoch{"" if epochs == 1 else "s"} on {images} training images'


def to_markdown(rows: list[Row], profile: dict) -> str:
    dataset = DATASET_LABELS.get(profile.get('dataset'), str(profile.get('dataset')))
    tally = ', '.join(f'{sum(r.verdict == v for r in rows)} {v}' for v in VERDICTS
                      if any(r.verdict == v for r in rows))
    decided = sum(1 for r in rows if r.verdict != NOT_MEASURED and not math.isnan(r.p_raw))
    lines = [
        '# The paper\'s claims against our measurements',
        '',
        f'Grid: {dataset}, {_run_length(profile)}, {profile.get("seeds")} seeds, '
        f'{profile.get("cells_trained")} trained and {profile.get("cells_analysed")} analysed cells. '
        f'Verdicts: {tally}.',
        '',
        f'Each row is one test fixed before the data, computed by `bnonly.paper.claims` from the per-seed cells '
        f'(results/grid_cells.csv). Cells are paired by seed (same data order, subset and initial weights): '
        f'the estimate is the mean per-seed difference with its {100 * CONFIDENCE:.0f}% t interval, tested by a '
        f'one-sided paired t (df = pairs − 1) in the claimed direction; a claim about every network is an '
        f'intersection-union test (p = the largest per-network p). "Barely changes" is a TOST equivalence test '
        f'with a margin of ±{100 * EQUIVALENCE_MARGIN:g} point; clamping is two rows decided on their own '
        f'(17a equivalence, 17b against zeroing as many random γ); the γ threshold tested is '
        f'{PRIMARY_THRESHOLD:g} (others printed, not tested); dead ReLUs are compared as odds ratios '
        f'(paired t on logits) of the overall fraction, the sites printed only. Multiplicity ({decided} rows and '
        f'their contradicting tests) is corrected by serial gatekeeping at α = {ALPHA:g}: the primary family, '
        f'the claim tests of rows {", ".join(PRIMARY_CLAIMS)} (fixed before the grid\'s seeds were trained), is '
        f'Holm-corrected; every other test (secondary rows and all contradicting tests) is Holm-corrected in a '
        f'second family whose adjusted p is never below the largest primary one, so it can decide only if every '
        f'primary claim holds; the table\'s family-wise error rate stays at α. **holds**: the claim\'s adjusted '
        f'p ≤ α; **does not hold**: a contradicting test (the opposite direction, or outside the margin) has '
        f'adjusted p ≤ α; **not resolvable at this budget**: neither, with the seeds a one-sided '
        f't needs for power {POWER:g} at the observed standardised effect (mean / sd of the paired differences; '
        f'the paper\'s effect where stated) at α / m, the strictest level Holm can ask for over the m tests of '
        f'the row\'s family (and, for comparison, for a lone test at α); **not measured**: the grid lacks '
        f'the cells. CIFAR-10 and ImageNet numbers are tested only on a grid run on that data set; the other '
        f'rows are measured on {dataset}, whose sizes are not the paper\'s. The column q (BH) is exploratory: '
        f'the Benjamini-Hochberg q-value of each row\'s own test over the rows\' own tests, i.e. what a '
        f'false-discovery-rate reading at {100 * ALPHA:g}% would accept (q ≤ {ALPHA:g}); it never changes a '
        f'verdict.',
        '',
        '| # | Claim (paper) | Paper | Ours (estimate [95% CI] per network) | Test | n | Family | p (adjusted) | '
        'q (BH) | Verdict |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        cells = [row.number, row.claim, row.paper, row.ours, row.test, row.n_text, family_text(row), p_text(row),
                 q_text(row), verdict_text(row)]
        lines.append('| ' + ' | '.join(escape(c) for c in cells) + ' |')
    return '\n'.join(lines) + '\n'


def _count(n: int | None):
    return pd.NA if n is None else n


def to_frame(rows: list[Row]) -> pd.DataFrame:
    """The same rows, machine-readable; estimate and CI are the deciding network's, in the test's own scale."""
    records = []
    for row in rows:
        deciding = row.deciding
        outcome = deciding.outcome if deciding else None
        records.append(dict(
            number=row.number, claim=row.claim, paper=row.paper, ours=row.ours, test=row.test,
            decided_on=deciding.label if deciding else '', n=row.n_text, family=family_text(row),
            estimate=outcome.estimate if outcome else math.nan, ci_low=outcome.ci_low if outcome else math.nan,
            ci_high=outcome.ci_high if outcome else math.nan, p_raw=row.p_raw, p_holm=row.p_holm,
            p_opposite_holm=row.p_opposite_holm, q_bh=row.q_bh, verdict=row.verdict,
            seeds_needed=_count(row.seeds_needed), seeds_needed_holm=_count(row.seeds_needed_holm),
            reason=row.reason))
    return pd.DataFrame(records)
