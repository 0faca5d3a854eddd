"""The grid pipeline run by `dvc` itself on a 2-cell grid: one reproduction, then what reruns after each change.

A tiny stand-in for Fashion-MNIST (real IDX files, random pixels, checksums off), one architecture, one
epoch on 64 images: the point is DVC's bookkeeping, not accuracy.
"""
import json

import pytest
import yaml

from dvc_repo import DvcRepo, merged_params
from fake_datasets import write_fashion_mnist

pytestmark = pytest.mark.slow


def tiny_params(raw) -> dict:
    params = merged_params()
    grid = params['grid']
    grid.update(runs=['cifar_resnet14-bn_only', 'cifar_resnet14-all_but_bn-fixed'],
                analyze_runs=['cifar_resnet14-bn_only'], seeds=[0])
    grid['data'].update(root=str(raw), verify_checksums=False)
    grid['train'].update(epochs=1, batch_size=32, milestones=[], eval_batch_size=64, examples=64)
    grid['analyze'].update(thresholds=[0.01, 0.1])
    return params


def changed_stages(repo: DvcRepo) -> set[str]:
    return set(json.loads(repo.run('dvc', 'status', '--json').stdout))


@pytest.fixture(scope='module')
def reproduced(tmp_path_factory):
    base = tmp_path_factory.mktemp('grid')
    write_fashion_mnist(base / 'raw', train=96, test=32)
    repo = DvcRepo.create(base / 'repo', tiny_params(base / 'raw'))
    ran = repo.repro('claims')
    assert ran == {'grid_recipe', 'grid_prepare', 'grid_train@cifar_resnet14-bn_only-0',
                   'grid_train@cifar_resnet14-all_but_bn-fixed-0', 'grid_analyze@cifar_resnet14-bn_only-0',
                   'grid_aggregate', 'claims'}
    return repo


def test_outputs_at_fixed_paths(reproduced):
    root = reproduced.root
    for path in ('results/grid/cifar_resnet14-bn_only-0/train/model.pt',
                 'results/grid/cifar_resnet14-bn_only-0/analyze/tables/bn_values.csv',
                 'results/grid/cifar_resnet14-all_but_bn-fixed-0/train/metrics.json',
                 'reports/grid_summary.csv', 'reports/grid_cells.csv', 'results/grid_bn_values.csv',
                 'reports/claims.md'):
        assert (root / path).is_file(), path
    summary = json.loads((root / 'results/grid_summary.json').read_text())
    assert summary['profile']['cells_trained'] == 2 and summary['profile']['train_images'] == 64
    assert 0 <= summary['cifar_resnet14']['bn_only']['test_accuracy']['mean'] <= 1
    config = yaml.safe_load((root / 'results/grid/cifar_resnet14-all_but_bn-fixed-0/train/config.yaml').read_text())
    assert config['run']['norm_init'] == 'fixed' and config['run']['examples'] == 64
    shown = json.loads(reproduced.run('dvc', 'metrics', 'show', '--json').stdout)
    assert 'results/grid_summary.json' in json.dumps(shown)


def test_adding_a_seed_runs_only_the_new_cells(reproduced, tmp_path):
    repo = reproduced.copy(tmp_path / 'repo')
    repo.set_param('grid.seeds', [0, 1])
    assert repo.repro('claims') == {'grid_train@cifar_resnet14-bn_only-1',
                                    'grid_train@cifar_resnet14-all_but_bn-fixed-1',
                                    'grid_analyze@cifar_resnet14-bn_only-1', 'grid_aggregate', 'claims'}
    summary = json.loads((repo.root / 'results/grid_summary.json').read_text())
    assert summary['cifar_resnet14']['bn_only']['test_accuracy']['n'] == 2
    assert repo.repro('claims') == set()


def test_single_experiment_params_never_touch_the_grid(reproduced):
    repo = reproduced
    original = repo.params
    try:
        for dotted, value in (('trainable', 'output_only'), ('arch', 'cifar_resnet20'), ('seed', 3),
                              ('dataset', 'cifar10'), ('train.lr', 0.05), ('train.epochs', 2),
                              ('model.norm_init', 'fixed'), ('analyze.thresholds', [0.3]),
                              ('data.root', '/elsewhere')):
            repo.set_param(dotted, value)
        changed = changed_stages(repo)  # (the figure stages were never drawn here: always listed)
        assert {'train', 'prepare'} <= changed
        assert not [name for name in changed if name.startswith(('grid_', 'claims'))], changed
    finally:
        repo.write_params(original)


def test_grid_params_rerun_only_what_reads_them(reproduced, tmp_path):
    repo = reproduced.copy(tmp_path / 'repo')
    grid_stages = lambda: {n for n in changed_stages(repo) if n.startswith(('grid_', 'claims'))}  # noqa: E731
    repo.set_param('figures.dpi', 80)
    assert grid_stages() == set()

    repo.set_param('grid.analyze.dead_relu_probability', 0.9)
    assert repo.repro('claims') == {'grid_recipe', 'grid_analyze@cifar_resnet14-bn_only-0', 'grid_aggregate', 'claims'}

    repo.set_param('grid.train.lr', 0.05)
    assert repo.repro('grid_recipe') == {'grid_recipe'}
    assert grid_stages() == {'grid_train@cifar_resnet14-bn_only-0', 'grid_train@cifar_resnet14-all_but_bn-fixed-0'}
