"""Benchmark: our training engine against open_lth's loop and a bare loop, on the CPU, in one run.

For each network and trainable set, the same data (a fixed subset of the prepared Fashion-MNIST), the same
hyperparameters (params.yaml's recipe: batch 128, SGD 0.1 / 0.9 / 1e-4) and the same number of steps:

  (a) open_lth   benchmarks/open_lth_reference.py: per-image PIL transforms through a DataLoader with
                 num_workers=0, fp32, NCHW, a test evaluation at batch 128 and a checkpoint every epoch;
  (b) engine     ``bnonly.training.train_run`` itself, end to end (data loading, model build, every epoch's
                 training, test evaluation and resume state, the final results), once per ``--variants``;
  (c) bare       forward / backward / SGD step over pre-normalised tensors already in memory, no augmentation,
                 no metrics, no evaluation, with (b)'s numerics (layout, precision) and process settings
                 (``configure_backends``: on the CPU, malloc keeps freed memory): the floor for (b)'s training
                 phase;
  (c1) bare      the same in fp32 channels_last with glibc's default malloc (so (c)/(c1) is host_memory.py's
                 gain);
  (c0) bare NCHW fp32 NCHW with glibc's default malloc, the plain PyTorch loop (so (c1)/(c0) is the layout's
                 gain). (a) runs with the default malloc too, as open_lth does.

Reported: images/s of the training phase, seconds per epoch (training + evaluation + checkpoint), end-to-end
seconds, the ratios b/a and b/c, and achieved GFLOP/s (FLOPs of the training step as autograd runs it,
counted by torch's FlopCounterMode: about 3x the forward for ``all``, 2x for ``bn_only``, 1x for
``output_only``) against a large fp32 matmul measured in the same run. The machine (CPU model, cores,
threads, versions) and an idle check (CPU use, load average, and a matmul probe before and after) are part
of the output. A test subset of one sixth of the training subset keeps Fashion-MNIST's 60,000 : 10,000
proportion, so "s per full epoch" is the measured epoch scaled by 60,000 / training images.

    .venv/bin/python benchmarks/speed_cpu.py                   # ~5-6 min on an idle 2-core EPYC
    .venv/bin/python benchmarks/speed_cpu.py --variants fp32,bf16 --trainables all,bn_only
    .venv/bin/python benchmarks/speed_cpu.py --quick           # smoke run (tiny subset), speed_cpu-quick.md

Every loop runs in a fresh process of its own (as a DVC stage does: no allocator or oneDNN cache state carried
from the loop before), ``--repeats`` times, the loops of a configuration in a rotated order each round; the
tables give the median of the repeats and the range of the training rate. On our VMs one measurement of one
loop varies by up to 15% from run to run (the same loop, back to back), which a single run cannot tell from a
real difference.

Only an idle machine gives meaningful numbers: another busy process on our 2 cores slows torch 4-10x.
"""
import argparse
import dataclasses
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import open_lth_reference  # noqa: E402
import speed_env  # noqa: E402
from speed_report import C0, C1, FULL_TEST, FULL_TRAIN, report  # noqa: E402

from bnonly.config import load_params  # noqa: E402
from bnonly.data.augment import normalize  # noqa: E402
from bnonly.data.prepared import load_meta, load_tensors  # noqa: E402
from bnonly.flops import arch_flops  # noqa: E402
from bnonly.models import create_model  # noqa: E402
from bnonly.trainable import set_trainable  # noqa: E402
from bnonly.training import RunSpec  # noqa: E402
from bnonly.training.numerics import autocast, configure_backends, memory_format  # noqa: E402

CPU = torch.device('cpu')
VARIANTS = speed_env.ENGINE_VARIANTS


