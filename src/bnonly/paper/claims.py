"""Any claims table, evaluated: each declared claim (bnonly.reporting.claim; the paper's in
bnonly.paper.paper_claims, the extensions' in bnonly.extensions.claims) tested on its grid's per-seed cells (what
the table's ``results`` reads: bnonly.paper.results, bnonly.extensions.runs), its estimate printed, then every
row decided at once (bnonly.reporting.verdicts). Nothing here names a claim or a table: a row's test, cells and
wording are its declaration's.
"""
import dataclasses
import math
from typing import Callable

import numpy as np
import pandas as pd

from bnonly.paper.names import dataset_label, threshold_key
from bnonly.paper.paper_claims import (COST_NOTE, EQUIVALENCE_MARGIN, GAMMA_BETA_EFFECTS, PAPER_EPOCHS, PRIMARY_KEY,
                                       PRIMARY_THRESHOLD, TOLERANCE)
from bnonly.paper.results import Comparison, Results, Side, label
from bnonly.reporting.claim import (BLOCKED, CONTRAST, DEAD_RELU_DETAIL, EQUIVALENT, ESTIMATE, EXPLORATORY, LOGIT,
                                    OTHER_THRESHOLDS, PAPER_EFFECT, TARGET, TRAINABLE_COUNTS, Claim)
from bnonly.reporting.claims_table import ClaimsTable
from bnonly.reporting.statistics import (CONFIDENCE, TOST, Outcome, blocked_contrast, equivalence, one_sided_t,
                                         paired_differences, two_sided_t, upper_bound)
from bnonly.reporting.verdicts import Budget, Finding, Row, decide, not_measured


def _count(value) -> str:
    """1,000 for a count; a mixed grid's list of values as it is."""
    return f'{value:,}' if isinstance(value, int) else str(value)


def budget(profile: dict) -> Budget:
    """What each cell of the grid was trained for, and whether that is short of the paper's recipe."""
    epochs = profile.get('epochs')
    text = (f'{_count(profile["steps"])} steps' if profile.get('steps')
            else f'{_count(epochs)} epoch{"" if epochs == 1 else "s"}')
    least = min(epochs) if isinstance(epochs, list) and epochs else epochs
    paper = PAPER_EPOCHS.get(profile.get('dataset'))
    return Budget(text, short=not (paper and isinstance(least, int) and least >= paper))


# ------------------------------------------------------------------------------------------ formatting
def points(outcome: Outcome, scale: float = 100, unit: str = 'points') -> str:
    """'+30.1 [+27.0, +33.2] points': the mean difference and its 95% CI."""
    if outcome.n < 2:
        return f'{scale * outcome.estimate:+.1f} {unit} (1 seed, no CI)'
    return (f'{scale * outcome.estimate:+.1f} [{scale * outcome.ci_low:+.1f}, {scale * outcome.ci_high:+.1f}] '
            f'{unit}')


def percent(outcome: Outcome) -> str:
    if outcome.n < 2:
        return f'{100 * outcome.estimate:.1f}% (1 seed, no CI)'
    return f'{100 * outcome.estimate:.1f}% [{100 * outcome.ci_low:.1f}, {100 * outcome.ci_high:.1f}]'


def odds_ratio(outcome: Outcome) -> str:
    """A mean logit difference shown as the odds ratio it stands for, CI included."""
    if outcome.n < 2:
        return f'OR ×{math.exp(outcome.estimate):.3g} (1 seed, no CI)'
    return (f'OR ×{math.exp(outcome.estimate):.3g} [{math.exp(outcome.ci_low):.3g}, '
            f'{math.exp(outcome.ci_high):.3g}]')


def interval_label(findings: list[Finding]) -> str:
    """What the row's intervals are: '95% CI, unadjusted' (a TOST's: '90% CI, unadjusted, the TOST's')."""
    levels = sorted({f.outcome.confidence for f in findings}, reverse=True)
    tost = any(f.outcome.kind == TOST for f in findings)
    return ('/'.join(f'{100 * level:g}%' for level in levels) + ' CI, unadjusted'
            + (', the interval the TOST decides by' if tost else ''))


