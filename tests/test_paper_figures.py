"""Every figure is drawn, as PNG and PDF, from a small synthetic aggregate (and from awkward ones)."""
import json

import pandas as pd
import pytest

from bnonly.paper import aggregate, figures, plotting
from bnonly.paper.figure_data import family_panels, fixed_rows, gamma_fractions, gamma_history, rows
from bnonly.paper.figures import FIGURES, NEEDS_BN_VALUES, NEEDS_HISTORY, draw
from bnonly.paper.synthetic import write_grid

SETTINGS = {'dpi': 60, 'histogram_bins': 12, 'gamma_thresholds': [0.005, 0.01, 0.1, 0.5]}
def product(archs, trainables):
    return [f'{arch}-{trainable}' for arch in archs for trainable in trainables]


FIXED = product(['cifar_resnet14', 'cifar_wide_resnet14_2'], ['all-fixed', 'all_but_bn-fixed'])  # Figure 1's
GRID = {'runs': product(['cifar_resnet14', 'cifar_resnet20', 'cifar_wide_resnet14_2'],
                        ['all', 'bn_only', 'random_k', 'output_only']) + FIXED, 'seeds': [0, 1],
        'analyze_runs': product(['cifar_resnet14', 'cifar_resnet20', 'cifar_wide_resnet14_2'], ['all', 'bn_only']),
        'analyze': {'thresholds': [0.01, 0.05]}}
PNG, PDF = b'\x89PNG\r\n\x1a\n', b'%PDF'


def aggregated(tmp_path, grid=GRID, dataset='fashion_mnist'):
    root = tmp_path / 'grid'
    write_grid(grid, root)
    if dataset != 'fashion_mnist':  # the synthetic cells say which data set they ran on
        from bnonly.paper.grid import train_cells
        from bnonly.paper.synthetic import write_cell
        for cell in train_cells(grid):
            write_cell(cell, root, dataset=dataset)
    out = tmp_path / 'aggregated'
    aggregate.write(grid, root, cells_csv=out / 'cells.csv', summary_csv=out / 'summary.csv',
                    bn_values_csv=out / 'bn.csv', history_csv=out / 'history.csv',
                    summary_json_path=out / 'summary.json')
    return (pd.read_csv(out / 'summary.csv'), pd.read_csv(out / 'bn.csv'),
            json.loads((out / 'summary.json').read_text())['profile'], pd.read_csv(out / 'history.csv'))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return aggregated(tmp_path_factory.mktemp('figures'))


@pytest.mark.parametrize('number', sorted(FIGURES))
def test_each_figure_writes_png_and_pdf(data, tmp_path, number):
    summary, bn_values, profile, history = data
    paths = draw(number, summary, bn_values if number in NEEDS_BN_VALUES else None, profile, SETTINGS,
                 tmp_path / f'figure{number}', history if number in NEEDS_HISTORY else None)
    assert [p.name for p in paths] == [f'figure{number}.png', f'figure{number}.pdf']
    assert paths[0].read_bytes()[:8] == PNG and paths[1].read_bytes()[:4] == PDF
    assert paths[0].stat().st_size > 5000  # something was drawn


@pytest.mark.parametrize('number', sorted(FIGURES))
def test_figures_are_byte_identical_when_redrawn(data, tmp_path, number):
    """No timestamps in the files: an unchanged figure does not show up as changed in git."""
    summary, bn_values, profile, history = data
    first = draw(number, summary, bn_values, profile, SETTINGS, tmp_path / 'a', history)
    second = draw(number, summary, bn_values, profile, SETTINGS, tmp_path / 'b', history)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_figure_titles_axes_and_legends(data):
    summary, bn_values, profile, history = data
    for number, build in FIGURES.items():
        figure = build(summary, bn_values, profile, SETTINGS, *([history] if number in NEEDS_HISTORY else []))
        assert figure.get_suptitle().startswith(f'Figure {number}:')
        axes = [axis for axis in figure.axes if axis.has_data()]
        assert axes, f'figure {number} drew nothing'
        assert any(axis.get_legend() is not None for axis in axes), f'figure {number} has no legend'
        for axis in axes:
            assert axis.get_xlabel() and (axis.get_ylabel() or axis is not axes[0]), f'figure {number}'


