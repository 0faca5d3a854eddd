"""Stage `analyze`: what the trained network learned (γ, β, small-γ clamping, dead ReLUs; Figures 4 to 7).

Reads a checkpoint and the prepared test set (only the test split is loaded); writes ``metrics.json`` (schema:
``bnonly.analysis.metrics``), ``tables/*.csv`` (``bnonly.analysis.tables``) and ``plots/*.png``
(``bnonly.analysis.plots``) under --out. The device is chosen as training chooses it (``bnonly.devices``:
a GPU of its own when there is one, else the CPU, where malloc keeps freed memory as in training).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch

from bnonly import atomic, timing
from bnonly.interrupts import Interrupted, stopped_by_signal
from bnonly.analysis import AnalysisSettings, analyze_model
from bnonly.analysis.metrics import analysis_metrics
from bnonly.analysis.tables import write_tables
from bnonly.checkpoint import CheckpointError, initial_model, load_model
from bnonly.config import ConfigError, load_params
from bnonly.data import DataError, load_meta
from bnonly.data.datasets import module as dataset_module
from bnonly.data.folder_loader import FolderLoader
from bnonly.data.memory_loader import InMemoryLoader
from bnonly.data.prepared import load_index, load_tensors
from bnonly.devices import pick_device
from bnonly.settings import TrainSettings, default
from bnonly.training import numerics


class TestPasses:
    """The test set as a re-iterable: every ``iter()`` starts a new sequential pass (the analysis makes several)."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        return iter(self.loader.epoch(0))

    def __len__(self) -> int:
        return len(self.loader)


def load_test_split(prepared: Path, meta: dict, *, batch_size: int, device: torch.device):
    """The test split only, sequential and unaugmented, exactly as ``bnonly.data.build_loaders`` serves it
    (same normalisation, same order); the training split, which the analysis never reads, is not loaded."""
    normalisation = dict(mean=meta['mean'], std=meta['std'], device=device)
    if meta['dataset'] == 'imagenet':
        return FolderLoader(Path(meta['root']), load_index(prepared, 'test'), batch_size=batch_size,
                            augmentation=dataset_module(meta['dataset']).AUGMENTATION,
                            num_workers=min(8, os.cpu_count() or 1), **normalisation)
    return InMemoryLoader(*load_tensors(prepared, 'test', meta), batch_size=batch_size, **normalisation)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--checkpoint', type=Path, required=True, help='model.pt written by the train stage')
    parser.add_argument('--data', type=Path, required=True, help='prepared data folder (stage prepare)')
    parser.add_argument('--out', type=Path, required=True, help='folder for metrics.json, tables/, plots/')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    parser.add_argument('--set', dest='overrides', action='append', default=[], metavar='KEY=VALUE',
                        help='override a params value (e.g. --set arch=cifar_resnet32); repeatable')
    parser.add_argument('--device', default=None,
                        help='default: as training picks it (a free GPU if there is one, else cpu)')
    parser.add_argument('--eval-batch-size', type=int, default=None,
                        help=f'default: params train.eval_batch_size, else {default(TrainSettings, "eval_batch_size")}')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--no-plots', action='store_true',
                        help='no plots/ (the grid draws its figures from the aggregated tables instead)')
    return parser.parse_args(argv)


def analyze(args: argparse.Namespace):
    """Analyse the checkpoint and write the outputs; returns what main's summary line reports."""
    params = load_params(args.params, args.overrides)
    settings = AnalysisSettings.from_params(params)
    batch_size = args.eval_batch_size or params.get('train', {}).get('eval_batch_size',
                                                                      default(TrainSettings, 'eval_batch_size'))
    device = torch.device(args.device) if args.device else pick_device()
    numerics.configure_backends(device)
    model, info = load_model(args.checkpoint, device)
    initial = initial_model(info, device)
    if initial is None:
        print(f'analyze: {args.checkpoint} does not record how the network was initialised; '
              f'no gamma_init metrics', file=sys.stderr)
    with timing.phase('data'):
        meta = load_meta(args.data)
        for key in ('num_classes', 'in_chans'):
            if meta[key] != info[key]:
                raise ConfigError(f'{args.checkpoint} has {key}={info[key]} but {args.data} holds '
                                  f'{key}={meta[key]}: the checkpoint was not trained on this data set')
        loader = load_test_split(args.data, meta, batch_size=batch_size, device=device)
    with timing.phase('analysis_passes'):
        analysis = analyze_model(model, TestPasses(loader), settings, initial=initial,
                                 show_progress=not args.no_progress)
    metrics = analysis_metrics(analysis)
    atomic.write_text(args.out / 'metrics.json', json.dumps(metrics, indent=2) + '\n')
    write_tables(analysis, args.out / 'tables')
    if not args.no_plots:
        from bnonly.analysis.plots import write_figures  # matplotlib only when drawing
        write_figures(analysis, args.out / 'plots')
    return metrics, analysis, info, settings


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    args = parse_args(argv)
    try:
        with stopped_by_signal():
            metrics, analysis, info, settings = analyze(args)
    except (ConfigError, DataError, CheckpointError, atomic.WriteError) as error:
        print(f'analyze: error: {error}', file=sys.stderr)
        return 1
    except Interrupted as stop:
        print(stop.line('analyze'), file=sys.stderr)
        return stop.exit_code

    dead = metrics['dead_relu']
    dead_text = (f"dead ReLU {dead['granularity']}s: {dead['fraction']:.1%} of {dead['units']}"
                 if dead['applicable'] else f"dead ReLUs: not applicable ({dead['reason']})")
    first = settings.thresholds[0]
    print(f"analyze: {info['arch']}: test accuracy {metrics['test_accuracy']:.4f}; "
          f"|γ| < {first:g}: {analysis.gamma_below[0]:.1%} of γ, clamped accuracy "
          f"{analysis.clamping[0].test_accuracy:.4f} ({analysis.clamping[0].delta:+.4f}; as many random γ: "
          f"{analysis.clamping_random[0].delta:+.4f}); {dead_text}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