def _test_text(findings: list[Finding]) -> str:
    names = sorted({f.outcome.name for f in findings})
    text = '; '.join(names)
    if len(findings) > 1:
        text += f'; IUT over {len(findings)} networks (p = the largest)'
    return text


def _row(claim: Claim, what: str, findings: list[Finding]) -> Row:
    ours = (f'{what}, estimate [{interval_label(findings)}]: '
            + '; '.join(f'{f.label}: {f.text}' for f in findings))
    test = _test_text(findings) + (f'; {claim.note}' if claim.note else '')
    return Row(claim.number, claim.claim, claim.paper, ours=ours, test=test, findings=findings,
               reason=claim.reason, planning=claim.planning, exploratory=claim.family == EXPLORATORY)


# ------------------------------------------------------------------------------------------------ tests
def paired_findings(results: Results, comparisons: list[Comparison], *,
                    transform: Callable[[Results, Side], pd.Series] | None = None,
                    formatter: Callable[[Outcome], str] = points, kind: str = 'paired t',
                    test: Callable[..., Outcome] = one_sided_t) -> list[Finding]:
    """One paired t per comparison whose two cells share at least one seed: one-sided (a - b > 0), or
    ``two_sided_t`` for an estimate that decides nothing."""
    read = transform or (lambda r, side: r.values(side))
    findings = []
    for label_, a, b in comparisons:
        differences = paired_differences(read(results, a), read(results, b))
        if differences.empty:
            continue
        outcome = test(differences.to_numpy(), kind=kind)
        findings.append(Finding(label_, outcome, formatter(outcome)))
    return findings


def contrast_values(results: Results, term: Comparison | Side) -> pd.Series:
    """A term's values per seed: a cell's own (a Side), or a Comparison's a - b on the seeds both sides have
    (a alone when b is None), each side itself a term: [R32 - R14](3k) - [R32 - R14](1k) is a Comparison of
    two Comparisons."""
    if isinstance(term, Comparison):
        a = contrast_values(results, term.a)
        return a if term.b is None else paired_differences(a, contrast_values(results, term.b))
    return results.values(term)


def contrast_findings(results: Results, comparisons: list[Comparison]) -> list[Finding]:
    """One one-sided one-sample t (> 0) per comparison, of its per-seed contrast (``contrast_values``)."""
    findings = []
    for comparison in comparisons:
        values = contrast_values(results, comparison)
        if values.empty:
            continue
        outcome = one_sided_t(values.to_numpy(), kind='one-sample t of the per-seed contrast')
        findings.append(Finding(comparison.label, outcome, points(outcome)))
    return findings


def blocked_findings(results: Results, comparisons: list[Comparison]) -> list[Finding]:
    """One block-model contrast (a - b > 0) per comparison of two networks trained the same way; the model
    holds every network of that trainable set with the metric (bnonly.paper.statistics.blocked_contrast)."""
    findings = []
    for label_, a, b in comparisons:
        frames = [results.values(a.on(arch)).rename('value').rename_axis('seed').reset_index().assign(arch=arch)
                  for arch in results.archs(a.setup, metric=a.metric, source=a.source)]
        values = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=['arch', 'seed', 'value'])
        if not {a.arch, b.arch} <= set(values.arch):
            continue
        outcome = blocked_contrast(values, a.arch, b.arch)
        findings.append(Finding(label_, outcome, points(outcome), scope=f'{label(a.arch)} vs {label(b.arch)}'))
    return findings


