"""The budget study's claims table (``TABLE``, the claims stage's ``--table study``): tests B1-B7 of
study/registration.yaml, declared as data on the package's claims machinery (bnonly.reporting.claim), evaluated
by its evaluator (bnonly.paper.claims) and written by its writer (bnonly.reporting.claims_table).

What is fixed by the registration is read from it (bnonly.study.registration): each test's id, hypothesis,
family and the α; the seeds are the grid's, which tests/test_study.py checks against the registered ones.
What each test compares is declared here (``DESIGN``) in the registration's own notation, and the same test
checks that each declaration spells its registered contrast. The rules, as registered:

- Every cell of a seed shares the data order and the training subset, so every contrast is formed per seed
  and tested by a one-sample t on the n per-seed values (df = n - 1; bnonly.paper.claims.contrast_findings).
  An outcome ``excess_small_gamma_<t>`` is the cell's share of |γ| < t after training minus the same cell's
  share at init (its analysis: ``gamma.frac_abs_below`` and ``gamma_init.frac_abs_below``); ``accuracy`` is
  its final test accuracy.
- B1 and B2 (primary) are network x budget interactions, [A - B](3,000 steps) - [A - B](1,000 steps), with both
  directions in the primary family (Holm at α), so each can hold, be reversed or stay open.
- B3-B7 (secondary, Holm at α) are decided only if every primary row is decided, either way (serial
  gatekeeping: bnonly.reporting.verdicts, ``gate=DECIDED``). B3-B6 have both directions in the family; B7 is
  one-sided (> 0) over the 6 cells of 3 networks x 2 budgets, an intersection-union test (p = the largest),
  its opposite direction in no family.
- Reported, not tested (exploratory rows, no family, no verdict): B1-B4 and B7 at |γ| < 0.01, and claim 14
  (BN-only against all-trained ResNet-14, share of |γ| < 0.1) at each budget, measured only when the opt-in
  all-trained cells were trained.
- Seed counts printed for an open row plan at a smallest effect of interest of 2 points (``SMALLEST_EFFECT``);
  the registration fixes no effect size, and n = 4 is never extended (a later set is a new registration).
"""
import dataclasses
from dataclasses import dataclass

from bnonly.paper.claims import budget
from bnonly.paper.names import dataset_label, threshold_key
from bnonly.paper.results import Comparison, Results, Side
from bnonly.reporting.claim import CONTRAST, ESTIMATE, EXPLORATORY, IN_FAMILY, PRIMARY, Claim
from bnonly.reporting.claims_table import ClaimsTable, tally
from bnonly.reporting.verdicts import DECIDED, Planning, Row
from bnonly.study import registration as reg

REGISTRATION = reg.registration()
ALPHA = REGISTRATION['alpha']
SEEDS = tuple(REGISTRATION['seeds'])
NETWORKS = tuple(REGISTRATION['networks']['default'])
LOW, HIGH = BUDGETS = tuple(REGISTRATION['budgets']['default'])    # SGD steps: 1,000 and 3,000
R14, R32, WRN = NETWORKS
# The registration's names of the networks in its contrasts.
SHORT = {R14: 'R14', R32: 'R32', WRN: 'WRN-14-2'}
ALL_TRAINED = REGISTRATION['networks']['opt_in'][0]                 # cifar_resnet14-all, for claim 14
TESTED, REPORTED = 0.1, 0.01                                        # |γ| thresholds: tested, reported only
SMALLEST_EFFECT = 0.02
_PLANNING = Planning(SMALLEST_EFFECT, 'smallest effect of interest, not registered')
FAMILIES = {'primary': PRIMARY, 'secondary': IN_FAMILY}             # IN_FAMILY: the secondary family here


def excess(threshold: float) -> str:
    """The registration's outcome name: 'excess_small_gamma_0.1'."""
    return f'excess_small_gamma_{threshold:g}'


def term(outcome: str, network: str, steps: int) -> Comparison | Side:
    """One cell's outcome per seed, as bnonly.paper.claims.contrast_values reads it."""
    run = reg.run(network, steps)
    if outcome == 'accuracy':
        return Side(run, 'test_accuracy')
    if outcome.startswith('excess_small_gamma_'):
        key = threshold_key(float(outcome.removeprefix('excess_small_gamma_')))
        return Comparison(f'{SHORT.get(network, network)} at {steps:,}',
                          Side(run, f'gamma.frac_abs_below.{key}', 'analysis'),
                          Side(run, f'gamma_init.frac_abs_below.{key}', 'analysis'))
    raise ValueError(f'{outcome!r} is not an outcome of {reg.PATH}')


