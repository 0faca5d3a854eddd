"""The paper's headline claims (shared/PAPER.md) beside our measurements, each with a verdict computed from the numbers.

Verdicts:

- **holds**: the measured effect has the claimed sign (or the claimed value, within TOLERANCE) in every
  network where it can be measured, clearly: beyond Z standard errors of the difference of the means.
- **does not hold**: it clearly has the other sign (or is clearly further than TOLERANCE below the number).
- **inconclusive**: the difference is within Z standard errors of zero (the seeds' spread is too large).
- **not measured**: the grid has no cells for it (data set or networks absent); the reason says which.

With n = 1 there is no spread: the sign alone decides and the row says so. Claims about CIFAR-10 or ImageNet
numbers are measured only when the grid ran on that data set; the qualitative claims are measured on
whatever data set the grid used, and the table names it.
"""
import math

import pandas as pd

from bnonly.paper.grid import arch_info
from bnonly.paper.verdicts import (FAILS, HOLDS, NOT_MEASURED, UNCLEAR, Z, Estimate, Row, combine,
                                     difference, sign)

TOLERANCE = 0.02        # a paper accuracy is reproduced when we are within 2 points of it (or above)
SMALL_GAMMA_SHARE = 0.20  # "a quarter to a third of γ below 0.01": at least a fifth counts
BARELY = 0.01           # "barely changes accuracy": within 1 point after clamping
FEW_DEAD = 0.02         # "with all parameters trained, activations are not disabled": under 2 % dead
FAMILY_ORDER = {'deep': 0, 'wide': 1, 'imagenet': 2}
DATASET_LABELS = {'fashion_mnist': 'Fashion-MNIST', 'cifar10': 'CIFAR-10', 'imagenet': 'ImageNet'}


class Results:
    """The aggregated summary (reports/grid_summary.csv) and profile, with lookups by cell group."""

    def __init__(self, summary: pd.DataFrame, profile: dict):
        self.summary = summary
        self.profile = profile
        self.dataset = profile.get('dataset')

    @property
    def dataset_label(self) -> str:
        return DATASET_LABELS.get(self.dataset, str(self.dataset))

    def get(self, arch: str, trainable: str, metric: str, *, source: str = 'train',
            group: str = 'grid') -> Estimate | None:
        s = self.summary
        match = s[(s.group == group) & (s.arch == arch) & (s.trainable == trainable) & (s.source == source)
                  & (s.metric == metric)]
        if match.empty:
            return None
        row = match.iloc[0]
        std = float(row['std']) if not pd.isna(row['std']) else math.nan
        return Estimate(float(row['mean']), std, int(row['n']))

    def archs(self, *, group: str = 'grid', source: str = 'train', trainable: str | None = None,
              family: str | None = None) -> list[str]:
        s = self.summary[(self.summary.group == group) & (self.summary.source == source)]
        if trainable is not None:
            s = s[s.trainable == trainable]
        archs = sorted(set(s.arch), key=lambda a: (FAMILY_ORDER[arch_info(a).family], arch_info(a).depth,
                                                   arch_info(a).width))
        return [a for a in archs if family is None or _in_family(a, family)]


def _in_family(arch: str, family: str) -> bool:
    info = arch_info(arch)
    if family == 'width':
        return info.in_width_family
    return info.family == family


def _label(arch: str) -> str:
    return arch_info(arch).label


def _n_text(estimates) -> str:
    ns = sorted({e.n for e in estimates})
    if not ns:
        return '-'
    return f'{ns[0]} seeds' + ('' if len(ns) == 1 else f' (up to {ns[-1]})') + (' (no spread)' if ns[-1] == 1 else '')


def _listing(items) -> str:
    return '; '.join(f'{label}: {text}' for label, text in items)


