"""The checkpoint analysis on the package's extensions: GroupNorm and LayerNorm ResNet-14, the ViT (GELU, no
ReLU), a norm without β; and on a BatchNorm network exactly the BatchNorm-only reading. Tiny models, CPU.
"""
import copy
import math

import pandas as pd
import pytest
import torch
from torch import nn

from bnonly import TRAINABLE_SETS
from bnonly.analysis import AnalysisSettings, analyze_model
from bnonly.analysis.batchnorm import collect_affine
from bnonly.analysis.clamping import clamp_gammas, random_control_generator, zero_random_gammas
from bnonly.analysis.dead_relu import NOT_APPLICABLE, dead_relus, relu_sites, relu_zero_pass
from bnonly.analysis.evaluation import accuracy
from bnonly.analysis.plots import FIGURES, dead_relu_figure, histogram_figure
from bnonly.analysis.metrics import analysis_metrics
from bnonly.analysis.tables import TABLES, write_tables
from bnonly.census import census
from bnonly.models import create_model
from bnonly.norms import batchnorm_layers, fraction_abs_below, norm_layers
from bnonly.paper import plotting

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py

# Under the paper's γ ~ U[0, 1) about 5% and 30% of γ lie below these: both clamps zero some γ, not all.
SETTINGS = AnalysisSettings(thresholds=(0.05, 0.3), histogram_bins=4)
KEYS = ('t0p05', 't0p3')


