"""Several machines share one grid through a DVC remote and its run-cache (README, "Scaling out"): two clones
each run their share of the cells and `dvc push --run-cache`; `dvc fetch --run-cache` then `dvc repro --pull`
restores the other machine's finished stages (the run-cache entries name the outputs; --pull downloads them)
instead of running them, so either clone aggregates every cell without training any again."""
import json
import shutil

import pytest

from dvc_repo import DvcRepo
from fake_datasets import write_fashion_mnist
from test_paper_pipeline import tiny_params

pytestmark = pytest.mark.slow


def test_two_clones_share_cells_through_the_run_cache(tmp_path):
    write_fashion_mnist(tmp_path / 'raw', train=96, test=32)
    params = tiny_params(tmp_path / 'raw')
    params['grid']['seeds'] = [0, 1]
    first = DvcRepo.create(tmp_path / 'first', params)
    first.run('dvc', 'remote', 'add', '-d', 'shared', str(tmp_path / 'remote'))
    first.commit('shared remote')
    second = DvcRepo(tmp_path / 'second')
    first.run('git', 'clone', '-q', str(first.root), str(second.root))
    shutil.rmtree(second.root / '.dvc' / 'tmp', ignore_errors=True)

    ran_first = first.repro('--glob', 'grid_*@*-0')
    assert {s for s in ran_first if '@' in s} == {'grid_train@cifar_resnet14-bn_only-0',
                                                  'grid_train_fixed@cifar_resnet14-all_but_bn-0',
                                                  'grid_analyze@cifar_resnet14-bn_only-0'}
    first.run('dvc', 'push', '--run-cache')

    second.run('dvc', 'fetch', '--run-cache')
    ran_second = second.repro('--pull', '--glob', 'grid_*@*-1')
    assert 'grid_prepare' not in ran_second          # restored from the first machine's run-cache
    assert {s for s in ran_second if '@' in s} == {'grid_train@cifar_resnet14-bn_only-1',
                                                   'grid_train_fixed@cifar_resnet14-all_but_bn-1',
                                                   'grid_analyze@cifar_resnet14-bn_only-1'}
    second.run('dvc', 'push', '--run-cache')

    first.run('dvc', 'fetch', '--run-cache')
    ran_last = first.repro('--pull', 'claims')
    assert not {s for s in ran_last if '@' in s}     # every cell came from the run-cache
    summary = json.loads((first.root / 'results' / 'grid_summary.json').read_text())
    assert summary['grid']['cifar_resnet14']['bn_only']['test_accuracy']['n'] == 2