@dataclass(frozen=True)
class Gap:
    """[a - b] on ``outcome`` at the first budget, minus the same at the second when there is one (the network
    x budget interaction)."""
    a: str
    b: str
    outcome: str
    budgets: tuple

    def _gap(self, steps: int) -> Comparison:
        return Comparison(f'{steps:,} steps', term(self.outcome, self.a, steps), term(self.outcome, self.b, steps))

    @property
    def contrast(self) -> str:
        """As the registration writes it: '[R32 - R14](3000) - [R32 - R14](1000) of excess_small_gamma_0.1'."""
        gap = f'[{SHORT[self.a]} - {SHORT[self.b]}]'
        return ' - '.join(f'{gap}({steps})' for steps in self.budgets) + f' of {self.outcome}'

    @property
    def label(self) -> str:
        budgets = ' − '.join(f'{steps:,}' for steps in self.budgets)
        return f'{SHORT[self.a]} − {SHORT[self.b]}, {budgets} steps'

    def comparisons(self, results, key: str) -> list[Comparison]:
        first, *rest = (self._gap(steps) for steps in self.budgets)
        return [Comparison(self.label, first, rest[0] if rest else None)]


@dataclass(frozen=True)
class EachCell:
    """``outcome`` of every network at every budget, one test each (an intersection-union row)."""
    outcome: str
    networks: tuple
    budgets: tuple

    @property
    def contrast(self) -> str:
        return (f'{self.outcome} of each of the {len(self.networks)} networks x {len(self.budgets)} '
                f'budget{"s" if len(self.budgets) > 1 else ""}')

    def comparisons(self, results, key: str) -> list[Comparison]:
        return [term(self.outcome, network, steps) for steps in self.budgets for network in self.networks]


@dataclass(frozen=True)
class Test:
    """What a registered test compares, and whether its opposite direction is in its family."""
    select: Gap | EachCell
    both_directions: bool = True


DESIGN = {
    'B1': Test(Gap(R32, R14, excess(TESTED), (HIGH, LOW))),
    'B2': Test(Gap(WRN, R14, excess(TESTED), (HIGH, LOW))),
    'B3': Test(Gap(R32, R14, excess(TESTED), (HIGH,))),
    'B4': Test(Gap(WRN, R14, excess(TESTED), (HIGH,))),
    'B5': Test(Gap(R32, R14, 'accuracy', (HIGH, LOW))),
    'B6': Test(Gap(WRN, R14, 'accuracy', (HIGH, LOW))),
    'B7': Test(EachCell(excess(TESTED), NETWORKS, BUDGETS), both_directions=False),
}
# Reported at |γ| < 0.01, never tested: the tests on excess small γ.
REPORTED_AT_LOW_THRESHOLD = ('B1', 'B2', 'B3', 'B4', 'B7')


def _what(select: Gap | EachCell) -> str:
    unit = 'test accuracy' if select.outcome == 'accuracy' else \
        f'share of |γ| < {select.outcome.removeprefix("excess_small_gamma_")} minus the same cell\'s at init'
    return f'{select.contrast}, per seed ({unit}, points)'


def _registered(test: dict) -> Claim:
    design = DESIGN[test['id']]
    return Claim(test['id'], test['hypothesis'], f'registered contrast: {test["contrast"]}', design.select,
                 CONTRAST, _PLANNING, what=_what(design.select), family=FAMILIES[test['family']],
                 missing=f'needs every cell of {design.select.contrast} (study/grid.yaml)',
                 contradicting=design.both_directions,
                 note='both directions in the family' if design.both_directions else 'one-sided, registered so')


def _at(select: Gap | EachCell, outcome: str) -> Gap | EachCell:
    return dataclasses.replace(select, outcome=outcome)