@dataclasses.dataclass
class Timing:
    """One loop's timings. Per-epoch figures are steady state: the first epoch is left out when there are
    more (it holds torch.compile's compilation, if any); end to end is everything, first epoch included."""
    loop: str
    images_per_epoch: int
    train_seconds: list[float]                       # per epoch
    boundary_seconds: list[float] | None = None      # evaluation + checkpoint, per epoch ((a) and (b) only)
    end_to_end: float | None = None
    test_accuracy: float | None = None

    def _steady(self, values: list[float]) -> float:
        return statistics.fmean(values[1:] if len(values) > 1 else values)

    @property
    def train_rate(self) -> float:
        return self.images_per_epoch / self._steady(self.train_seconds)

    @property
    def boundary(self) -> float:
        return self._steady(self.boundary_seconds) if self.boundary_seconds else 0.0

    @property
    def epoch_seconds(self) -> float:
        return self._steady(self.train_seconds) + self.boundary


@dataclasses.dataclass
class Repeated:
    """The same loop measured in several processes: medians, and the range of the training rate."""
    runs: list[Timing]

    @property
    def loop(self) -> str:
        return self.runs[0].loop

    def _median(self, name: str) -> float:
        return statistics.median(getattr(run, name) for run in self.runs)

    train_rate = property(lambda self: self._median('train_rate'))
    boundary = property(lambda self: self._median('boundary'))
    epoch_seconds = property(lambda self: self._median('epoch_seconds'))
    end_to_end = property(lambda self: self._median('end_to_end') if self.runs[0].end_to_end else None)
    boundary_seconds = property(lambda self: self.runs[0].boundary_seconds)
    test_accuracy = property(lambda self: self.runs[0].test_accuracy)  # deterministic on the CPU: same each run

    @property
    def rate_range(self) -> str:
        rates = [run.train_rate for run in self.runs]
        return f'{min(rates):,.0f}-{max(rates):,.0f}' if len(rates) > 1 else '-'


# -------------------------------------------------------------------------------------------------- loops

def recipe(params: dict, args, arch: str, trainable: str) -> dict:
    train = dict(params['train'], epochs=args.epochs, milestones=[max(1, args.epochs - 1)], examples=None)
    return dict(dataset='fashion_mnist', arch=arch, trainable=trainable, seed=0, model=dict(params['model']),
                train=train)


def run_open_lth(hp: dict, subset: Path, work: Path) -> Timing:
    start = time.perf_counter()
    torch.manual_seed(0)  # the transforms draw from the global RNG, as in open_lth
    meta = load_meta(subset)
    sets = {split: open_lth_reference.PerImageDataset(*load_tensors(subset, split, meta), mean=meta['mean'],
                                                      std=meta['std'], augment=split == 'train')
            for split in ('train', 'test')}
    model = create_model(hp['arch'], num_classes=meta['num_classes'], in_chans=meta['in_chans'],
                         norm_init=hp['model']['norm_init'], weight_init=hp['model']['weight_init'],
                         seed=hp['seed'])
    set_trainable(model, hp['trainable'], k=hp['model']['k'], seed=hp['seed'])
    t = hp['train']
    rows = open_lth_reference.train(
        model, sets['train'], sets['test'], epochs=t['epochs'], batch_size=t['batch_size'], lr=t['lr'],
        momentum=t['momentum'], weight_decay=t['weight_decay'], milestones=t['milestones'], gamma=t['gamma'],
        warmup_epochs=t['warmup_epochs'], data_order_seed=hp['seed'], device=CPU, output=work / 'open_lth')
    return Timing('(a) open_lth', meta['train_size'], [r['train_seconds'] for r in rows],
                  [r['eval_seconds'] + r['checkpoint_seconds'] for r in rows], time.perf_counter() - start,
                  rows[-1]['test_accuracy'])


def run_engine(hp: dict, variant: str, subset: Path, work: Path) -> Timing:
    spec = RunSpec.from_params(speed_env.with_variant(hp, variant))
    timing = speed_env.timed_train_run(spec, subset, work / f'engine-{variant}', scratch=work / 'scratch',
                                       device=CPU)
    return Timing(f'(b) engine {variant}', load_meta(subset)['train_size'], timing.train_seconds,
                  timing.boundary_seconds, timing.end_to_end, timing.metrics['test_accuracy'])


