"""A grid cell that diverges: `dvc repro --keep-going` finishes every other cell, and the aggregate names the
missing one instead of failing on it or skipping it silently; the claims table refuses a partial grid.

The divergence is real: the grid's recipe trains at lr 10,000, at which the all-parameter ResNet-14 reaches a
NaN loss within its 8 steps while the output layer alone stays finite (seeded, so on every CPU).
"""
import json

import pytest

from faults.harness import BATCH

pytestmark = pytest.mark.slow

DIVERGED = 'grid_train@cifar_resnet14-all-0'


@pytest.fixture
def grid_repo(fresh, raw_data, tmp_path):
    repo = fresh.copy(tmp_path / 'repo')
    params = repo.params
    grid = params['grid']
    grid['data'].update(root=str(raw_data), verify_checksums=False)
    grid.update(runs=['cifar_resnet14-all', 'cifar_resnet14-output_only', 'cifar_resnet14-output_only-fixed'],
                analyze_runs=['cifar_resnet14-output_only'], seeds=[0])
    grid['train'].update(epochs=2, batch_size=BATCH, milestones=[1], lr=10000.0, eval_batch_size=64, examples=None)
    grid['analyze'].update(thresholds=[0.1])
    repo.write_params(params)
    repo.commit('a grid whose all-parameter cell diverges')
    return repo


def test_keep_going_finishes_the_other_cells_and_the_aggregate_names_the_missing_one(grid_repo):
    repo = grid_repo
    result = repo.run('dvc', 'repro', '--keep-going', 'claims', check=False)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'train: error: training diverged at epoch' in log and 'lower train.lr' in log, log
    assert "'grid_aggregate'" in log and 'will be skipped due to this failure' in log
    assert f"failed to reproduce '{DIVERGED}'" in log
    for done in ('results/grid/cifar_resnet14-output_only-0/analyze/metrics.json',
                 'results/grid/cifar_resnet14-output_only-fixed-0/train/metrics.json'):
        assert (repo.root / done).is_file(), done                   # every other cell finished
    assert not (repo.root / 'results' / 'grid' / 'cifar_resnet14-all-0' / 'train' / 'model.pt').exists()
    assert not (repo.root / 'reports' / 'claims.md').exists()      # DVC skipped what depends on the failed cell

    aggregated = repo.run('dvc', 'repro', '--single-item', 'grid_aggregate')
    warning = [line for line in aggregated.stderr.splitlines() if line.startswith('aggregate: warning:')]
    assert warning == [f'aggregate: warning: partial grid: 1 stage without results: {DIVERGED}; these tables '
                       f'cover the other cells (results/grid_summary.json: profile.cells_missing); run `dvc repro` '
                       f'again once they succeed, or remove them from grid.yaml'], aggregated.stderr
    profile = json.loads((repo.root / 'results' / 'grid_summary.json').read_text())['profile']
    assert (profile['complete'], profile['cells_missing'], profile['cells_trained']) == (False, [DIVERGED], 2)

    refused = repo.run('dvc', 'repro', '--single-item', 'claims', check=False)
    assert refused.returncode != 0
    assert f'claims: error: the grid is partial, results/grid_summary.json lists 1 stages without results ' \
           f'(profile.cells_missing: {DIVERGED}); finish them or remove them from grid.yaml' in refused.stderr
    assert not (repo.root / 'reports' / 'claims.md').exists()

    # Recovery without the diverging run: nothing retrains, the tables say they are complete, claims run.
    params = repo.params
    params['grid']['runs'] = ['cifar_resnet14-output_only', 'cifar_resnet14-output_only-fixed']
    repo.write_params(params)
    ran = repo.repro('claims')
    assert not {stage for stage in ran if '@' in stage}, ran
    profile = json.loads((repo.root / 'results' / 'grid_summary.json').read_text())['profile']
    assert (profile['complete'], profile['cells_missing']) == (True, [])
    assert (repo.root / 'reports' / 'claims.md').is_file()