def equivalent_findings(results: Results, comparisons: list[Comparison]) -> list[Finding]:
    """One TOST per comparison within ±EQUIVALENCE_MARGIN: of a cell's per-seed value (a change it measured),
    or of the per-seed differences a - b on the seeds both cells share."""
    findings = []
    for label_, a, b in comparisons:
        if b is None:
            values, kind = results.values(a), 'one-sample on the per-seed change'
        else:
            values, kind = paired_differences(results.values(a), results.values(b)), 'paired'
        if b is not None and values.empty:
            continue
        outcome = equivalence(values.to_numpy(), low=-EQUIVALENCE_MARGIN, high=EQUIVALENCE_MARGIN, kind=kind,
                              margins=f'±{100 * EQUIVALENCE_MARGIN:g} point')
        findings.append(Finding(label_, outcome, points(outcome)))
    return findings


def empirical_logit(results: Results, side: Side) -> pd.Series:
    """log(p / (1 - p)) per seed, p kept half a channel away from 0 and 1 (bnonly.paper.paper_claims: why the
    logit)."""
    fractions = results.values(side)
    units = results.values(side._replace(metric='dead_relu.units')).reindex(fractions.index)
    half_channel = (0.5 / units).fillna(1e-3)
    clipped = fractions.clip(lower=half_channel, upper=1 - half_channel)
    return np.log(clipped / (1 - clipped))


def target_row(results: Results, claim: Claim) -> Row:
    """A number the paper reports: our mean significantly above it minus TOLERANCE (one-sided one-sample t)."""
    dataset = claim.select.dataset
    if results.dataset != dataset:
        return not_measured(claim.number, claim.claim, claim.paper,
                            f'the grid ran on {results.dataset_label}, not {dataset_label(dataset)}')
    findings = []
    for side, target in claim.select.targets:
        values = results.values(side)
        if values.empty:
            continue
        outcome = one_sided_t(values.to_numpy(), null=target - TOLERANCE, kind='one-sample t')
        findings.append(Finding(label(side.arch), outcome, percent(outcome)))
    if not findings:
        missing = ', '.join(f'{label(s.arch)} {s.trainable}' for s, _ in claim.select.targets)
        return not_measured(claim.number, claim.claim, claim.paper, f'{missing} not in the grid; {COST_NOTE}')
    return _row(claim, f'{dataset_label(dataset)} test accuracy against the paper\'s number minus '
                       f'{100 * TOLERANCE:.0f} points', findings)


# ------------------------------------------------------------------------- printed beside, never tested
def _against_the_papers_effect(claim: Claim, results: Results, comparison: Comparison, outcome: Outcome) -> str:
    """The one-sided upper bound of the gain, and where the paper's +0.5 to +2 points lie against it."""
    bound = upper_bound(outcome)
    if math.isnan(bound):
        return ''
    low, high = GAMMA_BETA_EFFECTS
    paper = f'the paper\'s +{100 * low:g} to +{100 * high:g} points'
    where = (f'{paper} lie above it (excluded)' if bound < low
             else f'{paper} lie below it (not excluded)' if bound >= high
             else f'of {paper}, those above {100 * bound:+.1f} lie above it (excluded), the rest below')
    return f'; one-sided upper {100 * CONFIDENCE:g}% bound (unadjusted) {100 * bound:+.1f} points: {where}'


def _other_thresholds(claim: Claim, results: Results, comparison: Comparison, outcome: Outcome) -> str:
    """The same comparison at the non-primary thresholds: printed, never tested."""
    select, parts = claim.select, []
    for t in results.thresholds():
        if t == PRIMARY_THRESHOLD:
            continue
        key = threshold_key(t)
        a = comparison.a._replace(metric=select.metric.format(t=key))
        b = comparison.b._replace(metric=(select.b_metric or select.metric).format(t=key))
        differences = paired_differences(results.values(a), results.values(b))
        if not differences.empty:
            parts.append(f't={t:g}: {points(one_sided_t(differences.to_numpy()))}')
    return f' (not tested: {", ".join(parts)})' if parts else ''


SITES = ('block', 'residual')