def run_bare(hp: dict, precision: str, layout: str, subset: Path, label: str, engine_settings: bool) -> Timing:
    if engine_settings:
        configure_backends(CPU)
    meta = load_meta(subset)
    images, labels = load_tensors(subset, 'train', meta)
    channels = meta['in_chans']
    mean = torch.tensor(meta['mean']).view(1, channels, 1, 1)
    std = torch.tensor(meta['std']).view(1, channels, 1, 1)
    fmt = memory_format(layout)
    inputs = normalize(images, mean, std).contiguous(memory_format=fmt)
    model = create_model(hp['arch'], num_classes=meta['num_classes'], in_chans=channels,
                         norm_init=hp['model']['norm_init'], weight_init=hp['model']['weight_init'],
                         seed=hp['seed'])
    params = set_trainable(model, hp['trainable'], k=hp['model']['k'], seed=hp['seed'])
    model.to(memory_format=fmt).train()
    t = hp['train']
    optimizer = torch.optim.SGD(params, lr=t['lr'], momentum=t['momentum'], weight_decay=t['weight_decay'])
    batch = t['batch_size']
    seconds = []
    for _ in range(t['epochs']):
        start = time.perf_counter()
        for first in range(0, len(labels), batch):
            x, y = inputs[first:first + batch], labels[first:first + batch]
            optimizer.zero_grad()
            with autocast(CPU, precision):
                logits = model(x)
            F.cross_entropy(logits.float(), y).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return Timing(label, len(labels), seconds)


def run_loop(job: dict) -> Timing:
    """One loop, in this process: ``job`` names it ('open_lth', 'engine', 'bare') and holds its arguments."""
    hp, subset, work = job['hp'], Path(job['subset']), Path(job['work'])
    if job['loop'] == 'open_lth':
        return run_open_lth(hp, subset, work)
    if job['loop'] == 'engine':
        return run_engine(hp, job['variant'], subset, work)
    return run_bare(hp, job['precision'], job['layout'], subset, job['label'], job['engine_settings'])


def in_fresh_process(job: dict, threads: int | None) -> Timing:
    command = [sys.executable, __file__, '--job', json.dumps(job)] + (['--threads', str(threads)] if threads else [])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'{job["loop"]} loop failed:\n{result.stderr}')
    return Timing(**json.loads(result.stdout.splitlines()[-1]))