def batches(count: int = 16, batch: int = 8, size: int = 8, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(count, 1, size, size, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return list(zip(images.split(batch), labels.split(batch)))


def resnet14(norm_layer: str = 'batchnorm') -> nn.Module:
    return create_model('cifar_resnet14', num_classes=10, in_chans=1, seed=0, norm_layer=norm_layer).eval()


# name -> (network, its test batches); the ViT takes 28x28 inputs only.
NETWORKS = {
    'groupnorm': lambda: (resnet14('groupnorm'), batches()),
    'layernorm': lambda: (resnet14('layernorm'), batches()),
    'vit': lambda: (create_model('vit_fmnist_tiny', num_classes=10, in_chans=1, seed=0).eval(), batches(size=28)),
}
# ResNet-14: the stem ReLU (16 channels), then 2 blocks x 2 ReLUs in each of the 16-, 32- and 64-wide stages.
RESNET14_RELU_CHANNELS = 16 + 4 * (16 + 32 + 64)


def flat_gammas(model: nn.Module) -> torch.Tensor:
    return torch.cat([module.weight.detach().flatten() for _, module in norm_layers(model)])


@pytest.fixture(scope='module', params=sorted(NETWORKS))
def analysed(request):
    model, data = NETWORKS[request.param]()
    before = copy.deepcopy(model.state_dict())
    analysis = analyze_model(model, data, SETTINGS, show_progress=False)
    # The analysis reads and copies; the network itself ends as it came.
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    return request.param, model, data, analysis


def test_every_normalisation_layer_is_read(analysed):
    name, model, _, analysis = analysed
    layers = norm_layers(model)
    assert layers and not batchnorm_layers(model)
    assert analysis.affine.layers == tuple(layer for layer, _ in layers)
    assert torch.equal(analysis.affine.values('gamma'), flat_gammas(model))
    assert torch.equal(analysis.affine.values('beta'),
                       torch.cat([module.bias.detach().flatten() for _, module in layers]))
    # γ and β together are every normalisation parameter the census counts.
    assert (analysis.affine.values('gamma').numel() + analysis.affine.values('beta').numel()
            == census(model)['other_norm'])
    assert not analysis.affine.batchnorm_only and analysis.affine.label == 'normalisation'
    assert analysis.affine.kind_names == (('LayerNorm',) if name == 'vit' else ('GroupNorm',))


def test_metrics_of_other_normalisations(analysed):
    name, model, data, analysis = analysed
    metrics = analysis_metrics(analysis)
    gamma = flat_gammas(model)
    assert metrics['test_accuracy'] == accuracy(model, data, show_progress=False)
    assert metrics['test_images'] == 16
    assert metrics['gamma']['count'] == metrics['beta']['count'] == gamma.numel()
    assert metrics['gamma']['frac_abs_below'] == dict(zip(KEYS, fraction_abs_below(gamma, list(SETTINGS.thresholds))))
    assert set(metrics['clamped']) == set(metrics['clamped_random']) == set(KEYS)
    for section in ('clamped', 'clamped_random'):
        for result in metrics[section].values():
            assert 0 <= result['test_accuracy'] <= 1
            assert result['delta'] == pytest.approx(result['test_accuracy'] - metrics['test_accuracy'])


def test_clamping_zeroes_the_small_gammas_and_the_control_as_many(analysed):
    _, model, data, analysis = analysed
    gamma = flat_gammas(model)
    for index, (threshold, clamp, control) in enumerate(zip(SETTINGS.thresholds, analysis.clamping,
                                                            analysis.clamping_random)):
        expected = int((gamma.abs() < threshold).sum())
        assert 0 < expected < gamma.numel()
        assert clamp.gammas_zeroed == control.gammas_zeroed == expected
        assert clamp.gammas_total == control.gammas_total == gamma.numel()
        # The clamp zeroes exactly the γ below the threshold, in every normalisation layer, and the accuracy
        # reported is that of the clamped network.
        clamped = copy.deepcopy(model)
        assert clamp_gammas(clamped, threshold) == expected
        assert torch.equal(flat_gammas(clamped), torch.where(gamma.abs() < threshold, 0.0, gamma))
        assert clamp.test_accuracy == accuracy(clamped, data, show_progress=False)
        # The control: as many γ, not the small ones; β untouched.
        control_model = copy.deepcopy(model)
        zero_random_gammas(control_model, expected, random_control_generator(index))
        changed = flat_gammas(control_model) != gamma
        assert int(changed.sum()) == expected  # no γ of an untrained network is exactly 0
        assert (gamma[changed].abs() >= threshold).any()
        assert torch.equal(collect_affine(control_model).values('beta'), collect_affine(model).values('beta'))
        assert control.test_accuracy == accuracy(control_model, data, show_progress=False)


def test_dead_relus_apply_to_the_resnets_and_not_to_the_vit(analysed, tmp_path):
    name, model, data, analysis = analysed
    metrics = analysis_metrics(analysis)
    tables = {path.stem: pd.read_csv(path) for path in write_tables(analysis, tmp_path)}
    assert set(tables) == set(TABLES)
    if name != 'vit':
        assert metrics['dead_relu']['applicable'] is True
        assert metrics['dead_relu']['units'] == RESNET14_RELU_CHANNELS
        assert set(metrics['dead_relu']['site']) == {'stem', 'block', 'residual'}
        assert set(tables['dead_relu_sites'].site) == {'all', 'stem', 'block', 'residual'}
        return
    # The ViT: GELU only. The pass still measures the accuracy, but nothing is counted or reported as a count.
    assert not relu_sites(model)
    assert not analysis.relu_pass.applicable and analysis.relu_pass.relus == ()
    assert analysis.test_accuracy == accuracy(model, data, show_progress=False)
    assert metrics['dead_relu'] == {'applicable': False, 'reason': NOT_APPLICABLE}
    assert all(not dead.applicable and dead.reason == NOT_APPLICABLE for dead in analysis.dead.values())
    for table in ('dead_relu_modules', 'dead_relu_sites', 'relu_channel_zero_probability'):
        assert tables[table].to_dict('records') == [{'applicable': False, 'reason': NOT_APPLICABLE}]
    # The γ/β tables are complete: one bn_values row per γ.
    assert len(tables['bn_values']) == flat_gammas(model).numel()
    assert set(tables['bn_summary'].parameter) == {'gamma', 'beta'}


@pytest.mark.parametrize('analysed', ['vit'], indirect=True)  # the ResNets share its γ/β figure code
def test_vit_figures_say_normalisation_and_not_applicable(analysed, tmp_path):
    _, _, _, analysis = analysed
    title = histogram_figure(analysis, 'gamma').axes[0].get_title()
    assert 'normalisation' in title and 'LayerNorm' in title and 'BatchNorm' not in title
    texts = [text.get_text() for text in dead_relu_figure(analysis).axes[0].texts]
    assert any('not applicable' in text and NOT_APPLICABLE in text for text in texts)
    from bnonly.analysis.plots import write_figures
    paths = write_figures(analysis, tmp_path)
    assert [path.stem for path in paths] == list(FIGURES)
    assert all(path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' for path in paths)


# --- a BatchNorm network: exactly the BatchNorm-only reading --------------------------------------------------

def test_batchnorm_network_reads_exactly_its_batchnorms():
    model = resnet14()
    bn = batchnorm_layers(model)
    assert [(name, id(module)) for name, module in norm_layers(model)] == [(name, id(module)) for name, module in bn]
    affine = collect_affine(model)
    assert affine.batchnorm_only and affine.label == 'BatchNorm' and affine.kind_names == ('BatchNorm2d',)
    assert affine.layers == tuple(name for name, _ in bn)
    for (_, module), gamma, beta in zip(bn, affine.gamma, affine.beta):
        assert torch.equal(gamma, module.weight.detach()) and torch.equal(beta, module.bias.detach())
    axes = histogram_figure(analyze_model(model, batches(), SETTINGS, show_progress=False), 'gamma').axes[0]
    assert axes.get_ylabel() == 'BatchNorm channels' and 'BatchNorm layers' in axes.get_title()


def batchnorm_only_random_zero(model: nn.Module, count: int, generator: torch.Generator) -> None:
    """The random control as it was written for BatchNorm only (BN layers, flat index, randperm prefix)."""
    layers = batchnorm_layers(model)
    sizes = [module.weight.numel() for _, module in layers]
    chosen = torch.zeros(sum(sizes), dtype=torch.bool)
    chosen[torch.randperm(sum(sizes), generator=generator)[:count]] = True
    with torch.no_grad():
        for (_, module), mask in zip(layers, chosen.split(sizes)):
            module.weight.masked_fill_(mask.view_as(module.weight), 0.0)


def test_batchnorm_network_clamps_and_draws_exactly_as_before():
    model = resnet14()
    for index, threshold in enumerate((0.05, 0.3)):
        expected = sum(int((module.weight.abs() < threshold).sum()) for _, module in batchnorm_layers(model))
        clamped = copy.deepcopy(model)
        assert clamp_gammas(clamped, threshold) == expected
        new, old = copy.deepcopy(model), copy.deepcopy(model)
        zero_random_gammas(new, expected, random_control_generator(index))
        batchnorm_only_random_zero(old, expected, random_control_generator(index))
        assert all(torch.equal(a, b) for a, b in zip(new.state_dict().values(), old.state_dict().values()))


def test_batchnorm_network_dead_relu_metrics_keep_their_keys():
    analysis = analyze_model(resnet14(), batches(), SETTINGS, show_progress=False)
    dead = analysis_metrics(analysis)['dead_relu']
    assert dead['applicable'] is True
    assert set(dead) == {'applicable', 'granularity', 'probability', 'units', 'fraction', 'site'}
    assert dead['units'] == RESNET14_RELU_CHANNELS


# --- a norm without β (RMSNorm) ---------------------------------------------------------------------------------

class RmsNet(nn.Module):
    """flatten -> linear -> RMSNorm(6) -> ReLU -> linear: one norm, with γ and no β."""

    def __init__(self):
        super().__init__()
        self.fc1, self.norm, self.act, self.fc2 = nn.Linear(64, 6), nn.RMSNorm(6), nn.ReLU(), nn.Linear(6, 10)

    def forward(self, x):
        return self.fc2(self.act(self.norm(self.fc1(x.flatten(1)))))


def test_a_norm_without_beta_has_gamma_statistics_and_no_beta_ones(tmp_path):
    torch.manual_seed(0)
    model = RmsNet().eval()
    with torch.no_grad():
        model.norm.weight.copy_(torch.tensor([0.01, 0.2, 0.5, -0.04, 1.0, 2.0]))
    analysis = analyze_model(model, batches(), SETTINGS, show_progress=False)
    metrics = analysis_metrics(analysis)
    assert 'beta' not in metrics and metrics['gamma']['count'] == 6
    assert metrics['gamma']['frac_abs_below'] == {'t0p05': 2 / 6, 't0p3': 3 / 6}
    assert [r.gammas_zeroed for r in analysis.clamping] == [2, 3]
    assert metrics['dead_relu']['applicable'] is True and metrics['dead_relu']['units'] == 6
    tables = {path.stem: pd.read_csv(path) for path in write_tables(analysis, tmp_path)}
    assert tables['bn_values'].beta.isna().all() and len(tables['bn_values']) == 6
    assert set(tables['bn_summary'].parameter) == set(tables['bn_histogram'].parameter) == {'gamma'}
    texts = [text.get_text() for text in histogram_figure(analysis, 'beta').axes[0].texts]
    assert texts and 'no β' in texts[0]
    assert not math.isnan(metrics['gamma']['mean'])


# --- the relu pass on its own ------------------------------------------------------------------------------------

def test_relu_pass_without_relus_reports_instead_of_failing():
    model, data = NETWORKS['vit']()
    measured = relu_zero_pass(model, data, show_progress=False)
    assert not measured.applicable and measured.inputs == 16
    dead = dead_relus(measured, 0.99, 'channel_position')
    assert not dead.applicable and dead.reason == NOT_APPLICABLE
    assert dead.per_module == () and dead.per_site == {} and dead.overall.units == 0
    with pytest.raises(ZeroDivisionError):  # no fraction to be had, rather than a silent 0
        dead.overall.fraction


# --- the paper's plots: every trainable set has a label and its own colour -----------------------------------------

def test_every_trainable_set_has_a_label_and_its_own_colour():
    assert set(TRAINABLE_SETS) <= set(plotting.TRAINABLE_LABELS) == set(plotting.TRAINABLE_COLOURS)
    assert len(set(plotting.TRAINABLE_COLOURS.values())) == len(plotting.TRAINABLE_COLOURS)
    for name in ('norm_only', 'gamma_only', 'beta_only'):
        assert 'BatchNorm' not in plotting.trainable_label(name)
    assert plotting.TRAINABLE_ORDER[-3:] == ('norm_only', 'gamma_only', 'beta_only')
