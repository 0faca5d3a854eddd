"""Pre-specified claims of the extensions grid (X1-X12), declared as the paper's are (bnonly.reporting.claim),
evaluated by the same evaluator (bnonly.paper.claims) and written by the same writer
(bnonly.reporting.claims_table): ``TABLE``, the claims stage's ``--table extensions``.

Each claim names two runs of extensions/grid.yaml (``RunPair``) and one test, fixed here before any cell was
trained:

- Cells are compared **paired by seed** (same data order and training subset; within one network and init,
  the same initial weights): the per-seed differences a - b on the seeds both runs have.
- "Above" claims are **one-sided paired t tests** (bnonly.reporting.statistics.one_sided_t) in the stated
  direction. X3 (γ only against β only) is posed one-sided too, "γ only above β only", with its
  contradicting one-sided test (β only above γ only) in the Holm family as well, so a significant
  difference either way is a verdict. The direction is the one the paper's account predicts: BN-only works
  by switching features off through small γ, which γ only can do and β only (γ frozen at its random init)
  cannot.
- "Barely changes" claims are **TOST equivalence tests** with the paper table's margin, ±1 point
  (bnonly.paper.paper_claims.EQUIVALENCE_MARGIN), printed with the 90% interval the TOST decides by. All three
  init claims (X10-X12) were posed so before the first run (seeds 0-2). Only X12 stays one: X10 and X11 are
  **estimates** now (bnonly.reporting.statistics.two_sided_t: the difference, its 95% interval and a two-sided p,
  no verdict), because on seeds 0-2 their intervals were about 8 points wide with the estimate 2-3 points
  below 0, so no affordable seed count shows ±1 point. That change was made after seeing the data.
- X4 repeats the paper table's row 6 (ResNet-14 BN-only against random_k) on seeds 0-2, the seeds of the
  exploratory run that chose that table's primary family: it is **exploratory**, printed with its unadjusted
  p and no verdict.
- **Holm** across this table's tests and their contradicting tests, verdicts, scopes and seed counts as in
  the paper's table (bnonly.reporting.verdicts.decide); exploratory rows stay out of the family; rows whose runs
  the tables lack are **not measured**. Taking X4, X10 and X11 out shrank the family after seeds 0-2 were
  seen, so its verdicts on those seeds are exploratory too; a confirmatory reading needs a new seed set.
- Seeds needed are planned at each claim's smallest effect of interest (its ``planning``: 2 points for
  "above" claims, a true difference of 0 for an equivalence) with the sd at its upper 80% confidence bound.

X4-X7 compare a normalisation-only set with random_k at k = 2, its equal trainable count
(bnonly.trainable.EQUAL_COUNT_BASELINE; each row prints both counts as trained). γ only and β only have no
random baseline here: theirs is k = 1, which the grid does not train.
"""
from bnonly.extensions import runs
from bnonly.extensions.runs import RunPair
from bnonly.paper.claims import budget
from bnonly.paper.names import dataset_label
from bnonly.paper.paper_claims import EQUIVALENCE_MARGIN
from bnonly.paper.results import Results
from bnonly.reporting.claim import (EQUIVALENT, ESTIMATE, EXPLORATORY, IN_FAMILY, PAIRED, TRAINABLE_COUNTS,
                                    Claim)
from bnonly.reporting.claims_table import ClaimsTable, tally
from bnonly.reporting.statistics import ALPHA
from bnonly.reporting.verdicts import Planning, Row

SMALLEST_EFFECT = 0.02      # the smallest effect of interest of an "above" claim (seed counts only)
_MARGIN = f'±{100 * EQUIVALENCE_MARGIN:g} point'
_ABOVE = Planning(SMALLEST_EFFECT, 'smallest effect of interest')
_NO_CHANGE = Planning(EQUIVALENCE_MARGIN, 'a true difference of 0')


def _runs(number: str, claim: str, prior: str, label: str, a: str, b: str, test: str, planning: Planning, *,
          note: str = '', exploratory: str = '') -> Claim:
    """A claim on run ``a`` - run ``b`` (test accuracy, paired by seed), printed with both trainable counts."""
    what = f'difference, equivalence margin {_MARGIN}' if test == EQUIVALENT else 'difference'
    return Claim(number, claim, prior, RunPair(label, a, b), test, planning,
                 what=f'{a} − {b} test accuracy on {{data}} ({what})',
                 missing=f'needs the runs {a} and {b} with a seed in common (extensions/grid.yaml)',
                 family=EXPLORATORY if exploratory else IN_FAMILY, reason=exploratory, note=note,
                 detail=TRAINABLE_COUNTS)


_NO_EQUIVALENCE = (f'posed as an equivalence within {_MARGIN} before seeds 0-2; their interval was about 8 points '
                   f'wide around an estimate 2-3 points below 0, which no affordable seed count brings inside '
                   f'the margin, so it is an estimate with its interval, without a verdict (changed after '
                   f'seeing those seeds)')
