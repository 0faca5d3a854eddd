"""Validation: does ``train.precision: bf16`` (or another engine variant) give the same results as fp32?

bf16 autocast changes rounding only (fp32 master weights, fp32 BatchNorm statistics; bnonly.training.numerics),
but a speed option may only be used for the paper's figures once it is shown not to move what they measure.
This trains the same runs (same seeds, so the same initialisations and data orders) under a baseline variant
and a candidate, on real Fashion-MNIST, and compares per (network, trainable set):

- final test accuracy (10,000 test images), paired by seed;
- the γ statistics the paper's figures are made of: the fraction of |γ| below 0.01, 0.05 and 0.1
  (Figures 5 and 6), mean |γ| and median |γ| (Figure 4), and mean |β|.

The verdict is a paired equivalence test (TOST at 5% per side): the 90% confidence interval of the mean
paired difference (candidate - baseline) must lie inside a margin fixed here in advance: ±0.5 percentage
points of accuracy for ``all``, ±1 point for the other sets (noisier across seeds); ±0.02 for the |γ|
fractions; ±5% of the baseline's value for mean and median |γ|; ±10% (at least ±0.005) for mean |β|. Few seeds make wide intervals:
"not shown" then means "run more seeds" (``--seeds``), not "different".

    .venv/bin/python benchmarks/speed_bf16_validation.py              # ~10 min on an idle 2-core EPYC
    .venv/bin/python benchmarks/speed_bf16_validation.py --seeds 0,1,2,3,4,5 --epochs 8
    .venv/bin/python benchmarks/speed_bf16_validation.py --candidate fp32-nchw   # channels_last vs NCHW
    .venv/bin/python benchmarks/speed_bf16_validation.py --quick      # smoke run, bf16_validation-quick.md

The runs are short (the default is 4 epochs on 20,000 training images, LR drops at epochs 2 and 3), far from
the paper's 160 epochs: this checks that the numerics do not change training, not the paper's numbers.
"""
import argparse
import datetime
import math
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.nn.modules.batchnorm import _BatchNorm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import environment  # noqa: E402
import speed_env  # noqa: E402

from bnonly.checkpoint import load_model  # noqa: E402
from bnonly.config import load_params  # noqa: E402
from bnonly.training import RunSpec, train_run  # noqa: E402

CPU = torch.device('cpu')
GAMMA_THRESHOLDS = (0.01, 0.05, 0.1)
# One-sided 95% quantiles of Student's t by degrees of freedom (no scipy in the environment).
T95 = {1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833, 10: 1.812,
       12: 1.782, 15: 1.753, 20: 1.725, 30: 1.697}


def t95(df: int) -> float:
    known = [d for d in T95 if d <= df]
    return T95[max(known)] if df <= 30 else 1.645  # rounding df down is conservative


def batchnorm_statistics(model: torch.nn.Module) -> dict[str, float]:
    gammas = torch.cat([m.weight.detach().abs().flatten() for m in model.modules()
                        if isinstance(m, _BatchNorm) and m.affine])
    betas = torch.cat([m.bias.detach().abs().flatten() for m in model.modules()
                       if isinstance(m, _BatchNorm) and m.affine])
    stats = {f'|γ| < {t}': (gammas < t).float().mean().item() for t in GAMMA_THRESHOLDS}
    stats.update({'mean |γ|': gammas.mean().item(), 'median |γ|': gammas.median().item(),
                  'mean |β|': betas.mean().item()})
    return stats


def margin(metric: str, trainable: str, baseline_mean: float) -> float:
    if metric == 'test accuracy':
        return 0.005 if trainable == 'all' else 0.01
    if metric.startswith('|γ| <'):
        return 0.02
    if metric == 'mean |β|':  # β starts at 0 and stays small in short runs: a floor keeps the margin sane
        return max(0.1 * abs(baseline_mean), 0.005)
    return 0.05 * abs(baseline_mean)