# ------------------------------------------------------------------------------------------- the claims
def paper_number(results: Results, *, claim: str, paper: str, dataset: str, arch: str, trainable: str,
                 metric: str, target: float, cost_note: str) -> Row:
    """A number the paper reports for one network on one data set: reproduced within TOLERANCE, or above."""
    if results.dataset != dataset:
        family = results.archs(trainable=trainable, family=arch_info(arch).family)
        shown = arch if arch in family else family[-1] if family else None
        e = results.get(shown, trainable, metric) if shown else None
        analog = f'for comparison, {_label(shown)} {trainable} on {results.dataset_label}: {e.percent()}' if e else ''
        return Row(claim, paper, analog or '-', '-', NOT_MEASURED,
                   f'the grid ran on {results.dataset_label}, not {DATASET_LABELS[dataset]}'
                   + (' (not downloadable on our machines)' if results.dataset == 'fashion_mnist' else ''))
    estimate = results.get(arch, trainable, metric)
    if estimate is None:
        return Row(claim, paper, '-', '-', NOT_MEASURED, f'{_label(arch)} {trainable} is not in the grid; {cost_note}')
    s = sign(estimate.mean - (target - TOLERANCE), estimate.se)
    verdict = HOLDS if s > 0 else FAILS if s < 0 else UNCLEAR
    return Row(claim, paper, f'{_label(arch)}: {estimate.percent()}', _n_text([estimate]), verdict,
               f'reproduced when at least {100 * (target - TOLERANCE):.1f}% (the paper\'s number minus '
               f'{100 * TOLERANCE:.0f} points)')


def all_trained_range(results: Results) -> Row:
    claim = 'The same CIFAR-10 ResNets with all parameters trained reach about 91-93%.'
    paper = '91-93% (ResNet-14, ResNet-110)'
    if results.dataset != 'cifar10':
        return Row(claim, paper, '-', '-', NOT_MEASURED, f'the grid ran on {results.dataset_label}, not CIFAR-10')
    estimates = [(a, results.get(a, 'all', 'test_accuracy')) for a in ('cifar_resnet14', 'cifar_resnet110')]
    estimates = [(a, e) for a, e in estimates if e is not None]
    if not estimates:
        return Row(claim, paper, '-', '-', NOT_MEASURED, 'neither ResNet-14 nor ResNet-110 trained with all')
    signs = [sign(e.mean - (0.91 - TOLERANCE), e.se) for _, e in estimates]
    return Row(claim, paper, _listing((_label(a), e.percent()) for a, e in estimates),
               _n_text([e for _, e in estimates]), combine(signs),
               f'reproduced when at least {100 * (0.91 - TOLERANCE):.0f}%')


def pairwise(results: Results, *, claim: str, paper: str, pairs, metric: str, source: str, group: str,
             what: str, missing: str, scale: float = 100, unit: str = 'points') -> Row:
    """Every (label, a, b) pair: is a - b clearly positive? a and b are (arch, trainable)."""
    found = []
    for label, a, b in pairs:
        ea = results.get(*a, metric, source=source, group=group)
        eb = results.get(*b, metric, source=source, group=group)
        if ea is not None and eb is not None:
            found.append((label, ea, eb))
    if not found:
        return Row(claim, paper, '-', '-', NOT_MEASURED, missing)
    signs, items = [], []
    for label, ea, eb in found:
        diff, se = difference(ea, eb)
        signs.append(sign(diff, se))
        spread = f' ± {scale * 2 * se:.1f}' if not math.isnan(se) else ''
        items.append((label, f'{scale * diff:+.1f}{spread} {unit}'))
    return Row(claim, paper, _listing(items), _n_text([e for _, ea, eb in found for e in (ea, eb)]),
               combine(signs), what + (f'; ± is {Z:g} standard errors of the difference' if len(found) else ''))


def bn_vs_random(results: Results) -> Row:
    archs = [a for a in results.archs(trainable='bn_only') if results.get(a, 'random_k', 'test_accuracy')]
    counts = [(results.get(a, 'random_k', 'trainable_params'), results.get(a, 'bn_only', 'trainable_params'))
              for a in archs]
    equal = all(r is not None and b is not None and r.mean == b.mean for r, b in counts)
    note = 'equal trainable counts' if equal else 'random_k trains a different count than BN-only here'
    return pairwise(results, claim='BatchNorm-only training is far above training the same number of randomly '
                                   'chosen parameters elsewhere in the network.',
                    paper='large gap at every depth and width (Figure 2)',
                    pairs=[(_label(a), (a, 'bn_only'), (a, 'random_k')) for a in archs],
                    metric='test_accuracy', source='train', group='grid',
                    what=f'BN-only minus random_k test accuracy, {note}',
                    missing='needs bn_only and random_k cells of the same network')


