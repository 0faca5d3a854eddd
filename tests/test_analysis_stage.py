"""The analyze stage end to end on a tiny fake prepared data set and a ResNet-14 checkpoint (CPU, seconds)."""
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from bnonly.checkpoint import save_model
from bnonly.models import create_model

REPO = Path(__file__).resolve().parents[1]
PARAMS = """
train:
  eval_batch_size: 16
analyze:
  thresholds: [0.01, 0.05, 0.5]
  dead_relu_probability: 0.99
  dead_relu_granularity: channel
  histogram_bins: 10
"""


def load_stage():
    try:  # the stage needs the data layer; without it there is nothing to run end to end
        from bnonly.data import build_loaders, load_meta  # noqa: F401
    except ImportError as error:
        pytest.skip(f'bnonly.data is not available: {error}')
    spec = importlib.util.spec_from_file_location('analyze_stage', REPO / 'stages' / 'analyze.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_fake_prepared(folder: Path, *, train: int = 32, test: int = 40, size: int = 8) -> None:
    """The prepare stage's layout: meta.json, and {'images': uint8 [N, C, H, W], 'labels': int64 [N]} files."""
    folder.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    for split, count in (('train', train), ('test', test)):
        torch.save({'images': torch.randint(0, 256, (count, 1, size, size), generator=generator, dtype=torch.uint8),
                    'labels': torch.randint(0, 10, (count,), generator=generator)}, folder / f'{split}.pt')
    meta = dict(dataset='fashion_mnist', num_classes=10, in_chans=1, image_size=[size, size], mean=[0.3], std=[0.35],
                train_size=train, test_size=test, classes=[str(c) for c in range(10)],
                augmentation=dict(crop_padding=4, horizontal_flip=True))
    (folder / 'meta.json').write_text(json.dumps(meta))


def test_stage_end_to_end(tmp_path):
    stage = load_stage()
    write_fake_prepared(tmp_path / 'prepared')
    (tmp_path / 'prepared' / 'train.pt').unlink()  # the analysis reads the test split only
    checkpoint = tmp_path / 'model.pt'
    # An untrained network, saved as training saves one: at initialisation, γ's share below t is its own.
    save_model(create_model('cifar_resnet14', num_classes=10, in_chans=1, seed=3), checkpoint,
               arch='cifar_resnet14', num_classes=10, in_chans=1, seed=3, norm_init='uniform',
               weight_init='kaiming_normal')
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    (tmp_path / 'params.yaml').write_text(PARAMS)
    out = tmp_path / 'analyze'

    assert stage.main(['--checkpoint', str(checkpoint), '--data', str(tmp_path / 'prepared'), '--out', str(out),
                       '--params', str(tmp_path / 'params.yaml'), '--device', 'cpu', '--no-progress']) == 0

    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == digest, 'the checkpoint file changed'
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['test_images'] == 40
    assert 0 <= metrics['test_accuracy'] <= 1
    assert set(metrics['gamma']['frac_abs_below']) == set(metrics['clamped']) == {'t0p01', 't0p05', 't0p5'}
    assert set(metrics['clamped_random']) == {'t0p01', 't0p05', 't0p5'}
    for key, control in metrics['clamped_random'].items():
        assert control['delta'] == pytest.approx(control['test_accuracy'] - metrics['test_accuracy'])
    assert metrics['gamma_init']['frac_abs_below'] == metrics['gamma']['frac_abs_below']
    assert 0 < metrics['gamma_init']['frac_abs_below']['t0p5'] < 1
    assert set(metrics['dead_relu']['site']) == {'stem', 'block', 'residual'}
    # ResNet-14: the stem ReLU (16 channels), then 2 blocks x 2 ReLUs in each of the 16-, 32- and 64-wide stages.
    assert metrics['dead_relu']['units'] == 16 + 4 * (16 + 32 + 64)
    for name in ('bn_values', 'bn_summary', 'bn_histogram', 'gamma_thresholds', 'clamping', 'dead_relu_modules',
                 'dead_relu_sites', 'relu_channel_zero_probability'):
        assert (out / 'tables' / f'{name}.csv').stat().st_size > 0
    for name in ('gamma_histogram', 'beta_histogram', 'gamma_thresholds', 'clamping_accuracy', 'dead_relu_per_layer'):
        assert (out / 'plots' / f'{name}.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def run_untrained(tmp_path, *extra: str, in_chans: int = 1, status: int = 0) -> Path:
    """The stage on an untrained ResNet-14 saved without its init settings (the prepared data has 1 channel);
    checks the exit status and returns the output folder."""
    stage = load_stage()
    write_fake_prepared(tmp_path / 'prepared')
    checkpoint = tmp_path / 'model.pt'
    save_model(create_model('cifar_resnet14', num_classes=10, in_chans=in_chans, seed=0), checkpoint,
               arch='cifar_resnet14', num_classes=10, in_chans=in_chans)
    (tmp_path / 'params.yaml').write_text(PARAMS)
    out = tmp_path / 'analyze'
    assert stage.main(['--checkpoint', str(checkpoint), '--data', str(tmp_path / 'prepared'), '--out', str(out),
                       '--params', str(tmp_path / 'params.yaml'), '--device', 'cpu', '--no-progress',
                       *extra]) == status
    return out


def test_stage_refuses_a_checkpoint_for_other_data(tmp_path, capsys):
    run_untrained(tmp_path, in_chans=3, status=1)
    assert 'in_chans' in capsys.readouterr().err


def test_stage_without_init_settings_omits_gamma_init(tmp_path, capsys):
    out = run_untrained(tmp_path)
    assert 'gamma_init' not in json.loads((out / 'metrics.json').read_text())
    assert 'initialised' in capsys.readouterr().err
    assert (out / 'plots').is_dir()


def test_no_plots_writes_metrics_and_tables_only(tmp_path):
    out = run_untrained(tmp_path, '--no-plots')
    assert (out / 'metrics.json').is_file() and (out / 'tables' / 'bn_values.csv').is_file()
    assert not (out / 'plots').exists()


def test_test_split_is_served_as_training_serves_it(tmp_path):
    from bnonly.data import build_loaders, load_meta
    stage = load_stage()
    write_fake_prepared(tmp_path / 'prepared')
    meta = load_meta(tmp_path / 'prepared')
    _, expected = build_loaders(tmp_path / 'prepared', batch_size=8, eval_batch_size=16, seed=0, device='cpu')
    served = stage.load_test_split(tmp_path / 'prepared', meta, batch_size=16, device=torch.device('cpu'))
    pairs = list(zip(served.epoch(0), expected.epoch(0), strict=True))
    assert len(pairs) == 3
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in pairs)
