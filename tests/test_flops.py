"""FLOP counts against numbers known independently: a linear layer by hand, ResNet-20's published 40.8 M
multiply-adds per CIFAR-10 image, and the 3F / 2F / 1F shape of a training step for the trainable sets."""
import pytest
import torch
from torch import nn

from bnonly.flops import arch_flops, grid_flops, main, step_flops


def test_linear_layer_by_hand():
    layer = nn.Linear(4, 3)
    x, y = torch.randn(2, 4), torch.tensor([0, 2])
    weight = layer.weight.detach().clone()
    assert step_flops(layer, x, y, train=False) == 2 * 4 * 3
    # Backward: the weight gradient (2*4*3); the input does not require a gradient, so none is computed for it.
    assert step_flops(layer, x, y, train=True) == 2 * (2 * 4 * 3)
    assert torch.equal(layer.weight, weight) and layer.weight.grad is None


def test_resnet20_forward_matches_the_published_count():
    counted = arch_flops('cifar_resnet20', 'all', in_chans=3, size=32)
    assert counted['forward'] == pytest.approx(2 * 40.8e6, rel=0.005)


@pytest.mark.parametrize('trainable, multiple', [('all', 3), ('bn_only', 2), ('output_only', 1),
                                                 ('random_k', 3)])
def test_training_step_is_a_multiple_of_the_forward(trainable, multiple):
    counted = arch_flops('cifar_resnet14', trainable, in_chans=3, size=32)
    # The stem's input needs no gradient: 3F minus the stem's forward for all (and 2F minus it for bn_only).
    assert counted['train'] / counted['forward'] == pytest.approx(multiple, abs=0.03)


def test_grid_total_is_cells_times_images_times_epochs():
    grid = dict(dataset='cifar10', runs=['cifar_resnet14-bn_only'], seeds=[0, 1], train=dict(examples=1000, epochs=3))
    cells = grid_flops(grid)
    per_image = arch_flops('cifar_resnet14', 'bn_only', in_chans=3, size=32)
    assert len(cells) == 2
    assert cells.train.tolist() == [pytest.approx(per_image['train'] * 1000 * 3)] * 2
    assert cells.test.tolist() == [pytest.approx(per_image['forward'] * 10_000 * 3)] * 2


def test_command_reports_the_default_grid(capsys, monkeypatch):
    from dvc_repo import PROJECT
    monkeypatch.chdir(PROJECT)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert 'training steps: ' in out and '| cifar_resnet14 | bn_only | 4 |' in out  # 4 seeds in grid.yaml
