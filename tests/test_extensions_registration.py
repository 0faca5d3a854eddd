"""The extensions' claims table and grid against extensions/registration.yaml: the rows it tests, their families in
the registered order, their runs, tests and directions, the gate, α, and the grid's runs and seeds, all as
registered (the file itself is read here with yaml, not through the module under test)."""
from pathlib import Path

import pytest
import yaml

from bnonly.config import load_params
from bnonly.extensions import claims
from bnonly.reporting.claim import EQUIVALENT, EXPLORATORY, IN_FAMILY, PAIRED, PRIMARY
from bnonly.reporting.statistics import ALPHA
from bnonly.reporting.verdicts import DECIDED
from bnonly.vocabulary import parse_run

PROJECT = Path(__file__).resolve().parents[1]
REGISTRATION = yaml.safe_load((PROJECT / 'extensions' / 'registration.yaml').read_text())
# The registration's words for a family and a test, in the table's terms.
FAMILY = {'primary': PRIMARY, 'secondary': IN_FAMILY}
TEST = {'above': PAIRED, 'equivalent': EQUIVALENT}
CONTRADICTING_TESTS = {'above': 1, 'equivalent': 2}     # outside the TOST margin on either side
# Seeds other sets already used: exploratory 0-2, the default grid 3-6, and every other registered set's.
USED = set(range(7)) | {seed for other in ('study', 'scope')
                        for seed in yaml.safe_load((PROJECT / other / 'registration.yaml').read_text())['seeds']}


def by_number():
    return {claim.number: claim for claim in claims.CLAIMS}


def test_the_families_are_the_registered_ones_in_the_registered_order():
    assert [family['family'] for family in REGISTRATION['families']] == ['primary', 'secondary']
    assert [claim.number for claim in claims.CLAIMS if claim.family == PRIMARY] == \
        REGISTRATION['families'][0]['rows']
    for family in REGISTRATION['families']:
        assert {n for n, claim in by_number().items() if claim.family == FAMILY[family['family']]} == \
            set(family['rows']), family['family']
    assert {n for n, claim in by_number().items() if claim.family == EXPLORATORY} == set(REGISTRATION['not_tested'])
    assert claims.TABLE.both_directions and claims.TABLE.gate == DECIDED


def test_each_registered_test_compares_its_runs_by_its_test_in_both_directions():
    table, tests = by_number(), REGISTRATION['tests']
    assert sorted(test['id'] for test in tests) == sorted(n for n, c in table.items() if c.family != EXPLORATORY)
    for test in tests:
        claim = table[test['id']]
        assert (claim.select.a, claim.select.b, claim.test) == (test['a'], test['b'], TEST[test['test']]), test['id']
        assert claim.contradicting, f'{test["id"]}: its contradicting test must be in its family'


def test_each_familys_registered_size_counts_both_directions():
    tests = {test['id']: test['test'] for test in REGISTRATION['tests']}
    for family in REGISTRATION['families']:
        assert family['tests'] == sum(1 + CONTRADICTING_TESTS[tests[n]] for n in family['rows']), family['family']


def test_the_table_reads_alpha_and_seeds_from_the_registration():
    assert claims.ALPHA == REGISTRATION['alpha'] == ALPHA       # the evaluator decides at statistics.ALPHA
    assert claims.SEEDS == tuple(REGISTRATION['seeds'])
    assert len(claims.SEEDS) == REGISTRATION['n'] == 4


def test_the_registered_seeds_are_fresh():
    assert not set(REGISTRATION['seeds']) & USED


def test_the_grid_trains_the_registered_runs_and_seeds():
    grid = load_params(PROJECT / 'extensions' / 'grid.yaml')['grid']
    assert grid['runs'] == REGISTRATION['runs'] and grid['seeds'] == REGISTRATION['seeds']
    assert {run for claim in claims.CLAIMS for run in (claim.select.a, claim.select.b)} <= set(grid['runs'])


@pytest.mark.parametrize('run, expected', [('cifar_resnet14-random_k-k1', ('cifar_resnet14', 'random_k', {'k': 1})),
                                           ('cifar_resnet14-output_only', ('cifar_resnet14', 'output_only', {}))])
def test_the_new_runs_parse(run, expected):
    assert parse_run(run) == expected
