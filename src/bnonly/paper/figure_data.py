"""What the paper's figures plot, selected from the aggregated grid (bnonly.paper.aggregate), and their captions.

Each table here is one figure's data, as means over seeds with n and the half-width of the 95% t interval of
the mean (``ci95``); bnonly.paper.figures draws them. Figures 4-7 compare BN-only with all first
(``COMPARED``); Figure 8 traces the share of small |γ| over training for the sets that train γ (``TRACED``).
Every figure plots the paper's runs (bnonly.paper.grid.paper_runs) except Figure 1, which plots the runs of
``FIXED``: the same sets with γ = 1, β = 0 at init.
"""
import numpy as np
import pandas as pd

from bnonly.paper import plotting
from bnonly.paper.aggregate import ci95
from bnonly.paper.grid import arch_info, paper_runs, variant_runs
from bnonly.paper.names import dataset_label, key_threshold

COMPARED = ('bn_only', 'all')  # Figures 4-7
HISTORY_GAMMA = 'gamma_frac_abs_below_'   # history.csv columns: the share of |γ| < t after each epoch
TRACED = ('bn_only', 'all')
CI_BARS = 'bars: 95% t-interval of the mean'
FIXED = 'fixed'   # Figure 1's variant token: model.norm_init=fixed, γ = 1 and β = 0 at init


def rows(summary: pd.DataFrame, source: str, metric: str | None = None) -> pd.DataFrame:
    """The paper's runs' rows of ``source`` (and ``metric``, when given)."""
    summary = paper_runs(summary)
    match = summary.source == source
    return summary[match & (summary.metric == metric) if metric is not None else match]


def fixed_rows(summary: pd.DataFrame, source: str) -> pd.DataFrame:
    """Figure 1's rows of ``source``: the runs ``<arch>-<trainable>-fixed``."""
    summary = variant_runs(summary, FIXED)
    return summary[summary.source == source]


def arch_order(archs) -> list[str]:
    return sorted(set(archs), key=lambda arch: arch_info(arch).sort_key)


def trainable_order(trainables) -> list[str]:
    known = [t for t in plotting.TRAINABLE_ORDER if t in set(trainables)]
    return known + sorted(set(trainables) - set(known))


def family_panels(data: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(title, x label, rows with an ``x`` column) for the depth, width and ImageNet-depth families present."""
    panels = []
    deep = data[data.family == 'deep'].assign(x=lambda d: d.depth)
    if deep.arch.nunique() > 0:
        panels.append(('Depth: ResNet-D', 'depth D (layers)', deep))
    wide = data[(data.family == 'wide') | ((data.family == 'deep') & (data.depth == 14))].assign(x=lambda d: d.width)
    if (wide.family == 'wide').any():
        if (wide.arch == 'cifar_wide_resnet14_1').any():  # the same network as ResNet-14: keep one
            wide = wide[wide.arch != 'cifar_resnet14']
        panels.append(('Width: WRN-14-W', 'width multiplier W (channels x W)', wide))
    imagenet = data[data.family == 'imagenet'].assign(x=lambda d: d.depth)
    if imagenet.arch.nunique() > 0:
        panels.append(('ImageNet: ResNet-D', 'depth D (layers)', imagenet))
    return panels


def random_k(summary: pd.DataFrame) -> int | None:
    """k of the random_k sets, from their trainable count (k per conv output channel = k per BN channel)."""
    trained = rows(summary, 'train', 'trainable_params')
    trained = trained[trained.trainable == 'random_k']
    if trained.empty:
        return None
    row = trained.iloc[0]
    return int(round(row['mean'] / (row['batchnorm_params'] / 2)))



def caption_text(profile: dict, n_values, extra: str = '', *, spread: str = CI_BARS) -> str:
    dataset = profile.get('dataset')
    name = dataset_label(dataset)
    train_images = profile.get('train_images')
    images = f'{train_images:,}' if isinstance(train_images, int) else str(train_images)
    n = sorted({int(v) for v in n_values}) or [0]
    seeds = f'n = {n[0]} seeds' if len(n) == 1 else f'n = {n[0]}-{n[-1]} seeds'
    spread = f'; {spread}' if max(n) > 1 else '; n = 1: no spread'
    epochs = profile.get('epochs')
    steps = f' ({profile["steps"]:,} SGD steps)' if isinstance(profile.get('steps'), int) else ''
    text = (f'{name}, {epochs} epoch{"" if epochs == 1 else "s"} on {images} training images{steps}; '
            f'mean of {seeds}{spread}')
    return text + (f'. {extra}' if extra else '')


def compared_first(trainables) -> list[str]:
    """The trainable sets present, BN-only and all first (Figures 4-7), then in the usual order."""
    present = set(trainables)
    return [t for t in COMPARED if t in present] + [t for t in trainable_order(present) if t not in COMPARED]


def gamma_fractions(bn_values: pd.DataFrame, thresholds) -> pd.DataFrame:
    """Per (arch, trainable): mean, std and n over seeds of the fraction of |γ| < t, for each threshold."""
    records = []
    for (arch, trainable, seed), rows in bn_values.groupby(['arch', 'trainable', 'seed']):
        magnitude = rows['gamma'].abs().to_numpy()
        records += [dict(arch=arch, trainable=trainable, seed=seed, threshold=float(t),
                         fraction=float((magnitude < t).mean())) for t in thresholds]
    table = pd.DataFrame(records, columns=['arch', 'trainable', 'seed', 'threshold', 'fraction'])
    table = (table.groupby(['arch', 'trainable', 'threshold'])['fraction']
             .agg(mean='mean', std=lambda v: v.std(ddof=1) if len(v) > 1 else np.nan, n='count').reset_index())
    return table.assign(ci95=ci95(table['std'], table['n']))


def clamping_table(summary: pd.DataFrame, prefix: str = 'clamped') -> pd.DataFrame:
    table = rows(summary, 'analysis')
    table = table[table.metric.str.fullmatch(prefix + r'\.t[^.]+\.delta')].copy()
    table['threshold'] = table.metric.str.split('.').str[1].map(key_threshold)
    return table


def gamma_history(history: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, trainable, threshold, epoch): mean, std, n and ci95 over seeds of the share of |γ| < t,
    for the paper's runs of the sets that train γ (BN-only and all)."""
    columns = [c for c in history.columns if c.startswith(HISTORY_GAMMA)]
    cells = paper_runs(history)
    cells = cells[cells.trainable.isin(TRACED)]
    if not columns or cells.empty:
        return pd.DataFrame(columns=['arch', 'trainable', 'threshold', 'epoch', 'mean', 'std', 'n', 'ci95'])
    long = cells.melt(id_vars=['arch', 'trainable', 'seed', 'epoch'], value_vars=columns, var_name='column',
                      value_name='share').dropna(subset=['share'])
    long['threshold'] = long.column.str.removeprefix(HISTORY_GAMMA).map(key_threshold)
    table = (long.groupby(['arch', 'trainable', 'threshold', 'epoch'])['share']
             .agg(mean='mean', std=lambda v: v.std(ddof=1) if len(v) > 1 else np.nan, n='count').reset_index())
    return table.assign(ci95=ci95(table['std'], table['n']))