CLAIMS = (
    _runs('X1', 'Training β as well as γ is above training γ alone (BatchNorm only − γ only).',
          'β adds a per-channel shift to γ\'s scale', 'ResNet-14', runs.BN_ONLY, runs.GAMMA_ONLY, PAIRED, _ABOVE),
    _runs('X2', 'Training γ as well as β is above training β alone (BatchNorm only − β only).',
          'γ can switch a feature off; β alone keeps γ at its random init', 'ResNet-14', runs.BN_ONLY,
          runs.BETA_ONLY, PAIRED, _ABOVE),
    _runs('X3', 'γ only is above β only (γ does more of the work).',
          'the paper\'s account: features are switched off by small γ', 'ResNet-14', runs.GAMMA_ONLY,
          runs.BETA_ONLY, PAIRED, _ABOVE, note='posed one-sided; its contradicting test, β only above γ only, is in '
                                               'the Holm family too, so either direction decides'),
    _runs('X4', 'BatchNorm only is above as many random weights (random_k, k = 2).',
          'the paper\'s claim, on the extensions grid', 'ResNet-14', runs.BN_ONLY, runs.RANDOM_K, PAIRED, _ABOVE,
          exploratory='the paper table\'s row 6 on seeds 0-2, which the exploratory run that chose that table\'s '
                      'primary family had already used: not a confirmation'),
    _runs('X5', 'GroupNorm only is above as many random weights (random_k, k = 2).',
          'whether the effect needs batch statistics (GroupNorm: per example, per group of channels)',
          'ResNet-14 (GroupNorm)', *runs.NORMS['GroupNorm'], PAIRED, _ABOVE),
    _runs('X6', 'LayerNorm only is above as many random weights (random_k, k = 2).',
          'whether it needs per-channel statistics (LayerNorm: one mean and variance per example)',
          'ResNet-14 (LayerNorm)', *runs.NORMS['LayerNorm'], PAIRED, _ABOVE),
    _runs('X7', 'In a ViT, LayerNorm only is above as many random weights (random_k, k = 2).',
          'whether the effect carries over to a transformer', 'ViT', runs.VIT_NORM_ONLY, runs.VIT_RANDOM_K, PAIRED,
          _ABOVE),
    _runs('X8', 'In a ViT, LayerNorm only is above training only the output layer.',
          'the paper\'s title comparison, on a transformer', 'ViT', runs.VIT_NORM_ONLY, runs.VIT_OUTPUT_ONLY,
          PAIRED, _ABOVE),
    _runs('X9', 'In a ViT, training all parameters is above LayerNorm only.',
          'the ceiling: frozen random features cost accuracy', 'ViT', runs.VIT_ALL, runs.VIT_NORM_ONLY, PAIRED,
          _ABOVE),
    _runs('X10', 'How much does γ = 1 at init change BatchNorm-only accuracy against γ ~ U[0, 1)?',
          'no direction predicted: robustness to the γ init', 'ResNet-14', f'{runs.BN_ONLY}-fixed', runs.BN_ONLY,
          ESTIMATE, _ABOVE, exploratory=_NO_EQUIVALENCE),
    _runs('X11', 'How much do orthogonal frozen weights change BatchNorm-only accuracy against Kaiming normal?',
          'no direction predicted: robustness to the random features\' distribution',
          'ResNet-14', f'{runs.BN_ONLY}-orthogonal', runs.BN_ONLY, ESTIMATE, _ABOVE, exploratory=_NO_EQUIVALENCE),
    _runs('X12', f'BatchNorm only with binary (±σ) frozen weights barely changes accuracy against Kaiming normal '
          f'({_MARGIN}).', 'no direction predicted: robustness to the random features\' distribution',
          'ResNet-14', f'{runs.BN_ONLY}-binary', runs.BN_ONLY, EQUIVALENT, _NO_CHANGE),
)


def header(rows: list[Row], profile: dict, both_directions: bool) -> list[str]:
    """The title, the grid and the rules, above the columns (one Holm family: no primary rows)."""
    dataset = dataset_label(profile.get('dataset'))
    family = max((r.family_size for r in rows), default=0)
    exploratory = ', '.join(r.number for r in rows if r.exploratory) or 'none'
    length = budget(profile)
    reversal = (f'; a significant result against a claim reads "reversed at {length.text}", not "does not hold"'
                if length.short else '')
    steps = profile.get('steps')
    steps = f'{steps:,}' if isinstance(steps, int) else str(steps)  # a mixed grid: the list of values
    return [
        '# Beyond the paper: the extensions grid\'s claims against our measurements',
        '',
        f'Grid: {dataset}, {steps} SGD steps per cell, {profile.get("seeds")} seeds, '
        f'{profile.get("cells_trained")} trained and {profile.get("cells_analysed")} analysed cells '
        f'(extensions/grid.yaml). Verdicts: {tally(rows)}.',
        '',
        f'Each row is one test (bnonly.extensions.claims, whose docstring gives the rules and which rows changed '
        f'after the first run), computed from the per-seed cells (extensions/reports/grid_cells.csv) by the '
        f'paper table\'s machinery: cells paired by seed, the estimate the mean per-seed difference in test '
        f'accuracy with its two-sided t interval, unadjusted for multiplicity (95%; a TOST row\'s is the 90% '
        f'interval the TOST decides by); "above" claims are one-sided paired t tests, "barely changes" claims '
        f'TOST equivalence tests with a margin of {_MARGIN}. p-values are Holm-adjusted across this table '
        f'({family} tests: each row\'s and its contradicting tests), at α = {ALPHA:g}; exploratory rows '
        f'({exploratory}) stay out of the family and print an unadjusted p and no verdict. Each verdict names '
        f'the network and the budget ({length.text} per cell) it rests on{reversal}. '
        f'Seed counts (for a new confirmatory seed set) and the exploratory q (BH) column as in reports/claims.md.',
        '',
    ]


# reports/claims.md and reports/claims.csv of extensions/: the CSV in the paper table's columns, its ``paper``
# column named for what it holds here.
TABLE = ClaimsTable(
    name='extensions', claims=CLAIMS, results=Results, header=header,
    columns=(('#', 'number'), ('Claim', 'claim'), ('Why asked', 'paper'), ('Ours (estimate [CI, unadjusted])', 'ours'),
             ('Test', 'test'), ('n', 'n'), ('p (Holm)', 'p'), ('q (BH)', 'q'), ('Verdict', 'verdict')),
    aggregate='dvc repro extensions/dvc.yaml:grid_aggregate', csv_names=(('paper', 'why_asked'),))
