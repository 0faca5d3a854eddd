"""The claims table as files: reports/claims.md (for people) and reports/claims.csv (for scripts).

The rows and their verdicts come from bnonly.paper.claims; this module only renders them, and states in the
Markdown header the rules they were decided by (the constants it prints are paper_claims' and statistics').
"""
import math

import pandas as pd

from bnonly.paper.claims import budget
from bnonly.paper.names import dataset_label
from bnonly.paper.paper_claims import (EQUIVALENCE_MARGIN, PRIMARY_BOTH_DIRECTIONS, PRIMARY_CLAIMS,
                                       PRIMARY_THRESHOLD)
from bnonly.paper.statistics import (ALPHA, CONFIDENCE, POWER, SD_CONFIDENCE, TOST_CONFIDENCE, TOST_POWER,
                                     TWO_SIDED)
from bnonly.paper.verdicts import (CONTRADICTED, EXPLORATORY, FAILS, NOT_MEASURED, UNRESOLVED, VERDICTS, Row,
                                   both_directions_sensitivity)


def escape(text: str) -> str:
    return str(text).replace('|', '\\|').replace('\n', ' ')


def _p(p: float) -> str:
    return '-' if math.isnan(p) else f'{p:.2g}' if p >= 0.001 else f'{p:.1e}'


def p_text(row: Row) -> str:
    if row.verdict == NOT_MEASURED or math.isnan(row.p_raw):
        return '-'
    if row.verdict == EXPLORATORY:
        sides = 'two-sided' if any(f.outcome.kind == TWO_SIDED for f in row.findings) else 'one-sided'
        return f'{sides} {_p(row.p_raw)} (unadjusted; no family)'
    text = f'{_p(row.p_holm)} (raw {_p(row.p_raw)})'
    if row.verdict in (FAILS, CONTRADICTED):
        text += f'; contradicting test {_p(row.p_opposite_holm)}'
    return text


def q_text(row: Row) -> str:
    return '-' if math.isnan(row.q_bh) else f'{row.q_bh:.2g}'


def _scope(row: Row, *, per_cell: bool = True) -> str:
    """'ResNet-14 only; 1,000 steps per cell': the networks and the budget a verdict rests on."""
    parts = [row.scope] if row.scope else []
    if row.budget is not None and per_cell:
        parts.append(f'{row.budget.text} per cell')
    return '; '.join(parts)


def _size(row: Row, value: float) -> str:
    number = f'{row.planning.scale * value:.3g}'
    return f'{number} {row.planning.unit.removesuffix("s") if number == "1" else row.planning.unit}'


def _seeds_text(row: Row) -> str:
    if math.isnan(row.p_raw):
        return 'a t test needs 2 or more paired seeds with some spread'
    if row.seeds_needed is None:
        return 'no seed count (no planning effect, or no spread to plan the sd from)'
    planning = row.planning
    if row.equivalence:
        power = f'power {TOST_POWER:g} for each one-sided test of the TOST'
        effect = f'{planning.basis}, {_size(row, planning.effect)} inside either margin'
    else:
        power = f'power {POWER:g}'
        effect = f'an effect of +{_size(row, planning.effect)} ({planning.basis})'
    return (f'a new confirmatory seed set of ≈ {row.seeds_needed_holm} seeds ({power} at Holm\'s first level in '
            f'its family, {ALPHA:g}/{row.family_size}; {row.seeds_needed} for a lone test at α = {ALPHA:g}), '
            f'planned at {effect} and an sd of {_size(row, row.planning_sd)} (the upper '
            f'{100 * SD_CONFIDENCE:g}% confidence bound of the observed {_size(row, row.observed_sd)})')


def verdict_text(row: Row) -> str:
    """The verdict with what it rests on: 'holds (ResNet-14 only; 1,000 steps per cell)'."""
    if row.verdict == NOT_MEASURED:
        return f'**{row.verdict}**: {row.reason}'
    if row.verdict == CONTRADICTED:
        word = 'outside the margin' if row.equivalence else 'reversed'
        return (f'**{word} at {row.budget.text}** ({_scope(row, per_cell=False)}; not a test of the converged '
                f'claim)')
    scope = _scope(row)
    if row.verdict == EXPLORATORY:
        return f'**{row.verdict}** ({scope}): {row.reason}'
    if row.verdict != UNRESOLVED:
        return f'**{row.verdict}** ({scope})'
    gate = '; secondary: decided only if every primary claim holds' if row.family == 'secondary' else ''
    return f'**{row.verdict}** ({scope}{gate}): {_seeds_text(row)}'