def test_figure1_plots_the_fixed_runs_and_the_others_the_papers(data):
    """Figure 1 is all vs all_but_bn with γ = 1, β = 0 at init: the -fixed runs, never the paper-initialised
    all; every other figure plots the paper's runs, never a -fixed one."""
    summary, bn_values, profile, _ = data
    assert set(fixed_rows(summary, 'train').run) == set(FIXED)
    assert set(rows(summary, 'train').run) == set(GRID['runs']) - set(FIXED)
    legend = lambda figure: {text.get_text() for axis in figure.axes if axis.get_legend()  # noqa: E731
                             for text in axis.get_legend().get_texts()}
    first, second = (build(summary, bn_values, profile, SETTINGS) for build in (figures.figure1, figures.figure2))
    assert legend(first) == {plotting.trainable_label('all'), plotting.trainable_label('all_but_bn')}
    assert plotting.trainable_label('all_but_bn') not in legend(second)
    accuracy = summary[(summary.run == 'cifar_resnet14-all-fixed') & (summary.metric == 'test_accuracy')]['mean']
    drawn = [100 * accuracy.iloc[0] in line.get_ydata() for line in first.axes[0].get_lines()]
    assert any(drawn)


def test_panels_follow_the_families(data):
    summary, _, _, _ = data
    accuracy = summary[(summary.source == 'train') & (summary.metric == 'test_accuracy')]
    titles = [title for title, _, _ in family_panels(accuracy)]
    assert titles == ['Depth: ResNet-D', 'Width: WRN-14-W']
    width = family_panels(accuracy)[1][2]
    assert set(width.x) == {1, 2}  # ResNet-14 is WRN-14-1


def test_error_bars_where_seeds_vary(data):
    summary, bn_values, profile, _ = data
    figure = figures.figure2(summary, bn_values, profile, SETTINGS)
    bars = [c for axis in figure.axes for c in axis.containers if getattr(c, 'has_yerr', False)]
    assert bars and all(c.has_yerr for c in bars)


def test_gamma_fractions_per_seed(data):
    _, bn_values, _, _ = data
    table = gamma_fractions(bn_values, [0.01, 0.5])
    assert set(table.columns) == {'arch', 'trainable', 'threshold', 'mean', 'std', 'n', 'ci95'}
    assert (table.n == 2).all() and table['mean'].between(0, 1).all()
    one = bn_values[(bn_values.arch == 'cifar_resnet14') & (bn_values.trainable == 'bn_only')]
    expected = one.groupby('seed').gamma.apply(lambda g: (g.abs() < 0.5).mean()).mean()
    got = table[(table.arch == 'cifar_resnet14') & (table.trainable == 'bn_only') & (table.threshold == 0.5)]
    assert got['mean'].iloc[0] == pytest.approx(expected)


def test_a_grid_without_figure1_cells_or_analyses_still_draws(tmp_path):
    grid = dict(GRID, runs=['cifar_resnet14-bn_only', 'cifar_resnet14-all-fixed'],
                analyze_runs=['cifar_resnet14-bn_only'], seeds=[0])
    summary, bn_values, profile, history = aggregated(tmp_path, grid)
    for number in FIGURES:
        paths = draw(number, summary, bn_values, profile, SETTINGS, tmp_path / f'f{number}', history)
        assert paths[0].read_bytes()[:8] == PNG


def test_imagenet_grid_has_top5_panels(tmp_path):
    grid = dict(GRID, runs=product(['resnet18', 'resnet34'], ['all', 'bn_only'])
                + product(['resnet18'], ['all-fixed', 'all_but_bn-fixed']),
                analyze_runs=product(['resnet18', 'resnet34'], ['bn_only']))
    summary, bn_values, profile, _ = aggregated(tmp_path, grid, dataset='imagenet')
    figure = figures.figure2(summary, bn_values, profile, SETTINGS)
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ['ImageNet: ResNet-D (top-1)', 'ImageNet: ResNet-D (top-5)']
    draw(3, summary, bn_values, profile, SETTINGS, tmp_path / 'f3')  # no CIFAR family: a 'no data' panel


def test_figure4_needs_the_values(data, tmp_path):
    summary, _, profile, _ = data
    with pytest.raises(ValueError, match='needs the γ/β values'):
        draw(4, summary, None, profile, SETTINGS, tmp_path / 'f4')
    with pytest.raises(ValueError, match='needs the training histories'):
        draw(8, summary, None, profile, SETTINGS, tmp_path / 'f8')


def test_gamma_history_averages_the_seeds_per_epoch(data):
    history = data[3]
    table = gamma_history(history)
    assert set(table.trainable) == {'all', 'bn_only'} and (table.n == 2).all()
    cells = history[(history.run == 'cifar_resnet20-bn_only') & (history.epoch == 2)]
    got = table[(table.arch == 'cifar_resnet20') & (table.trainable == 'bn_only') & (table.epoch == 2)
                & (table.threshold == 0.1)]
    assert got['mean'].iloc[0] == pytest.approx(cells['gamma_frac_abs_below_t0p1'].mean())
