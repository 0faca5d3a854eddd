"""The scope set's claims table (``TABLE``, the claims stage's ``--table scope``): the paper table's rows 6, 7, 8,
14 and 18 on the networks the default grid left out, as scope/registration.yaml registers them.

Each row is the paper table's own claim (bnonly.paper.paper_claims): its wording, cells, test and planning effect
unchanged, restricted to the registered networks (another network's cells never enter its test) and put in the
registration's one family. What is fixed by the registration is read from it: the rows, their networks, the
seeds and α. The rules, as registered:

- Paired by seed, one-sided in the claimed direction (row 18 on the empirical logit of the dead-ReLU fraction),
  an intersection-union test over a row's networks (p = the largest per-network p).
- One Holm family at α holding every row and its contradicting test (both directions), so a row can hold, fail
  (at a budget short of the paper's it reads "reversed at 1,000 steps") or stay open; no gatekeeping.
- n is fixed by the registration and never extended: an open row prints the seeds a new set would need.
"""
import dataclasses

from bnonly import registration as registered
from bnonly.paper.claims import budget
from bnonly.paper.claims_table import TABLE as PAPER_TABLE
from bnonly.paper.names import dataset_label
from bnonly.paper.paper_claims import CLAIMS as PAPER_CLAIMS
from bnonly.paper.results import PerNetwork, Results, label
from bnonly.reporting.claim import PRIMARY
from bnonly.reporting.claims_table import ClaimsTable, tally
from bnonly.reporting.verdicts import Row

PATH = 'scope/registration.yaml'    # relative to the project root, as git names it
REGISTRATION = registered.load(PATH)
ALPHA = REGISTRATION['alpha']
SEEDS = tuple(REGISTRATION['seeds'])


def _registered(test: dict):
    """The paper's row ``test['row']`` on the registered networks, in the one family."""
    claim = next(claim for claim in PAPER_CLAIMS if claim.number == test['row'])
    if not isinstance(claim.select, PerNetwork):
        raise TypeError(f'{PATH}: row {claim.number} does not compare two cells per network')
    return dataclasses.replace(claim, family=PRIMARY,
                               select=dataclasses.replace(claim.select, archs=tuple(test['networks'])))


# A paper row that continues the row above it ('... and more than ...') says in full what it claims here.
STANDALONE = {'14': 'BN-only training makes more small γ (|γ| < 0.1) than training all parameters.'}
CLAIMS = tuple(dataclasses.replace(claim, claim=STANDALONE.get(claim.number, claim.claim))
               for claim in map(_registered, REGISTRATION['tests']))


def header(rows: list[Row], profile: dict, both_directions: bool) -> list[str]:
    """The title, the registration's commit, the grid and the rules, above the columns."""
    networks = ', '.join(f'row {test["row"]}: {" and ".join(label(a) for a in test["networks"])}'
                         for test in REGISTRATION['tests'])
    return [
        '# The scope set: the paper\'s rows 6, 7, 8, 14 and 18 on the networks the default grid left out',
        '',
        f'Registration: {PATH}, last changed in commit {registered.fixing_commit(PATH)} (read when this table was '
        f'written). Grid: {dataset_label(profile.get("dataset"))}, {budget(profile).text} per cell, '
        f'{profile.get("seeds")} seeds, {profile.get("cells_trained")} trained and {profile.get("cells_analysed")} '
        f'analysed cells (scope/grid.yaml). Networks: {networks}. Verdicts: {tally(rows)}.',
        '',
        f'Each row is the paper table\'s row of the same number (reports/claims.md states its rules), computed '
        f'from the per-seed cells (scope/reports/grid_cells.csv): paired by seed, one-sided in the claimed '
        f'direction, an intersection-union test over the row\'s networks; each estimate is the mean per-seed '
        f'difference with its two-sided 95% t interval, unadjusted for multiplicity. One Holm family at '
        f'α = {ALPHA:g} holds every row and its contradicting test, so a row can hold, fail or stay open. '
        f'The verdicts here cover only the networks named; the default grid\'s table covers the others, on '
        f'other seeds. Seed counts for an open row are for a new registration (n = {len(SEEDS)} here is never '
        f'extended).',
        '',
    ]


# The paper table's columns but the family (there is one) and the q-value (one family, nothing to screen).
TABLE = ClaimsTable(
    name='scope', claims=CLAIMS, results=Results, header=header,
    columns=tuple(column for column in PAPER_TABLE.columns if column[1] not in ('family', 'q')),
    aggregate='dvc repro scope/dvc.yaml:grid_aggregate', both_directions=True)