def equivalence(differences: list[float], bound: float) -> tuple[float, float, float, str]:
    """(mean, lower, upper) of the 90% CI of the mean paired difference, and the TOST verdict."""
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return mean, float('nan'), float('nan'), 'needs >= 2 seeds'
    half = t95(len(differences) - 1) * statistics.stdev(differences) / math.sqrt(len(differences))
    lower, upper = mean - half, mean + half
    verdict = 'equivalent' if -bound < lower and upper < bound else 'not shown'
    return mean, lower, upper, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='smoke run: 512 images, 1 epoch, 2 seeds')
    parser.add_argument('--prepared', type=Path, default=None)
    parser.add_argument('--archs', default='cifar_resnet14')
    parser.add_argument('--trainables', default='all,bn_only')
    parser.add_argument('--seeds', default=None, help='comma-separated (default 0,1,2; quick 0,1)')
    parser.add_argument('--baseline', default='fp32', choices=tuple(speed_env.ENGINE_VARIANTS))
    parser.add_argument('--candidate', default='bf16', choices=tuple(speed_env.ENGINE_VARIANTS))
    parser.add_argument('--epochs', type=int, default=None, help='default 4 (quick 1)')
    parser.add_argument('--train-examples', type=int, default=None, help='default 20,000 (quick 512)')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    parser.add_argument('--out', type=Path, default=None)
    args = parser.parse_args()
    command = ' '.join(['.venv/bin/python', 'benchmarks/speed_bf16_validation.py'] +
                       [shlex.quote(a) for a in sys.argv[1:]])
    if args.threads:
        torch.set_num_threads(args.threads)
    seeds = [int(s) for s in (args.seeds or ('0,1' if args.quick else '0,1,2')).split(',')]
    epochs = args.epochs or (1 if args.quick else 4)
    train_n = args.train_examples or (512 if args.quick else 20_000)
    out = args.out or speed_env.RESULTS / ('bf16_validation-quick.md' if args.quick else 'bf16_validation.md')
    params = load_params(args.params)
    milestones = sorted({max(1, epochs // 2), max(1, epochs - 1)}) if epochs > 1 else []
    began = time.perf_counter()
    check = speed_env.IdleCheck(CPU, probe_size=512 if args.quick else 2048)
    records = {}   # (arch, trainable, variant, seed) -> metrics
    with tempfile.TemporaryDirectory(prefix='bnonly-bf16-validation-') as tmp:
        work = Path(tmp)
        source = speed_env.prepared_source(args.prepared, work / 'prepared')
        subset = speed_env.write_subset(source, work / 'subset', train=train_n,
                                        test=256 if args.quick else None)
        for arch in args.archs.split(','):
            for trainable in args.trainables.split(','):
                for seed in seeds:
                    for variant in (args.baseline, args.candidate):
                        run = dict(dataset='fashion_mnist', arch=arch, trainable=trainable, seed=seed,
                                   model=dict(params['model']),
                                   train=dict(params['train'], epochs=epochs, milestones=milestones, examples=None))
                        spec = RunSpec.from_params(speed_env.with_variant(run, variant))
                        folder = work / f'{arch}-{trainable}-{seed}-{variant}'
                        start = time.perf_counter()
                        metrics = train_run(spec, subset, folder, scratch_root=work / 'scratch', device=CPU,
                                            progress=False, log=lambda line: None)
                        model, _ = load_model(folder / 'model.pt')
                        records[arch, trainable, variant, seed] = dict(
                            {'test accuracy': metrics['test_accuracy']}, **batchnorm_statistics(model),
                            seconds=time.perf_counter() - start)
                        print(f'{arch} {trainable} seed {seed} {variant}: test accuracy '
                              f'{metrics["test_accuracy"]:.4f} ({time.perf_counter() - start:.0f} s)',
                              file=sys.stderr, flush=True)
    check.finish()

    title = f'# Engine numerics validation: {args.candidate} against {args.baseline}'
    if args.quick:
        title += ' (QUICK SMOKE RUN: not a validation)'
    lines = [title, '', f'{datetime.datetime.now().isoformat(timespec="seconds")}; command:', '', f'    {command}', '',
             f'Fashion-MNIST, {train_n:,} training images (fixed subset), the whole test set unless quick, '
             f'{epochs} epochs, LR drops at {milestones}, otherwise params.yaml\'s recipe; seeds {seeds} '
             f'(each seed: the same initialisation and data order under both variants). Paired differences '
             f'(candidate - baseline); 90% CI of their mean; TOST at 5% per side against the margin. '
             f'Whole run: {(time.perf_counter() - began) / 60:.1f} min.', '']
    metrics_names = ['test accuracy'] + [f'|γ| < {t}' for t in GAMMA_THRESHOLDS] + ['mean |γ|', 'median |γ|',
                                                                                   'mean |β|']
    rows = []
    for arch in args.archs.split(','):
        for trainable in args.trainables.split(','):
            for metric in metrics_names:
                base = [records[arch, trainable, args.baseline, s][metric] for s in seeds]
                cand = [records[arch, trainable, args.candidate, s][metric] for s in seeds]
                bound = margin(metric, trainable, statistics.fmean(base))
                mean, lower, upper, verdict = equivalence([c - b for c, b in zip(cand, base)], bound)
                spread = lambda values: (f'{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}'  # noqa
                                         if len(values) > 1 else f'{values[0]:.4f}')
                rows.append([arch, trainable, metric, spread(base), spread(cand), f'{mean:+.4f}',
                             f'[{lower:+.4f}, {upper:+.4f}]', f'±{bound:.4f}', verdict])
    lines += speed_env.table(['net', 'trainable', 'metric', f'{args.baseline} (mean ± sd)',
                              f'{args.candidate} (mean ± sd)', 'mean diff', '90% CI', 'margin', 'verdict'], rows,
                             'lllrrrrrl')
    # The median: the very first run also pays one-time costs (oneDNN's kernel caches, compilation).
    times = {v: statistics.median(r['seconds'] for k, r in records.items() if k[2] == v)
             for v in (args.baseline, args.candidate)}
    lines += ['', 'Median seconds per run (training, evaluation, writing): '
              f'{args.baseline} {times[args.baseline]:.1f}, {args.candidate} {times[args.candidate]:.1f} ({times[args.baseline] / times[args.candidate]:.2f}x).',
              '']
    lines += check.lines()
    lines += ['', '## Machine', '']
    lines += speed_env.table(['', ''], [[k, v] for k, v in speed_env.machine(CPU).items()], 'll')
    environment.write_report(lines, out)


if __name__ == '__main__':
    main()
