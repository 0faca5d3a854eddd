"""Pre-specified claims of the extensions grid (X1-X15), declared as the paper's are (bnonly.reporting.claim),
evaluated by the same evaluator (bnonly.paper.claims) and written by the same writer
(bnonly.reporting.claims_table): ``TABLE``, the claims stage's ``--table extensions``.

Each claim names two runs of extensions/grid.yaml (``RunPair``) and one test. Which rows are tested, in which
family, the seeds and α are registered in extensions/registration.yaml and read from it (bnonly.registration),
not restated; what each row compares is declared here, and tests/test_extensions_registration.py checks it
against the registration. The rules, as registered:

- Cells are compared **paired by seed** (same data order and training subset; within one network and init,
  the same initial weights): the per-seed differences a - b on the seeds both runs have.
- "Above" claims are **one-sided paired t tests** (bnonly.reporting.statistics.one_sided_t) in the stated
  direction, each with its contradicting test (the opposite direction) in the same family, so a row can hold,
  be reversed or stay open. X3 (γ only above β only) takes the direction the paper's account predicts: BN-only
  works by switching features off through small γ, which γ only can do and β only (γ frozen at its random
  init) cannot. X15 (β only above output only) takes the paper's row 7 direction, though β only scored below
  the default grid's output-only on seeds 0-2: either direction decides.
- "Barely changes" claims are **TOST equivalence tests** with the paper table's margin, ±1 point
  (bnonly.paper.paper_claims.EQUIVALENCE_MARGIN), printed with the 90% interval the TOST decides by. All three
  init claims (X10-X12) were posed so before the first run (seeds 0-2). Only X12 stays one: X10 and X11 are
  **estimates** (bnonly.reporting.statistics.two_sided_t: the difference, its 95% interval and a two-sided p,
  no verdict), because on seeds 0-2 their intervals were about 8 points wide with the estimate 2-3 points
  below 0, so no affordable seed count shows ±1 point. That change was made after seeing the data.
- X4 repeats the paper table's row 6 (ResNet-14 BN-only against random_k): it is **exploratory**, printed with
  its unadjusted p and no verdict.
- **Serial gatekeeping** of two Holm families at α (bnonly.reporting.verdicts, ``gate=DECIDED``): the primary
  family is the γ-or-β question on the BatchNorm ResNet-14 (X1-X3, X13-X15, both directions of each); the
  secondary family (X5-X9, X12 with their contradicting tests) is decided only if every primary row is
  decided, holding or reversed. Rows whose runs the tables lack are **not measured**.
- Seeds 0-2 were seen before these rows took their final form: a table of those seeds is exploratory whatever
  it prints. The registered seeds are the confirmatory set; n is never extended.
- Seeds needed are planned at each claim's smallest effect of interest (its ``planning``: 2 points for
  "above" claims, a true difference of 0 for an equivalence) with the sd at its upper 80% confidence bound.

X4-X7 compare a normalisation-only set with random_k at k = 2, its equal trainable count, X13 and X14 γ only
and β only with random_k at k = 1, theirs (bnonly.trainable.EQUAL_COUNT_BASELINE; each row prints both counts
as trained).
"""
from bnonly import registration as registered
from bnonly.extensions import runs
from bnonly.extensions.runs import RunPair
from bnonly.paper.claims import budget
from bnonly.paper.names import dataset_label
from bnonly.paper.paper_claims import EQUIVALENCE_MARGIN
from bnonly.paper.results import Results
from bnonly.reporting.claim import (EQUIVALENT, ESTIMATE, EXPLORATORY, IN_FAMILY, PAIRED, PRIMARY,
                                    TRAINABLE_COUNTS, Claim)
from bnonly.reporting.claims_table import ClaimsTable, tally
from bnonly.reporting.verdicts import DECIDED, Planning, Row

PATH = 'extensions/registration.yaml'   # relative to the project root, as git names it
REGISTRATION = registered.load(PATH)
ALPHA = REGISTRATION['alpha']
SEEDS = tuple(REGISTRATION['seeds'])
# The registered families, in their order, as the table names them: the first is gatekept's primary family.
FAMILY_OF = {'primary': PRIMARY, 'secondary': IN_FAMILY}
FAMILIES = {family['family']: tuple(family['rows']) for family in REGISTRATION['families']}
if tuple(FAMILIES) != tuple(FAMILY_OF):
    raise ValueError(f'{PATH}: families {tuple(FAMILIES)}, the table knows {tuple(FAMILY_OF)} in that order')

SMALLEST_EFFECT = 0.02      # the smallest effect of interest of an "above" claim (seed counts only)
_MARGIN = f'±{100 * EQUIVALENCE_MARGIN:g} point'
_ABOVE = Planning(SMALLEST_EFFECT, 'smallest effect of interest')
_NO_CHANGE = Planning(EQUIVALENCE_MARGIN, 'a true difference of 0')


def _family(number: str, exploratory: str) -> str:
    """The row's family as registered; an exploratory row (one that says why) is in none."""
    if exploratory:
        return EXPLORATORY
    found = [FAMILY_OF[name] for name, rows in FAMILIES.items() if number in rows]
    if len(found) != 1:
        raise ValueError(f'{PATH} puts claim {number} in {len(found)} families: a tested row is in exactly one')
    return found[0]


