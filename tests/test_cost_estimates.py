"""benchmarks/cost_estimates.py: the committed estimates are what the script writes from the committed default run,
so a README that points to them cannot quote a stale number; the study's tiers are the registered ones."""
import sys

from dvc_repo import PROJECT

sys.path.insert(0, str(PROJECT / 'benchmarks'))
import cost_estimates  # noqa: E402


def test_the_committed_estimates_are_what_the_committed_run_gives(tmp_path):
    out = tmp_path / 'cost_estimates.md'
    assert cost_estimates.main(['--out', str(out)]) == 0
    assert out.read_text() == (PROJECT / 'benchmarks' / 'results' / 'cost_estimates.md').read_text(), (
        'benchmarks/results/cost_estimates.md is stale: run `python benchmarks/cost_estimates.py` and commit it')
    assert str(PROJECT) not in out.read_text(), 'the report names this checkout, so it differs in every other clone'


def test_the_study_tiers_are_the_registered_opt_in_runs_and_the_study_is_not_among_them():
    names = {name: grid for name, _, grid in cost_estimates.grids()}
    study = names['budget study']
    tiers = {name: grid['runs'] for name, grid in names.items() if name.startswith('budget study, opt-in')}
    assert tiers == {'budget study, opt-in 10,000 steps': ['cifar_resnet14-bn_only-e40', 'cifar_resnet32-bn_only-e40',
                                                          'cifar_wide_resnet14_2-bn_only-e40'],
                     'budget study, opt-in cifar_resnet14-all': ['cifar_resnet14-all', 'cifar_resnet14-all-e12']}
    for grid in names.values():
        if grid is not study and grid['runs'] in tiers.values():
            assert grid['analyze_runs'] == grid['runs'] and grid['seeds'] == study['seeds']
            assert not set(grid['runs']) & set(study['runs'])


def test_a_grid_that_cannot_be_estimated_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cost_estimates, 'GRIDS', (('ImageNet', 'params/paper_imagenet.yaml'),))
    assert cost_estimates.main(['--out', str(tmp_path / 'out.md')]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith('cost_estimates: error:') and '\n' not in error
    assert not (tmp_path / 'out.md').exists()