def gamma_beta_worth(results: Results) -> Row:
    archs = results.archs(group='fixed_init', trainable='all')
    return pairwise(results, claim='With all parameters trained, having γ and β at all is worth +0.5-2% '
                                   '(CIFAR-10), +2% (ImageNet).',
                    paper='+0.5 to +2 points (CIFAR-10), +2 (ImageNet) (Figure 1)',
                    pairs=[(_label(a), (a, 'all'), (a, 'all_but_bn')) for a in archs],
                    metric='test_accuracy', source='train', group='fixed_init',
                    what=f'all minus all_but_bn test accuracy, both with γ = 1, β = 0 at init, on '
                         f'{results.dataset_label}; the verdict is on the sign, the size is for comparison',
                    missing='needs the fixed_init cells all and all_but_bn (Figure 1)')


def depth_beats_width(results: Results) -> Row:
    deep, wide = results.archs(trainable='bn_only', family='deep'), results.archs(trainable='bn_only', family='wide')
    pairs = []
    for w in wide:
        bn_w = results.get(w, 'bn_only', 'batchnorm_params').mean
        close = [(abs(results.get(d, 'bn_only', 'batchnorm_params').mean / bn_w - 1), d) for d in deep]
        close = [c for c in close if c[0] <= 0.25]
        if close:
            d = min(close)[1]
            bn_d = results.get(d, 'bn_only', 'batchnorm_params').mean
            pairs.append((f'{_label(d)} ({bn_d:,.0f} BN) vs {_label(w)} ({bn_w:,.0f} BN)', (d, 'bn_only'),
                          (w, 'bn_only')))
    return pairwise(results, claim='At an equal count of BatchNorm parameters, depth beats width (BN-only).',
                    paper='ResNet-434 about 7 points above WRN-14-32 (32.5K vs 35.8K BN parameters)',
                    pairs=pairs, metric='test_accuracy', source='train', group='grid',
                    what='deeper minus wider BN-only test accuracy, networks paired when their BatchNorm '
                         'counts are within 25%',
                    missing='needs a deep and a wide BN-only network with BatchNorm counts within 25%')


def rises(results: Results, *, claim: str, paper: str, family: str, metric: str, source: str,
          what: str) -> Row:
    """The metric rises along a family (by depth, or by width): ends clearly apart, no step clearly down."""
    key = (lambda a: arch_info(a).width) if family == 'width' else (lambda a: arch_info(a).depth)
    archs = sorted((a for a in results.archs(source=source, trainable='bn_only', family=family)
                    if results.get(a, 'bn_only', metric, source=source)), key=key)
    if family == 'width' and 'cifar_wide_resnet14_1' in archs and 'cifar_resnet14' in archs:
        archs.remove('cifar_resnet14')
    if len(archs) < 2:
        return Row(claim, paper, '-', '-', NOT_MEASURED, f'needs at least two BN-only networks of the {family} family')
    estimates = [results.get(a, 'bn_only', metric, source=source) for a in archs]
    steps = [sign(*difference(b, a)) for a, b in zip(estimates, estimates[1:])]
    ends = sign(*difference(estimates[-1], estimates[0]))
    verdict = FAILS if ends < 0 or any(s < 0 for s in steps) else HOLDS if ends > 0 else UNCLEAR
    return Row(claim, paper, ' → '.join(f'{_label(a)} {e.percent()}' for a, e in zip(archs, estimates)),
               _n_text(estimates), verdict, what)


NEEDS_THRESHOLD_0P01 = 'needs analysed BN-only cells with 0.01 among grid.analyze.thresholds'


def _analysed_bn_only(results: Results, metric: str) -> list[str]:
    """The networks whose analysed BN-only cells report ``metric``."""
    return [a for a in results.archs(source='analysis', trainable='bn_only')
            if results.get(a, 'bn_only', metric, source='analysis')]