def _runs(number: str, claim: str, prior: str, label: str, a: str, b: str, test: str, planning: Planning, *,
          note: str = '', exploratory: str = '') -> Claim:
    """A claim on run ``a`` - run ``b`` (test accuracy, paired by seed), printed with both trainable counts."""
    what = f'difference, equivalence margin {_MARGIN}' if test == EQUIVALENT else 'difference'
    return Claim(number, claim, prior, RunPair(label, a, b), test, planning,
                 what=f'{a} − {b} test accuracy on {{data}} ({what})',
                 missing=f'needs the runs {a} and {b} with a seed in common (extensions/grid.yaml)',
                 family=_family(number, exploratory), reason=exploratory, note=note, detail=TRAINABLE_COUNTS)


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
          runs.BETA_ONLY, PAIRED, _ABOVE),
    _runs('X13', 'γ only is above as many random weights (random_k, k = 1).',
          'whether γ alone beats random features at its own count, as BN-only does at its', 'ResNet-14',
          runs.GAMMA_ONLY, runs.RANDOM_K1, PAIRED, _ABOVE),
    _runs('X14', 'β only is above as many random weights (random_k, k = 1).',
          'whether β alone beats random features at its own count, as BN-only does at its', 'ResNet-14',
          runs.BETA_ONLY, runs.RANDOM_K1, PAIRED, _ABOVE),
    _runs('X15', 'β only against output only (ResNet-14): β only is above training only the output layer.',
          'β only scored 43.9% on seeds 0-2 against the default grid\'s output-only 48.1%, a gap no row tested',
          'ResNet-14', runs.BETA_ONLY, runs.OUTPUT_ONLY, PAIRED, _ABOVE,
          note='posed in the paper\'s row 7 direction; either direction decides'),
    _runs('X4', 'BatchNorm only is above as many random weights (random_k, k = 2).',
          'the paper\'s claim, on the extensions grid', 'ResNet-14', runs.BN_ONLY, runs.RANDOM_K, PAIRED, _ABOVE,
          exploratory='it repeats the paper table\'s row 6, which that table decides: not a new question'),
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
_unclaimed = {number for rows in FAMILIES.values() for number in rows} - {claim.number for claim in CLAIMS}
if _unclaimed:
    raise ValueError(f'{PATH} registers rows {sorted(_unclaimed)} that bnonly.extensions.claims does not declare')


def header(rows: list[Row], profile: dict, both_directions: bool) -> list[str]:
    """The title, the registration's commit, the grid and the rules, above the columns."""
    sizes = {family: max((r.family_size for r in rows if r.family == family), default=0)
             for family in ('primary', 'secondary')}
    exploratory = ', '.join(r.number for r in rows if r.exploratory) or 'none'
    length = budget(profile)
    reversal = (f'; a significant result against a claim reads "reversed at {length.text}", not "does not hold"'
                if length.short else '')
    steps = profile.get('steps')
    steps = f'{steps:,}' if isinstance(steps, int) else str(steps)  # a mixed grid: the list of values
    primary, secondary = (', '.join(FAMILIES[name]) for name in FAMILY_OF)
    return [
        '# Beyond the paper: the extensions grid\'s claims against our measurements',
        '',
        f'Registration: {PATH}, last changed in commit {registered.fixing_commit(PATH)} (read when this table was '
        f'written): seeds {", ".join(map(str, SEEDS))} (n = {len(SEEDS)}, never extended). Grid: '
        f'{dataset_label(profile.get("dataset"))}, {steps} SGD steps per cell, {profile.get("seeds")} seeds, '
        f'{profile.get("cells_trained")} trained and {profile.get("cells_analysed")} analysed cells '
        f'(extensions/grid.yaml). Verdicts: {tally(rows)}.',
        '',
        f'Each row is one test (bnonly.extensions.claims, whose docstring gives the rules and which rows changed '
        f'after the first run), computed from the per-seed cells (extensions/reports/grid_cells.csv) by the '
        f'paper table\'s machinery: cells paired by seed, the estimate the mean per-seed difference in test '
        f'accuracy with its two-sided t interval, unadjusted for multiplicity (95%; a TOST row\'s is the 90% '
        f'interval the TOST decides by); "above" claims are one-sided paired t tests, "barely changes" claims '
        f'TOST equivalence tests with a margin of {_MARGIN}. Primary family ({primary}; Holm at α = {ALPHA:g}, '
        f'{sizes["primary"]} tests: both directions of each); secondary family ({secondary}; Holm at α, '
        f'{sizes["secondary"]} tests: each row\'s and its contradicting tests) decided only if every primary row '
        f'is decided, holding or reversed (serial gatekeeping). Exploratory rows ({exploratory}) stay out of '
        f'both families and print an unadjusted p and no verdict. Each verdict names the network and the budget '
        f'({length.text} per cell) it rests on{reversal}. Seed counts for an open row are for a new registration; '
        f'the exploratory q (BH) column as in reports/claims.md.',
        '',
    ]


# reports/claims.md and reports/claims.csv of extensions/: the CSV in the paper table's columns, its ``paper``
# column named for what it holds here.
TABLE = ClaimsTable(
    name='extensions', claims=CLAIMS, results=Results, header=header,
    columns=(('#', 'number'), ('Claim', 'claim'), ('Why asked', 'paper'), ('Ours (estimate [CI, unadjusted])', 'ours'),
             ('Test', 'test'), ('n', 'n'), ('Family', 'family'), ('p (Holm)', 'p'), ('q (BH)', 'q'),
             ('Verdict', 'verdict')),
    aggregate='dvc repro extensions/dvc.yaml:grid_aggregate', csv_names=(('paper', 'why_asked'),),
    both_directions=True, gate=DECIDED)
