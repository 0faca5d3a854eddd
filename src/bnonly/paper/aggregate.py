"""Every grid cell's results gathered into tidy tables, and summarised over seeds.

Inputs, per cell (bnonly.paper.grid): ``train/metrics.json`` and ``train/config.yaml`` (stage train), and for
analysed cells ``analyze/metrics.json`` and ``analyze/tables/bn_values.csv`` (stage analyze).

Outputs (fixed paths, written by stages/aggregate.py):

- ``cells`` (reports/grid_cells.csv), one row per cell and metric:
  arch, trainable, norm_init, seed, run, norm_layer, weight_init, k, source ('train' or
  'analysis'), metric, value. ``run`` is the cell's run as grid.yaml writes it (bnonly.paper.grid: with its
  variant tokens, if any), the one key that tells two runs of a network and set apart (Figure 1's
  ``<arch>-all-fixed`` from ``<arch>-all``); norm_init, norm_layer, weight_init and k are what the
  cell trained with, from its config.yaml (k is recorded for every set, used only by the random_k sets; a ViT's
  norm_layer is layernorm, the normalisation it is built with).
  Analysis metrics are flattened with dots (``gamma.frac_abs_below.t0p01``, ``clamped.t0p05.delta``,
  ``dead_relu.fraction``; schema in bnonly.analysis.metrics); accuracies and fractions in [0, 1].
- ``summary`` (reports/grid_summary.csv), one row per (arch, trainable, norm_init, source, metric, run,
  norm_layer, weight_init, k): mean, std
  (sample standard deviation over seeds, empty when n = 1), n, ci95 (the half-width of the 95% confidence
  interval of the mean, Student's t with n - 1 degrees of freedom; what the figures' error bars show), plus the architecture's family, depth,
  width, label and BatchNorm parameter count; the run and its settings last.
- ``bn_values`` (results/grid_bn_values.csv): every trained γ and β of every analysed cell
  (arch, trainable, seed, layer, channel, gamma, beta, run), for Figures 4 and 5 to bin as they like.
- ``history`` (results/grid_history.csv): every trained cell's ``train/history.csv``, one row per epoch, with
  the cell's keys in front (the share of small γ after each epoch: Figure 8).
- ``summary_json`` (results/grid_summary.json, a DVC metrics file): the headline numbers as
  ``<arch>.<trainable>.<metric>.{mean,std,n}`` for the paper's runs, ``<run>.<metric>...`` for runs with
  variants (a run string holds no dot), plus ``profile`` (what the cells ran on).

A partial grid (a cell whose stage failed, e.g. a diverged run under ``dvc repro --keep-going``) is aggregated
over the cells that have results, never silently: ``profile.cells_missing`` lists the DVC stages whose results
are absent (a trained cell's missing analysis included; an analysis whose cell has no training results
counts as missing, whatever files it left) and ``profile.complete`` is false; the stage prints them; the
claims stage refuses such a grid. A cell folder written for another cell is still an error.
"""
import json
import math
from pathlib import Path

import pandas as pd
import yaml
from scipy import stats

from bnonly import atomic
from bnonly.paper.grid import Cell, GridError, analysed_cells, arch_info, train_cells
from bnonly.settings import ModelSettings, default

# A cell's keys. The run and its settings were added later: every table has them last, after the columns it
# had before, so that readers of those see them unchanged.
SETTINGS = ['norm_layer', 'weight_init', 'k']
RUN_KEYS = ['run', *SETTINGS]
KEYS = ['arch', 'trainable', 'norm_init', 'seed', *RUN_KEYS]
SUMMARY_KEYS = ['arch', 'trainable', 'norm_init', 'source', 'metric', *RUN_KEYS]
# The summary JSON keeps the numbers the figures and claims use, so `dvc metrics diff` stays readable.
JSON_METRICS = {('train', 'test_accuracy'), ('train', 'test_top5_accuracy'), ('analysis', 'dead_relu.fraction')}
JSON_PREFIXES = (('analysis', 'gamma.frac_abs_below.'), ('analysis', 'clamped.'))


def _read_json(path: Path) -> dict | None:
    """The file's content, or None when it is absent (a missing cell: collect lists its stage)."""
    return json.loads(path.read_text()) if path.is_file() else None