def small_gammas(results: Results) -> Row:
    claim = 'BN-only training leaves many |γ| near 0: a quarter to a third of the features switched off.'
    paper = '27% of γ below 0.01 (CIFAR-10 ResNet-110), 33% (ImageNet ResNet-101)'
    metric = 'gamma.frac_abs_below.t0p01'
    archs = _analysed_bn_only(results, metric)
    if not archs:
        return Row(claim, paper, '-', '-', NOT_MEASURED, NEEDS_THRESHOLD_0P01)
    items, estimates = [], []
    for a in archs:
        e = results.get(a, 'bn_only', metric, source='analysis')
        other = results.get(a, 'all', metric, source='analysis')
        estimates.append(e)
        items.append((_label(a), e.percent() + (f' (all: {other.percent()})' if other else '')))
    bn_counts = [results.get(a, 'bn_only', 'batchnorm_params').mean for a in archs]
    index = max(range(len(archs)), key=lambda i: bn_counts[i])
    largest = estimates[index]
    s = sign(largest.mean - SMALL_GAMMA_SHARE, largest.se)
    verdict = HOLDS if s > 0 else FAILS if s < 0 else UNCLEAR
    return Row(claim, paper, _listing(items), _n_text(estimates), verdict,
               f'share of γ with |γ| < 0.01 in the analysed network with the most BatchNorm parameters '
               f'({_label(archs[index])}); holds at '
               f'{100 * SMALL_GAMMA_SHARE:.0f}% or more')


def clamping_harmless(results: Results) -> Row:
    claim = 'Setting those small γ to 0 barely changes accuracy (BN-only).'
    paper = 'little change up to |γ| < 0.01 and beyond (Figure 6)'
    metric = 'clamped.t0p01.delta'
    archs = _analysed_bn_only(results, metric)
    if not archs:
        return Row(claim, paper, '-', '-', NOT_MEASURED, NEEDS_THRESHOLD_0P01)
    estimates = [results.get(a, 'bn_only', metric, source='analysis') for a in archs]
    signs = [sign(e.mean + BARELY, e.se) for e in estimates]
    items = [(_label(a), f'{100 * e.mean:+.2f}' + (f' ± {100 * e.std:.2f}' if e.n > 1 else '') + ' points')
             for a, e in zip(archs, estimates)]
    return Row(claim, paper, _listing(items), _n_text(estimates), combine(signs),
               f'change in test accuracy after zeroing every γ with |γ| < 0.01; holds when no network loses '
               f'more than {100 * BARELY:.0f} point')


def dead_relus(results: Results) -> Row:
    claim = ('Far more ReLUs are dead (Pr[output = 0] > 0.99) under BN-only than with all parameters trained, '
             'where activations are not disabled.')
    paper = 'many dead under BN-only, almost none with all trained (Figure 7)'
    metric = 'dead_relu.fraction'
    archs = [a for a in results.archs(source='analysis', trainable='bn_only')
             if results.get(a, 'all', metric, source='analysis')]
    if not archs:
        return Row(claim, paper, '-', '-', NOT_MEASURED, 'needs analysed bn_only and all cells of the same network')
    signs, items, estimates = [], [], []
    for a in archs:
        bn, everything = (results.get(a, t, metric, source='analysis') for t in ('bn_only', 'all'))
        estimates += [bn, everything]
        signs.append(sign(*difference(bn, everything)))
        signs.append(sign(FEW_DEAD - everything.mean, everything.se))
        items.append((_label(a), f'BN-only {bn.percent()}, all {everything.percent()}'))
    return Row(claim, paper, _listing(items), _n_text(estimates), combine(signs),
               f'dead ReLU channels; holds when BN-only is clearly above all in every network and all stays '
               f'under {100 * FEW_DEAD:.0f}%')


