"""Stage `train`: train the configuration in params.yaml on the prepared data (see dvc.yaml).

ImageNet on a machine with several visible GPUs runs under torchrun, one process per GPU, the global batch
split across them (bnonly.training.distributed). The CIFAR-sized nets train on one GPU each: they are too
small to gain from data parallelism, and the paper grid runs its cells side by side instead (README).

Exit status: 0 done; 1 a one-line ``train: error: ...`` (configuration, data, full disk, divergence);
``bnonly.training.STOPPED_EXIT_CODE`` (75) stopped by SIGINT, SIGTERM or SIGUSR2 with the resume state saved,
and one line ``train: stopped by ...`` saying where; rerunning the command resumes (docs/pipeline.md).
"""
import argparse
import os
import sys
from pathlib import Path

import torch

from bnonly import atomic, timing
from bnonly.config import ConfigError, load_params, require
from bnonly.vocabulary import BUDGET_KEY, budget_milestones, parse_run
from bnonly.data import DataError
from bnonly.training import RunSpec, TrainingDiverged, TrainingStopped, train_run


def run_overrides(args: argparse.Namespace) -> list[str]:
    """The params overrides: --run's arch, trainable set and variants first, so that an explicit --set still
    wins. A budget token (e<N>) sets train.epochs and the params file's LR milestones scaled to it."""
    if args.run is None:
        return list(args.overrides)
    arch, trainable, variants = parse_run(args.run)
    epochs = variants.pop(BUDGET_KEY, None)
    budget = [] if epochs is None else budget_overrides(args.params, epochs, args.run)
    return [f'arch={arch}', f'trainable={trainable}', *(f'model.{key}={value}' for key, value in variants.items()),
            *budget, *args.overrides]


def budget_overrides(params: Path, epochs: int, run: str) -> list[str]:
    """train.epochs = ``epochs`` and the recipe's milestones (``params``' train section) scaled to it."""
    recipe = load_params(params)
    require(recipe, 'train.epochs', 'train.milestones')
    train = recipe['train']
    milestones = budget_milestones(train['milestones'], train['epochs'], epochs, run)
    return [f'train.epochs={epochs}', f'train.milestones=[{", ".join(map(str, milestones))}]']


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', type=Path, required=True, help='prepared data folder (stage prepare)')
    parser.add_argument('--out', type=Path, required=True, help='folder for model.pt, metrics.json, history.csv')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    parser.add_argument('--set', dest='overrides', action='append', default=[], metavar='KEY=VALUE',
                        help='override a params value (e.g. --set arch=cifar_resnet32); repeatable')
    parser.add_argument('--run', default=None, metavar='ARCH-TRAINABLE[-VARIANT]...',
                        help='set arch, trainable and model variants at once, e.g. cifar_wide_resnet14_2-bn_only '
                             'or cifar_resnet14-bn_only-groupnorm (the paper grid names its cells so)')
    parser.add_argument('--scratch', type=Path, default=None,
                        help='where resume state lives (default: $BNONLY_SCRATCH or .scratch/)')
    return parser.parse_args(argv)


def relaunch_under_torchrun(spec: RunSpec) -> None:
    """Replace this process by torchrun with one worker per visible GPU, for ImageNet on several GPUs."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if spec.dataset != 'imagenet' or gpus < 2 or 'LOCAL_RANK' in os.environ:
        return
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={gpus}',
               *sys.argv]
    os.execv(sys.executable, command)


def main(argv: list[str] | None = None) -> int:
    timing.start_script()
    args = parse_args(argv)
    try:
        spec = RunSpec.from_params(load_params(args.params, run_overrides(args)))
        relaunch_under_torchrun(spec)
        train_run(spec, args.data, args.out, scratch_root=args.scratch)
    except TrainingStopped as stopped:
        print(f'train: {stopped}', file=sys.stderr)
        return stopped.exit_code
    except (ConfigError, DataError, TrainingDiverged, atomic.WriteError) as error:
        print(f'train: error: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
