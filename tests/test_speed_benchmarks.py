"""The speed benchmarks' own pieces: open_lth's loop as re-implemented for them, and a smoke run of
benchmarks/speed_cpu.py on tiny data (so the script cannot rot unnoticed; its timings mean nothing here)."""
import sys
from pathlib import Path

import pytest
import torch

from bnonly.training.schedule import lr_factor

from tiny_data import write_prepared

BENCHMARKS = Path(__file__).resolve().parents[1] / 'benchmarks'
sys.path.insert(0, str(BENCHMARKS))
import open_lth_reference  # noqa: E402
import speed_cpu  # noqa: E402


@pytest.mark.parametrize('milestones, warmup', [([80, 120], 0), ([30, 60, 80], 5), ([], 0)])
def test_open_lth_lambda_is_our_schedule(milestones, warmup):
    factor = open_lth_reference.lr_lambda(iterations_per_epoch=391, milestones=milestones, gamma=0.1,
                                          warmup_epochs=warmup)
    for iteration in [0, 1, 390, 391, 1955, 1956, 31279, 31280, 46919, 46920, 62559]:
        assert factor(iteration) == pytest.approx(lr_factor(iteration, iterations_per_epoch=391,
                                                            milestones=milestones, gamma=0.1,
                                                            warmup_epochs=warmup), rel=1e-12)


def test_open_lth_dataset_transforms_one_pil_image_at_a_time():
    images = torch.randint(0, 256, (4, 1, 12, 12), dtype=torch.uint8)
    dataset = open_lth_reference.PerImageDataset(images, torch.arange(4), mean=[0.5], std=[0.25], augment=False)
    x, y = dataset[2]
    assert x.shape == (1, 12, 12) and int(y) == 2
    assert torch.allclose(x, (images[2].float() / 255 - 0.5) / 0.25)


def test_speed_cpu_smoke(tmp_path, monkeypatch):
    prepared = write_prepared(tmp_path / 'prepared', train=128, test=40)
    out = tmp_path / 'speed.md'
    monkeypatch.setattr(sys, 'argv', ['speed_cpu.py', '--quick', '--prepared', str(prepared), '--archs',
                                      'cifar_resnet14', '--trainables', 'bn_only', '--variants', 'fp32,fp32-nchw',
                                      '--train-examples', '64', '--matmul', '128', '--threads', '1',
                                      '--out', str(out)])
    threads = torch.get_num_threads()
    try:
        speed_cpu.main()
    finally:
        torch.set_num_threads(threads)
    text = out.read_text()
    for loop in ('(a) open_lth', '(b) engine fp32', '(b) engine fp32-nchw', '(c) bare fp32 channels_last',
                 '(c) bare fp32 contiguous', speed_cpu.C1, speed_cpu.C0, 'c/c1', 'Machine idle', 'b/a end to end', 'AMD' if 'AMD' in text else 'CPU'):
        assert loop in text