def _dead_relu_detail(claim: Claim, results: Results, comparison: Comparison, outcome: Outcome) -> str:
    """The mean fractions of the two cells, then the odds ratio at each ReLU site."""
    bn, everything = (100 * results.values(side).mean() for side in (comparison.a, comparison.b))
    parts = []
    for site in SITES:
        metric = f'dead_relu.site.{site}'
        findings = paired_findings(results, [Comparison(site, comparison.a._replace(metric=metric),
                                                        comparison.b._replace(metric=metric))],
                                   transform=empirical_logit, formatter=odds_ratio)
        parts += [f'{site} {f.text}' for f in findings]
    sites = f' (per site, not tested: {", ".join(parts)})' if parts else ''
    return f', BN-only {bn:.1f}% vs all {everything:.1f}% (means){sites}'


def _trainable_counts(claim: Claim, results: Results, comparison: Comparison, outcome: Outcome) -> str:
    """The trainable parameter counts of the two cells, as their first seed trained them."""
    counts = []
    for side in (comparison.a, comparison.b):
        values = results.values(side._replace(metric='trainable_params'))
        counts.append('?' if values.empty else f'{values.iloc[0]:,.0f}')
    a, b = counts
    return f'; trainable parameters {a} vs {b}' + (' (equal)' if a == b != '?' else '')


DETAILS = {PAPER_EFFECT: _against_the_papers_effect, OTHER_THRESHOLDS: _other_thresholds,
           DEAD_RELU_DETAIL: _dead_relu_detail, TRAINABLE_COUNTS: _trainable_counts}


# -------------------------------------------------------------------------------------------- the table
def _counts_note(results: Results, comparisons: list[Comparison]) -> str:
    counts = [(results.get(c.a.run, 'trainable_params'), results.get(c.b.run, 'trainable_params'))
              for c in comparisons]
    if any(a is None or b is None for a, b in counts):
        return 'trainable counts not recorded'
    return 'equal trainable counts' if all(a == b for a, b in counts) else 'trainable counts differ here'


def claim_row(results: Results, claim: Claim) -> Row:
    """The row of one declared claim: its findings, each with its printed detail, or why it is not measured."""
    if claim.test == TARGET:
        return target_row(results, claim)
    comparisons = claim.select.comparisons(results, PRIMARY_KEY)
    if claim.test == BLOCKED:
        findings = blocked_findings(results, comparisons)
    elif claim.test == EQUIVALENT:
        findings = equivalent_findings(results, comparisons)
    elif claim.test == LOGIT:
        findings = paired_findings(results, comparisons, transform=empirical_logit, formatter=odds_ratio,
                                   kind='paired t on logits')
    elif claim.test == ESTIMATE:
        findings = paired_findings(results, comparisons, test=two_sided_t)
    elif claim.test == CONTRAST:
        findings = contrast_findings(results, comparisons)
    else:
        findings = paired_findings(results, comparisons)
    if not findings:
        return not_measured(claim.number, claim.claim, claim.paper, claim.missing.format(t=PRIMARY_KEY))
    if not claim.contradicting:  # registered one-sided: no test against it joins a family
        findings = [dataclasses.replace(f, outcome=dataclasses.replace(f.outcome, opposite=())) for f in findings]
    if claim.detail:
        by_label = {c.label: c for c in comparisons}
        detail = DETAILS[claim.detail]
        findings = [Finding(f.label, f.outcome, f.text + detail(claim, results, by_label[f.label], f.outcome),
                            f.scope) for f in findings]
    counts = _counts_note(results, comparisons) if '{counts}' in claim.what else ''
    return _row(claim, claim.what.format(data=results.dataset_label, counts=counts), findings)


def evaluate(table: ClaimsTable, results, *, both_directions: bool | None = None) -> list[Row]:
    """Every row of ``table`` on ``results`` (what its ``results`` read), corrected for multiplicity (primary
    family first, when the table has one) and decided at the grid's budget. ``both_directions``: the design of
    the primary family, the table's own unless given."""
    both_directions = table.both_directions if both_directions is None else both_directions
    rows = [claim_row(results, claim) for claim in table.claims]
    return decide(rows, primary=table.primary, both_directions=both_directions, budget=budget(results.profile),
                  gate=table.gate)
