"""The grid scaled out with DVC's own machinery (README, "Scaling out").

Several workers on one machine: one queued experiment per share of the cells (`dvc exp run --queue STAGES`),
run by parallel queue workers (`dvc exp run --run-all -j 2`, the blocking form of `dvc queue start -j 2`). The
workers share the workspace's cache and run-cache, so a plain `dvc repro` afterwards restores every cell
instead of training it.

Several machines: two clones each run their share of the cells and `dvc push --run-cache`; `dvc fetch
--run-cache` then `dvc repro --pull` restores the other machine's finished stages (the run-cache entries name
the outputs; --pull downloads them) instead of running them, so either clone aggregates every cell without
training any again."""
import json
import re
import shutil

import pytest
import yaml

from dvc_repo import DvcRepo
from fake_datasets import write_fashion_mnist
from test_paper_pipeline import tiny_params

pytestmark = pytest.mark.slow


CELLS = {seed: {f'grid_train@cifar_resnet14-bn_only-{seed}', f'grid_train@cifar_resnet14-all_but_bn-fixed-{seed}',
                f'grid_analyze@cifar_resnet14-bn_only-{seed}'} for seed in (0, 1)}


def test_two_queue_workers_run_shares_of_the_grid(tmp_path):
    write_fashion_mnist(tmp_path / 'raw', train=96, test=32)
    params = tiny_params(tmp_path / 'raw')
    params['grid']['seeds'] = [0, 1]
    repo = DvcRepo.create(tmp_path / 'repo', params)
    stages = repo.run('dvc', 'stage', 'list', '--name-only').stdout.split()
    for seed in (0, 1):
        # `dvc exp run` has no --glob: a share is named by its stage names, as the README's grep picks them.
        share = [name for name in stages if re.fullmatch(rf'grid_.*@.*-{seed}', name)]
        repo.run('dvc', 'exp', 'run', '--queue', '--name', f'seed-{seed}', *share)
    repo.run('dvc', 'exp', 'run', '--run-all', '--jobs', '2')

    status = repo.run('dvc', 'queue', 'status').stdout
    assert status.count('Success') == 2, status
    # Each worker ran only its share: its experiment's lock file records its own cells and no other cell.
    for seed in (0, 1):
        lock = yaml.safe_load(repo.run('git', 'show', f'{_exp_ref(repo, f"seed-{seed}")}:dvc.lock').stdout)
        assert {name for name in lock['stages'] if '@' in name} == CELLS[seed]

    ran = repo.repro('claims')
    assert not {name for name in ran if '@' in name}     # every cell restored from the workers' run-cache
    summary = json.loads((repo.root / 'results' / 'grid_summary.json').read_text())
    assert summary['cifar_resnet14']['bn_only']['test_accuracy']['n'] == 2


def _exp_ref(repo: DvcRepo, name: str) -> str:
    """The git ref (refs/exps/...) of the experiment called ``name``."""
    refs = repo.run('git', 'for-each-ref', '--format=%(refname)', 'refs/exps/').stdout.split()
    (ref,) = [r for r in refs if r.endswith(f'/{name}')]
    return ref


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
    assert {s for s in ran_first if '@' in s} == CELLS[0]
    first.run('dvc', 'push', '--run-cache')

    second.run('dvc', 'fetch', '--run-cache')
    ran_second = second.repro('--pull', '--glob', 'grid_*@*-1')
    assert 'grid_prepare' not in ran_second          # restored from the first machine's run-cache
    assert {s for s in ran_second if '@' in s} == CELLS[1]
    second.run('dvc', 'push', '--run-cache')

    first.run('dvc', 'fetch', '--run-cache')
    ran_last = first.repro('--pull', 'claims')
    assert not {s for s in ran_last if '@' in s}     # every cell came from the run-cache
    summary = json.loads((first.root / 'results' / 'grid_summary.json').read_text())
    assert summary['cifar_resnet14']['bn_only']['test_accuracy']['n'] == 2
