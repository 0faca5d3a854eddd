"""A claims table as declared (``ClaimsTable``), and as files: claims.md (for people) and claims.csv (for scripts).

Every table is written by the same functions: the rows and their verdicts come from the evaluator
(bnonly.paper.claims), the cells of each row from here; a table declares only its rows, how its cells are read,
the text above its columns and which columns it shows. Adding a table is a declaration in its own package and a
name in bnonly.claims_tables.
"""
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bnonly.reporting.claim import Claim, primary_rows
from bnonly.reporting.statistics import ALPHA, POWER, SD_CONFIDENCE, TOST_POWER, TWO_SIDED
from bnonly.reporting.verdicts import (CONTRADICTED, EXPLORATORY, FAILS, HOLDS, NOT_MEASURED, UNRESOLVED, VERDICTS,
                                       Row, both_directions_sensitivity)


@dataclass(frozen=True)
class ClaimsTable:
    """One claims table: its rows, the cells they read, and how its Markdown and CSV are laid out."""
    name: str                   # as the claims stage takes it (``--table``)
    claims: tuple[Claim, ...]   # the rows, in table order
    results: Callable[[pd.DataFrame, dict, pd.DataFrame], Any]  # (summary, profile, per-seed cells) -> what the
                                # selectors read
    header: Callable[[list[Row], dict, bool], list[str]]  # (rows, profile, both_directions) -> the Markdown above
                                # the columns: title, grid, rules, ending with an empty line
    columns: tuple[tuple[str, str], ...]    # (heading, field) per Markdown column; fields: FIELDS
    aggregate: str              # the command that writes the per-seed cells the table reads
    csv_names: tuple[tuple[str, str], ...] = ()  # CSV columns renamed for what they hold in this table
    both_directions: bool = False   # the design of the primary family (bnonly.reporting.verdicts)
    gate: str = HOLDS               # what opens the secondary family: every primary claim HOLDS, or is DECIDED

    @property
    def primary(self) -> tuple[str, ...]:
        return primary_rows(self.claims)


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
    gate = f'; secondary: decided only if every primary claim {row.gate}' if row.family == 'secondary' else ''
    return f'**{row.verdict}** ({scope}{gate}): {_seeds_text(row)}'


def family_text(row: Row) -> str:
    return row.family if row.family and row.verdict != NOT_MEASURED else '-'


def tally(rows: list[Row]) -> str:
    return ', '.join(f'{sum(r.verdict == v for r in rows)} {v}' for v in VERDICTS if any(r.verdict == v for r in rows))


# The cells a Markdown column can show, by field name.
FIELDS: dict[str, Callable[[Row], str]] = {
    'number': lambda row: row.number, 'claim': lambda row: row.claim, 'paper': lambda row: row.paper,
    'ours': lambda row: row.ours, 'test': lambda row: row.test, 'n': lambda row: row.n_text,
    'family': family_text, 'p': p_text, 'q': q_text, 'verdict': verdict_text}


def _largest_p(p: float) -> str:
    return '-' if math.isnan(p) else f'{p:.3f}' if p >= 0.001 else f'{p:.1e}'


def sensitivity_text(rows: list[Row], primary: tuple[str, ...]) -> str:
    """Under a table registered with one direction per primary claim: the same data with both directions in
    the primary family, computed here (bnonly.reporting.verdicts.both_directions_sensitivity)."""
    budget = rows[0].budget if rows else None
    found = both_directions_sensitivity(rows, primary, budget)
    return (f'Sensitivity (computed from the same cells; it changes no verdict): with both directions of each '
            f'primary claim in the primary family: {found.held} of {found.primary} still hold, largest '
            f'Holm-adjusted p = {_largest_p(found.largest_p)}.')


def to_markdown(table: ClaimsTable, rows: list[Row], profile: dict, both_directions: bool | None = None) -> str:
    """``both_directions``: the design the rows were decided with (the table's own unless given). A table with
    primary rows decided with one direction each prints, under the rows, how many would hold with both."""
    both_directions = table.both_directions if both_directions is None else both_directions
    lines = list(table.header(rows, profile, both_directions))
    lines += ['| ' + ' | '.join(heading for heading, _ in table.columns) + ' |', '|' + '---|' * len(table.columns)]
    for row in rows:
        lines.append('| ' + ' | '.join(escape(FIELDS[field](row)) for _, field in table.columns) + ' |')
    if table.primary and not both_directions:
        lines += ['', sensitivity_text(rows, table.primary)]
    return '\n'.join(lines) + '\n'


def _count(n: int | None):
    return pd.NA if n is None else n


def plain(text: str) -> str:
    """A verdict as the CSV holds it: the Markdown emphasis removed."""
    return text.replace('**', '')


def to_frame(table: ClaimsTable, rows: list[Row]) -> pd.DataFrame:
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
    return pd.DataFrame(records).rename(columns=dict(table.csv_names))