def family_text(row: Row) -> str:
    return row.family if row.family and row.verdict != NOT_MEASURED else '-'


def _run_length(profile: dict) -> str:
    length = budget(profile).text
    length = length.replace(' steps', ' SGD steps') if profile.get('steps') else length
    if not profile.get('steps') and profile.get('train_images') is not None:
        length += f' on {profile["train_images"]:,} training images'
    return f'{length} per cell'


def _largest_p(p: float) -> str:
    return '-' if math.isnan(p) else f'{p:.3f}' if p >= 0.001 else f'{p:.1e}'


def sensitivity_text(rows: list[Row], profile: dict, both_directions: bool = PRIMARY_BOTH_DIRECTIONS) -> str:
    """Under a table registered with one direction per primary claim: the same data with both directions in
    the primary family, computed here (bnonly.paper.verdicts.both_directions_sensitivity)."""
    if both_directions:
        return ''
    found = both_directions_sensitivity(rows, PRIMARY_CLAIMS, budget(profile))
    return (f'Sensitivity (computed from the same cells; it changes no verdict): with both directions of each '
            f'primary claim in the primary family: {found.held} of {found.primary} still hold, largest '
            f'Holm-adjusted p = {_largest_p(found.largest_p)}.')


def tally(rows: list[Row]) -> str:
    return ', '.join(f'{sum(r.verdict == v for r in rows)} {v}' for v in VERDICTS if any(r.verdict == v for r in rows))


def to_markdown(rows: list[Row], profile: dict, both_directions: bool = PRIMARY_BOTH_DIRECTIONS) -> str:
    """``both_directions``: the design the rows were decided with (bnonly.paper.claims.all_claims)."""
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
    lines = [
        '# The paper\'s claims against our measurements',
        '',
        f'Grid: {dataset}, {_run_length(profile)}, {profile.get("seeds")} seeds, '
        f'{profile.get("cells_trained")} trained and {profile.get("cells_analysed")} analysed cells. '
        f'Verdicts: {tally(rows)}.',
        '',
        f'Each row is one test fixed before the data, computed by `bnonly.paper.claims` from the per-seed cells '
        f'(reports/grid_cells.csv; `pytest tests/test_recompute_claims.py` recomputes every tested row from it '
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
        '| # | Claim (paper) | Paper | Ours (estimate [CI, unadjusted] per network) | Test | n | Family | '
        'p (adjusted) | q (BH) | Verdict |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        cells = [row.number, row.claim, row.paper, row.ours, row.test, row.n_text, family_text(row), p_text(row),
                 q_text(row), verdict_text(row)]
        lines.append('| ' + ' | '.join(escape(c) for c in cells) + ' |')
    note = sensitivity_text(rows, profile, both_directions)
    if note:
        lines += ['', note]
    return '\n'.join(lines) + '\n'


def _count(n: int | None):
    return pd.NA if n is None else n


def plain(text: str) -> str:
    """A verdict as the CSV holds it: the Markdown emphasis removed."""
    return text.replace('**', '')


def to_frame(rows: list[Row]) -> pd.DataFrame:
    """The same rows, machine-readable; estimate and CI are the deciding network's, in the test's own scale, the
    CI at ``ci_level`` (unadjusted); ``verdict`` is the category, ``verdict_text`` the scoped verdict."""
    records = []
    for row in rows:
        deciding = row.deciding
        outcome = deciding.outcome if deciding else None
        planning = row.planning
        records.append(dict(
            number=row.number, claim=row.claim, paper=row.paper, ours=row.ours, test=row.test,
            decided_on=deciding.label if deciding else '', n=row.n_text, family=family_text(row),
            estimate=outcome.estimate if outcome else math.nan, ci_low=outcome.ci_low if outcome else math.nan,
            ci_high=outcome.ci_high if outcome else math.nan, ci_level=outcome.confidence if outcome else math.nan,
            p_raw=row.p_raw, p_holm=row.p_holm, p_opposite_holm=row.p_opposite_holm, q_bh=row.q_bh,
            verdict=row.verdict, verdict_text=plain(verdict_text(row)), scope=row.scope,
            budget=row.budget.text if row.budget else '', seeds_needed=_count(row.seeds_needed),
            seeds_needed_holm=_count(row.seeds_needed_holm),
            planning_effect=planning.effect if planning and row.seeds_needed is not None else math.nan,
            planning_sd=row.planning_sd, reason=row.reason))
    return pd.DataFrame(records)