def _reported(number: str) -> Claim:
    select = _at(DESIGN[number].select, excess(REPORTED))
    return Claim(f'{number}@{REPORTED:g}', f'{number} at |γ| < {REPORTED:g}.', 'reported, not tested (registration)',
                 select, CONTRAST, _PLANNING, what=_what(select), family=EXPLORATORY,
                 reason=f'the registration reports the contrasts at |γ| < {REPORTED:g} without a test',
                 missing=f'needs every cell of {select.contrast} with the analysis at {REPORTED:g}')


@dataclass(frozen=True)
class AgainstAllTrained:
    """Claim 14 at one budget: BN-only minus all-trained ResNet-14, share of |γ| < 0.1 after training."""
    steps: int

    def comparisons(self, results, key: str) -> list[Comparison]:
        metric = f'gamma.frac_abs_below.{threshold_key(TESTED)}'
        return [Comparison(f'ResNet-14, {self.steps:,} steps', Side(reg.run(R14, self.steps), metric, 'analysis'),
                           Side(reg.run(ALL_TRAINED, self.steps), metric, 'analysis'))]


def _claim_14(steps: int) -> Claim:
    return Claim(f'C14@{steps:,}', f'BN-only makes more small γ than training all parameters, at {steps:,} steps.',
                 'reported, not tested (registration: claim 14, opt-in cells)', AgainstAllTrained(steps), ESTIMATE,
                 _PLANNING, what=f'share of |γ| < {TESTED:g}, {R14} − {reg.run(ALL_TRAINED, steps)}, per seed '
                                 f'(points, two-sided)', family=EXPLORATORY,
                 reason='the registration reports claim 14 without a test',
                 missing=f'needs the opt-in all-trained cells {reg.run(ALL_TRAINED, steps)} (study/README.md)')


CLAIMS = (*(_registered(test) for test in REGISTRATION['tests']),
          *(_reported(number) for number in REPORTED_AT_LOW_THRESHOLD),
          *(_claim_14(steps) for steps in BUDGETS))


def header(rows: list[Row], profile: dict, both_directions: bool) -> list[str]:
    """The title, the registration's commit, the grid and the rules, above the columns."""
    primary = [r for r in rows if r.family == 'primary']
    secondary = [r for r in rows if r.family == 'secondary']
    primary_tests = max((r.family_size for r in primary), default=0)
    secondary_tests = max((r.family_size for r in secondary), default=0)
    return [
        '# The budget study: what 1,000 SGD steps cannot decide',
        '',
        f'Registration: {reg.PATH}, last changed in commit {reg.fixing_commit()} (read when this table was '
        f'written). Grid: {dataset_label(profile.get("dataset"))}, {profile.get("steps")} SGD steps per cell, '
        f'{profile.get("seeds")} seeds, {profile.get("cells_trained")} trained and {profile.get("cells_analysed")} '
        f'analysed cells (study/grid.yaml). Verdicts: {tally(rows)}.',
        '',
        f'Each row is one registered test (bnonly.study.claims, whose docstring gives the rules), computed from '
        f'the per-seed cells (study/reports/grid_cells.csv): every contrast is formed per seed and tested by a '
        f'one-sample t on the per-seed values; each estimate is the mean with its two-sided 95% t interval, '
        f'unadjusted for multiplicity, and n seeds. Primary family (Holm at α = {ALPHA:g}, {primary_tests} tests: '
        f'both directions of B1 and B2); secondary family (Holm at α, {secondary_tests} tests) decided only if '
        f'every primary row is decided, holding or reversed (serial gatekeeping); B7 is an intersection-union '
        f'test over its 6 cells (p = the largest). Rows marked exploratory are reported, not tested: their p is '
        f'unadjusted and decides nothing. A reversal reads "reversed at" its budget. Seed counts for an open row '
        f'are for a new registration (n = {len(SEEDS)} here is never extended).',
        '',
    ]


TABLE = ClaimsTable(
    name='study', claims=CLAIMS, results=Results, header=header,
    columns=(('#', 'number'), ('Hypothesis', 'claim'), ('Registered', 'paper'),
             ('Ours (estimate [95% CI, unadjusted])', 'ours'), ('Test', 'test'), ('n', 'n'), ('Family', 'family'),
             ('p (Holm)', 'p'), ('Verdict', 'verdict')),
    aggregate='dvc repro study/dvc.yaml:grid_aggregate', csv_names=(('paper', 'registered'),),
    both_directions=True, gate=DECIDED)