def flatten(metrics: dict, prefix: str = '') -> dict[str, float]:
    """Nested numbers as dotted keys; strings (e.g. the dead-ReLU granularity) are left out."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f'{prefix}{key}.'))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f'{prefix}{key}'] = float(value)
    return flat


def trained_settings(config: dict) -> dict:
    """norm_init and SETTINGS as a cell's config.yaml records them. RunSpec leaves norm_layer out while it
    is the default (batchnorm), and a network with its own normalisation (the ViT's LayerNorms) reports that;
    a key missing otherwise (an older file) is None."""
    run = config['run']
    values = {key: run.get(key) for key in ['norm_init', *SETTINGS]}
    values['norm_layer'] = (arch_info(run['arch']).builtin_norm or values['norm_layer']
                            or default(ModelSettings, 'norm_layer'))
    return values


def _check_config(cell: Cell, root: Path) -> dict | None:
    """The cell's config.yaml, once it is known to describe this cell: its run, seed and every setting its run
    names (a folder left from another grid.yaml is refused rather than counted); None when it is absent."""
    path = root / cell.train_dir / 'config.yaml'
    if not path.is_file():
        return None
    config = yaml.safe_load(path.read_text())
    recorded = {**config['run'], **trained_settings(config)}
    wanted = {'arch': cell.arch, 'trainable': cell.trainable, 'seed': cell.seed,
              'norm_init': cell.norm_init, **cell.variants}  # a norm_init variant is the same value
    found = {key: recorded.get(key) for key in wanted}
    if found != wanted:
        raise GridError(f'{path} describes {found}, not the cell {wanted}: rerun `dvc repro {cell.train_stage}`')
    return config


def collect(grid: dict, root: str | Path = '.') -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(cells, bn_values, history, profile) for the cells the grid section declares; other folders are
    ignored. Cells without results are left out and named in ``profile['cells_missing']`` (module doc)."""
    root = Path(root)
    rows, configs, histories, settings = [], [], [], {}  # settings: by cell folder, what each trained with
    missing = []  # the stages whose results are absent, in the order dvc.yaml declares them
    for cell in train_cells(grid):
        config = _check_config(cell, root)
        metrics = _read_json(root / cell.train_dir / 'metrics.json')
        if config is None or metrics is None:
            missing.append(cell.train_stage)
            continue
        configs.append(config)
        trained = settings[cell.folder] = trained_settings(config)
        rows += [_row(cell, trained, 'train', metric, value) for metric, value in flatten(metrics).items()]
        history_path = root / cell.train_dir / 'history.csv'
        if history_path.is_file():
            keys = {key: value for key, value in _row(cell, trained, '', '', math.nan).items() if key in KEYS}
            histories.append(pd.read_csv(history_path).assign(**keys))
    frames = []
    for cell in analysed_cells(grid):
        metrics = _read_json(root / cell.analyze_dir / 'metrics.json')
        values_path = root / cell.analyze_dir / 'tables' / 'bn_values.csv'
        # An analysis left from before its cell last failed to train describes a model that is gone.
        if cell.folder not in settings or metrics is None or not values_path.is_file():
            missing.append(cell.analyze_stage)
            continue
        trained = settings[cell.folder]
        rows += [_row(cell, trained, 'analysis', metric, value) for metric, value in flatten(metrics).items()]
        values = pd.read_csv(values_path)
        frames.append(values.assign(arch=cell.arch, trainable=cell.trainable, seed=cell.seed, run=cell.run))
    cells = _typed(pd.DataFrame(rows, columns=_last(KEYS + ['source', 'metric', 'value'])))
    columns = ['arch', 'trainable', 'seed', 'layer', 'channel', 'gamma', 'beta', 'run']
    bn_values = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    history = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame(columns=KEYS + ['epoch'])
    history = _typed(history[_last(KEYS + [c for c in history.columns if c not in KEYS])])
    return cells, bn_values, history, profile(configs, cells, grid, missing)


def _last(columns: list[str]) -> list[str]:
    """``columns`` with RUN_KEYS moved to the end."""
    return [c for c in columns if c not in RUN_KEYS] + RUN_KEYS


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    # An integer column that may be empty (an older config.yaml): written as 2, not 2.0.
    return table.astype({'k': 'Int64'})


def _row(cell: Cell, settings: dict, source: str, metric: str, value: float) -> dict:
    return dict(arch=cell.arch, trainable=cell.trainable, norm_init=cell.norm_init,
                seed=cell.seed, run=cell.run, **{key: settings[key] for key in SETTINGS}, source=source,
                metric=metric, value=value)


def _single(values: set):
    """The value every cell agrees on, else the sorted list of values (a mixed grid shows as a list)."""
    if len(values) == 1:
        return next(iter(values))
    return sorted(values, key=str) if values else None


def profile(configs: list[dict], cells: pd.DataFrame, grid: dict, missing: list[str] = ()) -> dict:
    """What the cells actually ran on, from their config.yaml files, how long training took, and which
    stages' results were missing (``missing``)."""
    runs = [config['run'] for config in configs]
    data = [config.get('data', {}) for config in configs]
    images = [run['examples'] if run.get('examples') else d.get('train_size') for run, d in zip(runs, data)]
    steps = {run['epochs'] * math.ceil(n / run['batch_size']) for run, n in zip(runs, images) if n}
    seconds = cells[(cells.source == 'train') & (cells.metric == 'train_seconds')]['value']
    return {
        'dataset': _single({d.get('dataset') for d in data}),
        'epochs': _single({run['epochs'] for run in runs}),
        'train_images': _single(set(images)),
        'steps': _single(steps),
        'test_images': _single({d.get('test_size') for d in data}),
        'seeds': len(grid['seeds']),
        'cells_trained': len(runs),
        'cells_analysed': int(cells[cells.source == 'analysis'][KEYS].drop_duplicates().shape[0]),
        'train_seconds_total': float(seconds.sum()),
        'complete': not missing,
        'cells_missing': list(missing),
    }


def partial_grid_message(profile_: dict) -> str | None:
    """One line naming the stages without results, for the stages that read a partial grid; None if complete."""
    missing = profile_.get('cells_missing') or []
    if not missing:
        return None
    return (f'partial grid: {len(missing)} stage{"s" if len(missing) > 1 else ""} without results: '
            f'{", ".join(missing)}')


def ci95(std, n):
    """Half-width of the 95% t confidence interval of a mean over n seeds (NaN when n < 2)."""
    n = pd.Series(n, dtype=float)
    half = stats.t.ppf(0.975, (n - 1).where(n > 1)) * pd.Series(std, dtype=float).to_numpy() / n.pow(0.5)
    return half.to_numpy()


def summarize(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std (NaN when n = 1) and n over seeds, per (arch, trainable, source, metric) and run
    (SUMMARY_KEYS)."""
    if 'run' not in cells:  # a cells table from before runs had variants: the paper's runs, settings unrecorded
        cells = cells.assign(run=cells.arch + '-' + cells.trainable, **{key: None for key in SETTINGS})
    grouped = cells.groupby(SUMMARY_KEYS, sort=False, dropna=False)['value']  # a setting may be unrecorded
    summary = grouped.agg(mean='mean', std=lambda v: v.std(ddof=1) if len(v) > 1 else math.nan,
                          n='count').reset_index()
    summary['ci95'] = ci95(summary['std'], summary['n'])
    # Per run: a norm_layer variant may count its normalisation's parameters differently from the paper's net.
    bn = cells[(cells.source == 'train') & (cells.metric == 'batchnorm_params')].groupby('run')['value'].first()
    info = pd.DataFrame([vars(arch_info(arch)) for arch in summary['arch'].unique()])
    summary = summary.merge(info, on='arch', how='left')
    summary['batchnorm_params'] = summary['run'].map(bn).astype('Int64')
    return summary[['arch', 'label', 'family', 'depth', 'width', 'batchnorm_params', 'trainable',
                    'norm_init', 'source', 'metric', 'mean', 'std', 'n', 'ci95', 'run', *SETTINGS]]


def _keep_in_json(source: str, metric: str) -> bool:
    if (source, metric) in JSON_METRICS:
        return True
    if source == 'analysis' and metric.startswith('clamped.'):
        return metric.endswith('.delta')
    return any(source == s and metric.startswith(p) for s, p in JSON_PREFIXES)


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def summary_json(summary: pd.DataFrame, profile_: dict) -> dict:
    """Nested ``arch -> trainable -> metric path -> {mean, std, n}`` (DVC joins keys with dots); a run with
    variants is ``run -> ...``, so that it never lands on its paper run's numbers."""
    result = {'profile': profile_}
    for row in summary.itertuples(index=False):
        if not _keep_in_json(row.source, row.metric):
            continue
        if row.run == f'{row.arch}-{row.trainable}':
            node = result.setdefault(row.arch, {}).setdefault(row.trainable, {})
        else:
            node = result.setdefault(row.run, {})
        for part in row.metric.split('.'):
            node = node.setdefault(part, {})
        node.update(mean=_number(float(row.mean)), std=_number(float(row.std)), n=int(row.n))
    return result


def write(grid: dict, root: str | Path, *, cells_csv: Path, summary_csv: Path, bn_values_csv: Path,
          history_csv: Path, summary_json_path: Path) -> pd.DataFrame:
    """Collect, summarise and write every table; returns the summary (the profile is in the summary JSON).
    GridError when no cell has results (there is nothing to summarise)."""
    cells, bn_values, history, profile_ = collect(grid, root)
    if cells.empty:
        raise GridError(f'none of the grid\'s {len(profile_["cells_missing"])} stages has results yet: run `dvc repro`')
    summary = summarize(cells)
    atomic.write_text(cells_csv, cells.to_csv(index=False))
    atomic.write_text(summary_csv, summary.to_csv(index=False))
    atomic.write_text(bn_values_csv, bn_values.to_csv(index=False))
    atomic.write_text(history_csv, history.to_csv(index=False))
    atomic.write_text(summary_json_path, json.dumps(summary_json(summary, profile_), indent=2) + '\n')
    return summary
