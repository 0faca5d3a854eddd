"""The wall-time phases (bnonly.timing) the training loop and the analyze stage record."""
import importlib.util
import json
from pathlib import Path

import torch

from bnonly import timing
from bnonly.training import train_run

from tiny_data import tiny_spec, write_prepared

REPO = Path(__file__).resolve().parents[1]


def test_training_and_analysis_record_their_phases(tmp_path, monkeypatch):
    monkeypatch.setattr(timing, '_phases', {})
    prepared = write_prepared(tmp_path / 'prepared', train=64, test=20)
    train_run(tiny_spec(**{'train.epochs': 1}), prepared, tmp_path / 'out', scratch_root=tmp_path / 'scratch',
              device=torch.device('cpu'), progress=False, log=lambda line: None)
    assert set(timing._phases) == {'data', 'train_steps', 'test_eval'}

    monkeypatch.setattr(timing, '_phases', {})
    spec = importlib.util.spec_from_file_location('analyze_stage', REPO / 'stages' / 'analyze.py')
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    (tmp_path / 'params.yaml').write_text('analyze:\n  thresholds: [0.05]\n  dead_relu_probability: 0.99\n'
                                          '  dead_relu_granularity: channel\n  histogram_bins: 5\n')
    assert stage.main(['--checkpoint', str(tmp_path / 'out' / 'model.pt'), '--data', str(prepared),
                       '--out', str(tmp_path / 'analyze'), '--params', str(tmp_path / 'params.yaml'),
                       '--device', 'cpu', '--no-progress']) == 0
    assert set(timing._phases) == {'data', 'analysis_passes'}
    # A checkpoint that training wrote records its initialisation, so γ at init is reported.
    assert 't0p05' in json.loads((tmp_path / 'analyze' / 'metrics.json').read_text())['gamma_init']['frac_abs_below']
    assert all(seconds >= 0 for seconds in timing._phases.values())
