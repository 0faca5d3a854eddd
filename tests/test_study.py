"""The budget study's grid and claims table against its registration (study/registration.yaml): the grid is
the default grid's recipe with the registered runs and seeds, and each declared test is the registered one
(its id, family, contrast, direction)."""
import pytest
import yaml

from bnonly.config import load_params
from bnonly.paper.grid import analysed_cells, train_cells
from dvc_repo import PROJECT

# What the study grid may set differently from grid.yaml's grid section: which cells, and the |γ| thresholds
# its outcomes add to the analysis.
OWN = ('runs', 'seeds', 'analyze_runs')


@pytest.fixture(scope='module')
def registration():
    return yaml.safe_load((PROJECT / 'study' / 'registration.yaml').read_text())


@pytest.fixture(scope='module')
def study():
    return load_params(PROJECT / 'study' / 'grid.yaml')['grid']


def outcome_thresholds(registration) -> set[float]:
    return {float(name.removeprefix('excess_small_gamma_')) for name in registration['outcomes']
            if name.startswith('excess_small_gamma_')}


def test_the_study_trains_with_the_default_grids_recipe(study, registration):
    default = load_params(PROJECT / 'grid.yaml')['grid']
    assert {k: v for k, v in study.items() if k not in (*OWN, 'analyze')} == \
        {k: v for k, v in default.items() if k not in (*OWN, 'fixed_init', 'analyze')}
    strip = lambda analyze: {k: v for k, v in analyze.items() if k != 'thresholds'}  # noqa: E731
    assert strip(study['analyze']) == strip(default['analyze'])
    # The analysis adds the registration's outcome thresholds to the default's, nothing else.
    assert set(study['analyze']['thresholds']) == set(default['analyze']['thresholds']) | \
        outcome_thresholds(registration)


def test_the_grid_holds_exactly_the_registered_cells(study, registration):
    from bnonly.study import registration as reg
    networks, budgets = registration['networks']['default'], registration['budgets']['default']
    assert study['seeds'] == registration['seeds'] and len(study['seeds']) == registration['n']
    runs = [reg.run(network, steps, study['train']) for steps in budgets for network in networks]
    assert sorted(study['runs']) == sorted(runs) and sorted(study['analyze_runs']) == sorted(runs)
    epochs = {cell.run: cell.epochs or study['train']['epochs'] for cell in train_cells(study)}
    steps = {run: n * study['train']['examples'] // study['train']['batch_size'] for run, n in epochs.items()}
    assert sorted(set(steps.values())) == sorted(budgets)        # 1,000 and 3,000 SGD steps
    assert len(analysed_cells(study)) == len(train_cells(study)) == len(runs) * registration['n']


def test_the_opt_in_tiers_are_not_in_the_grid(study, registration):
    from bnonly.study import registration as reg
    opt_in = [reg.run(network, steps, study['train'])
              for steps in registration['budgets']['opt_in'] for network in registration['networks']['default']]
    opt_in += [reg.run(network, steps, study['train'])
               for network in registration['networks']['opt_in'] for steps in registration['budgets']['default']]
    assert opt_in == ['cifar_resnet14-bn_only-e40', 'cifar_resnet32-bn_only-e40', 'cifar_wide_resnet14_2-bn_only-e40',
                      'cifar_resnet14-all', 'cifar_resnet14-all-e12']
    assert not set(opt_in) & set(study['runs'])


def test_the_declared_tests_are_the_registered_ones(registration):
    from bnonly.claims_tables import TABLES
    from bnonly.reporting.claim import CONTRAST, EXPLORATORY, IN_FAMILY, PRIMARY
    from bnonly.study.claims import ALPHA, DESIGN, SEEDS, TABLE
    assert TABLES['study'] is TABLE and ALPHA == registration['alpha'] and list(SEEDS) == registration['seeds']
    tested = [claim for claim in TABLE.claims if claim.family != EXPLORATORY]
    assert [claim.number for claim in tested] == [test['id'] for test in registration['tests']]
    for claim, test in zip(tested, registration['tests']):
        assert claim.family == {'primary': PRIMARY, 'secondary': IN_FAMILY}[test['family']], test['id']
        assert claim.select.contrast == test['contrast'], test['id']
        assert claim.claim == test['hypothesis'] and claim.test == CONTRAST
        # both directions in the family exactly where the registration says so; B7 one-sided
        assert claim.contradicting == ('both' in test['test']), test['id']
        assert DESIGN[test['id']].both_directions == claim.contradicting
        assert ('intersection-union' in test['test']) == (len(claim.select.comparisons(None, '')) > 1)
    assert TABLE.primary == tuple(t['id'] for t in registration['tests'] if t['family'] == 'primary')
    assert TABLE.both_directions and TABLE.gate == 'is decided'
    assert 'every primary test is decided' in (PROJECT / 'study' / 'registration.yaml').read_text()


def test_the_reported_rows_are_the_same_contrasts_at_the_other_threshold(registration):
    from bnonly.reporting.claim import EXPLORATORY
    from bnonly.study.claims import TABLE
    tested = {claim.number: claim for claim in TABLE.claims if claim.family != EXPLORATORY}
    reported = [claim for claim in TABLE.claims if claim.number.endswith('@0.01')]
    assert reported and all(claim.family == EXPLORATORY for claim in reported)
    for claim in reported:
        source = tested[claim.number.removesuffix('@0.01')]
        assert claim.select.contrast == source.select.contrast.replace('excess_small_gamma_0.1',
                                                                      'excess_small_gamma_0.01')
    # every tested contrast on small γ has its |γ| < 0.01 twin
    assert {c.number.removesuffix('@0.01') for c in reported} == \
        {n for n, c in tested.items() if 'excess_small_gamma' in c.select.contrast}