# --------------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='smoke run: 256 training images, 2 epochs')
    parser.add_argument('--prepared', type=Path, default=None,
                        help='prepared Fashion-MNIST (default data/prepared, else prepared now from the raw files)')
    parser.add_argument('--archs', default='cifar_resnet14,cifar_resnet32')
    parser.add_argument('--trainables', default='all,bn_only,output_only')
    parser.add_argument('--variants', default='fp32', help=f'engine variants: {", ".join(VARIANTS)}')
    parser.add_argument('--train-examples', type=int, default=None,
                        help='training subset (default 10,240 = 80 batches; quick 256); 0: all 60,000')
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=None,
                        help='processes per loop, median reported (default 3; quick 1)')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s, as training)')
    parser.add_argument('--matmul', type=int, default=None, help='reference matmul size (default 4096; quick 1024)')
    parser.add_argument('--params', type=Path, default=Path('params.yaml'))
    parser.add_argument('--out', type=Path, default=None,
                        help='default benchmarks/results/speed_cpu.md (quick: speed_cpu-quick.md)')
    parser.add_argument('--job', help=argparse.SUPPRESS)  # internal: run one loop, print its Timing as JSON
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.job:
        print(json.dumps(dataclasses.asdict(run_loop(json.loads(args.job)))))
        return
    command = ' '.join(['.venv/bin/python', 'benchmarks/speed_cpu.py'] + [shlex.quote(a) for a in sys.argv[1:]])
    args.repeats = args.repeats or (1 if args.quick else 3)
    archs, trainables = args.archs.split(','), args.trainables.split(',')
    variants = args.variants.split(',')
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f'unknown variants {unknown}; valid: {", ".join(VARIANTS)}')
    train_n = args.train_examples if args.train_examples is not None else (256 if args.quick else 10_240)
    train_n = train_n or FULL_TRAIN
    test_n = max(1, round(train_n * FULL_TEST / FULL_TRAIN))
    args.matmul = args.matmul or (1024 if args.quick else 4096)
    out = args.out or speed_env.RESULTS / ('speed_cpu-quick.md' if args.quick else 'speed_cpu.md')
    began = time.perf_counter()

    check = speed_env.IdleCheck(CPU, probe_size=512 if args.quick else 2048)
    precisions = sorted({VARIANTS[v][0] for v in variants})
    references = {}   # (precision, kind) -> GFLOP/s
    conv_size = dict(batch=8, channels=128) if args.quick else {}
    for precision in ['fp32'] + [p for p in precisions if p != 'fp32']:
        dtype = torch.bfloat16 if precision == 'bf16' else torch.float32
        references[precision, 'matmul'] = speed_env.matmul_gflops(args.matmul, dtype=dtype)
        references[precision, 'conv'] = speed_env.conv_gflops(dtype=dtype, **conv_size)
    peaks = {precision: max(references[precision, 'matmul'], references[precision, 'conv'])
             for precision, _ in references}
    params = load_params(args.params)
    flops = {}
    with tempfile.TemporaryDirectory(prefix='bnonly-speed-cpu-') as tmp:
        work = Path(tmp)
        source = speed_env.prepared_source(args.prepared, work / 'prepared')
        subset = speed_env.write_subset(source, work / 'subset', train=train_n, test=test_n)
        meta = load_meta(subset)
        configurations = []
        for arch in archs:
            for trainable in trainables:
                counted = arch_flops(arch, trainable, in_chans=meta['in_chans'], size=meta['image_size'][0],
                                     num_classes=meta['num_classes'])
                flops[arch, 'forward'], flops[arch, trainable] = counted['forward'], counted['train']
                common = dict(hp=recipe(params, args, arch, trainable), subset=str(subset), work=str(work))
                jobs = [dict(common, loop='open_lth')]
                jobs += [dict(common, loop='engine', variant=v) for v in variants]
                jobs += [dict(common, loop='bare', precision=p, layout=l, label=f'(c) bare {p} {l}',
                              engine_settings=True) for p, l in sorted({VARIANTS[v][:2] for v in variants})]
                jobs += [dict(common, loop='bare', precision='fp32', layout=layout, label=label, engine_settings=False)
                         for layout, label in [('channels_last', C1), ('contiguous', C0)]]
                configurations.append(((arch, trainable), jobs))
        runs = {}  # (arch, trainable) -> loop label -> [Timing]
        total = args.repeats * sum(len(jobs) for _, jobs in configurations)
        with tqdm(total=total, desc='loops', unit='loop') as bar:
            for repeat in range(args.repeats):
                for index, (key, jobs) in enumerate(configurations):
                    # Rotate the order each round and configuration, so a drift in machine speed hits every
                    # loop alike.
                    shift = (repeat + index) % len(jobs)
                    for job in jobs[shift:] + jobs[:shift]:
                        timing = in_fresh_process(job, args.threads)
                        runs.setdefault(key, {}).setdefault(timing.loop, []).append(timing)
                        bar.write(f'{key[0]:16s} {key[1]:12s} {timing.loop:28s} {timing.train_rate:8,.0f} img/s '
                                  f'train, {timing.epoch_seconds:6.2f} s/epoch')
                        bar.update()
        results = {key: sorted((Repeated(timings) for timings in by_loop.values()), key=lambda r: r.loop)
                   for key, by_loop in runs.items()}
    check.finish()
    lines = report(args, command, results, flops, peaks, references, check, (train_n, test_n),
                   time.perf_counter() - began)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    print(f'\nwritten to {out}')
    if check.warning():
        print(check.warning(), file=sys.stderr)


if __name__ == '__main__':
    main()