def all_claims(results: Results) -> list[Row]:
    cost = 'too deep for the CPU profile; run the paper grid (params/paper_cifar10.yaml) on a GPU'
    return [
        paper_number(results, claim='Deep ResNets trained BatchNorm-only reach 82% on CIFAR-10 (ResNet-866).',
                     paper='82% (ResNet-866)', dataset='cifar10', arch='cifar_resnet866', trainable='bn_only',
                     metric='test_accuracy', target=0.82, cost_note=cost),
        paper_number(results, claim='... and 32% top-5 on ImageNet (ResNet-200).', paper='32% top-5 (ResNet-200)',
                     dataset='imagenet', arch='resnet200', trainable='bn_only', metric='test_top5_accuracy',
                     target=0.32, cost_note='run params/paper_imagenet.yaml'),
        paper_number(results, claim='BN-only ResNet-14 reaches about 48% on CIFAR-10 (secondary sources).',
                     paper='≈ 48% (ResNet-14)', dataset='cifar10', arch='cifar_resnet14', trainable='bn_only',
                     metric='test_accuracy', target=0.48, cost_note=cost),
        paper_number(results, claim='BN-only ResNet-110 reaches about 69.5% on CIFAR-10 (secondary sources).',
                     paper='≈ 69.5% (ResNet-110)', dataset='cifar10', arch='cifar_resnet110', trainable='bn_only',
                     metric='test_accuracy', target=0.695, cost_note=cost),
        all_trained_range(results),
        bn_vs_random(results),
        rises(results, claim='BN-only accuracy rises with depth.', paper='rises from ResNet-14 to ResNet-866 '
              '(Figures 2, 3)', family='deep', metric='test_accuracy', source='train',
              what='BN-only test accuracy along the deep family; holds when the deepest is clearly above the '
                   'shallowest and no step is clearly down'),
        rises(results, claim='BN-only accuracy rises with width.', paper='rises from WRN-14-1 to WRN-14-32 '
              '(Figures 2, 3)', family='width', metric='test_accuracy', source='train',
              what='BN-only test accuracy along the wide family (ResNet-14 = WRN-14-1); same rule'),
        gamma_beta_worth(results),
        depth_beats_width(results),
        small_gammas(results),
        rises(results, claim='The share of small γ grows with depth (BN-only).', paper='grows with depth '
              '(Figure 5)', family='deep', metric='gamma.frac_abs_below.t0p01', source='analysis',
              what='share of γ with |γ| < 0.01 along the deep family; same rule'),
        rises(results, claim='The share of small γ grows with width (BN-only).', paper='grows with width '
              '(Figure 5)', family='width', metric='gamma.frac_abs_below.t0p01', source='analysis',
              what='share of γ with |γ| < 0.01 along the wide family; same rule'),
        clamping_harmless(results),
        dead_relus(results),
    ]


def _escape(text: str) -> str:
    return str(text).replace('|', '\\|').replace('\n', ' ')


def to_markdown(rows: list[Row], profile: dict) -> str:
    dataset = DATASET_LABELS.get(profile.get('dataset'), str(profile.get('dataset')))
    images = profile.get('train_images')
    images = f'{images:,}' if isinstance(images, int) else str(images)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    tally = ', '.join(f'{counts[v]} {v}' for v in (HOLDS, FAILS, UNCLEAR, NOT_MEASURED) if v in counts)
    epochs = profile.get('epochs')
    lines = [
        '# The paper\'s claims against our measurements',
        '',
        f'Grid: {dataset}, {epochs} epoch{"" if epochs == 1 else "s"} on {images} training images, '
        f'{profile.get("seeds")} seeds, {profile.get("cells_trained")} trained and '
        f'{profile.get("cells_analysed")} analysed cells. Verdicts: {tally}.',
        '',
        f'Verdicts are computed by `bnonly.paper.claims` from reports/grid_summary.csv: **holds** when the '
        f'claimed effect is clearly there (beyond {Z:g} standard errors of the difference over seeds) in every '
        f'network measured, **does not hold** when it is clearly reversed, **inconclusive** when the seeds '
        f'disagree, **not measured** when the grid has no cells for it. A paper accuracy counts as reproduced '
        f'within {100 * TOLERANCE:.0f} points. Measurements are mean ± sample std over seeds. The paper trains '
        f'160 epochs (CIFAR-10) or 90 (ImageNet) on the whole training set: where our grid trains less, sizes '
        f'(a share of small γ, a gap in points) are not on the same footing, and the rule column says what '
        f'the verdict tests.',
        '',
        '| # | Claim (paper) | Paper | Ours | n | Verdict | How it is decided / why not measured |',
        '|---|---|---|---|---|---|---|',
    ]
    for index, row in enumerate(rows, 1):
        lines.append(f'| {index} | {_escape(row.claim)} | {_escape(row.paper)} | {_escape(row.measured)} | '
                     f'{_escape(row.n)} | **{row.verdict}** | {_escape(row.why)} |')
    return '\n'.join(lines) + '\n'


def to_frame(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame([vars(row) for row in rows])

