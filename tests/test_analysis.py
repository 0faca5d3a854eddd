"""Known-answer tests of the checkpoint analysis (bnonly.analysis): tiny models, CPU, a few seconds."""
import copy

import pytest
import torch
from torch import nn

from bnonly.analysis import AnalysisSettings, analyze_model
from bnonly.analysis.batchnorm import collect_affine, histogram, summary
from bnonly.analysis.clamping import (clamp_gammas, clamping_curve, random_clamping_curve,
                                     random_control_generator, zero_random_gammas)
from bnonly.analysis.dead_relu import dead_relus, relu_sites, relu_zero_pass
from bnonly.analysis.evaluation import accuracy
from bnonly.analysis.metrics import analysis_metrics, threshold_key
from bnonly.models import create_model
from bnonly.norms import fraction_abs_below


class TinyNet(nn.Module):
    """conv -> BN(4) -> ReLU -> conv -> BN(3) -> ReLU -> pool -> linear: two BNs, two ReLUs, no blocks."""

    def __init__(self, classes: int = 5):
        super().__init__()
        self.conv1, self.bn1, self.act1 = nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU()
        self.conv2, self.bn2, self.act2 = nn.Conv2d(4, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU()
        self.fc = nn.Linear(3, classes)

    def forward(self, x):
        x = self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))
        return self.fc(x.mean(dim=(2, 3)))


def tiny_batches(count: int = 48, batch: int = 16, channels: int = 1, size: int = 8, classes: int = 5,
                 seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(count, channels, size, size, generator=generator)
    labels = torch.randint(0, classes, (count,), generator=generator)
    return list(zip(images.split(batch), labels.split(batch)))


def resnet14(seed: int = 0) -> nn.Module:
    return create_model('cifar_resnet14', num_classes=10, in_chans=1, seed=seed).eval()


def set_bn(bn: nn.BatchNorm2d, gamma: list[float], beta: list[float] | None = None) -> None:
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        if beta is not None:
            bn.bias.copy_(torch.tensor(beta))


SETTINGS = AnalysisSettings(thresholds=(0.01, 0.02, 0.5, 1.0), histogram_bins=4)


# --- γ and β: fractions, summaries, histograms ------------------------------------------------------------

def hand_set_tiny() -> TinyNet:
    torch.manual_seed(0)
    model = TinyNet()
    # 7 γ in all. |γ| < 0.01: -0.005, 0.005, 0.0 (0.01 itself is not below 0.01) -> 3/7.
    set_bn(model.bn1, [-0.005, 0.005, 0.01, 0.02], [0.5, -0.5, 0.0, 1.0])
    set_bn(model.bn2, [0.3, -0.6, 0.0], [-1.0, 0.0, 2.0])
    return model.eval()


def test_gamma_fractions_are_exact():
    gamma = collect_affine(hand_set_tiny()).values('gamma')
    assert fraction_abs_below(gamma, [0.01, 0.02, 0.5, 0.6, 1.0]) == [3 / 7, 4 / 7, 6 / 7, 6 / 7, 7 / 7]


def test_summaries_are_exact():
    affine = collect_affine(hand_set_tiny())
    beta = summary(affine.values('beta'))
    assert beta == {'count': 7, 'mean': pytest.approx(2.0 / 7), 'std': pytest.approx(torch.tensor(
        [0.5, -0.5, 0.0, 1.0, -1.0, 0.0, 2.0], dtype=torch.float64).std(correction=0).item()),
        'min': -1.0, 'max': 2.0, 'frac_negative': 2 / 7}
    assert summary(affine.values('gamma'))['frac_negative'] == 2 / 7
    assert affine.layers == ('bn1', 'bn2')


def test_histogram_per_layer_adds_up_to_overall():
    affine = collect_affine(resnet14())
    hist = histogram(affine.gamma, bins=7)
    assert torch.equal(torch.stack(hist.per_layer).sum(0), hist.overall)
    assert hist.overall.sum().item() == affine.values('gamma').numel()
    assert hist.edges[0].item() == affine.values('gamma').min().item()
    assert hist.edges[-1].item() == pytest.approx(affine.values('gamma').max().item())


def test_metrics_keys_have_no_dots_and_fractions_match():
    model = hand_set_tiny()
    metrics = analysis_metrics(analyze_model(model, tiny_batches(), SETTINGS, show_progress=False))

    def keys(tree):
        for key, value in tree.items():
            yield key
            if isinstance(value, dict):
                yield from keys(value)
    assert not [key for key in keys(metrics) if '.' in key]
    assert metrics['gamma']['frac_abs_below'] == {'t0p01': 3 / 7, 't0p02': 4 / 7, 't0p5': 6 / 7, 't1': 1.0}
    assert set(metrics['clamped']) == {'t0p01', 't0p02', 't0p5', 't1'}
    assert metrics['dead_relu']['granularity'] == 'channel'
    assert threshold_key(0.15) == 't0p15' and threshold_key(1e-5) == 't1e-05'


# --- dead ReLUs ---------------------------------------------------------------------------------------------

def test_relu_sites_of_our_resnets_and_timms():
    sites = relu_sites(resnet14())
    assert sites['act'] == 'stem'
    assert sites['stages.0.0.act1'] == 'block' and sites['stages.2.1.act2'] == 'residual'
    assert list(sites.values()).count('residual') == 6 and list(sites.values()).count('block') == 6
    basic = relu_sites(create_model('resnet18', num_classes=10))
    assert basic['act1'] == 'stem' and basic['layer1.0.act1'] == 'block' and basic['layer4.1.act2'] == 'residual'
    bottleneck = relu_sites(create_model('resnet50', num_classes=10))
    assert bottleneck['layer1.0.act2'] == 'block' and bottleneck['layer1.0.act3'] == 'residual'
    assert list(bottleneck.values()).count('residual') == 16


def test_forced_dead_channel_is_detected_and_live_one_is_not():
    model = resnet14()
    stem, inner = model.bn, model.stages[0][0].bn1
    with torch.no_grad():
        # γ tiny and β far below zero: BN output < 0 for every input, so the ReLU always outputs 0.
        stem.weight[0], stem.bias[0] = 1e-3, -10.0
        inner.weight[2], inner.bias[2] = 1e-3, -10.0
        # The same γ with β far above zero: never 0.
        stem.weight[1], stem.bias[1] = 1e-3, 10.0
    measured = relu_zero_pass(model, tiny_batches(classes=10), show_progress=False)
    by_name = {relu.name: relu for relu in measured.relus}
    stem_zero = by_name['act'].zero_probability('channel')
    assert stem_zero[0].item() == 1.0 and stem_zero[1].item() == 0.0
    assert by_name['stages.0.0.act1'].zero_probability('channel')[2].item() == 1.0
    positions = by_name['act'].zero_probability('channel_position').reshape(16, -1)
    assert (positions[0] == 1.0).all() and (positions[1] == 0.0).all()
    for granularity in ('channel', 'channel_position'):
        dead = {m.name: m for m in dead_relus(measured, 0.99, granularity).per_module}
        assert dead['act'].dead >= (1 if granularity == 'channel' else 64)


def test_dead_fraction_known_answer():
    model = TinyNet()
    # γ = 0: the BN output is β everywhere. Two of bn1's channels are dead, all of bn2's are live.
    set_bn(model.bn1, [0.0] * 4, [-1.0, -2.0, 1.0, 2.0])
    set_bn(model.bn2, [0.0] * 3, [1.0, 1.0, 1.0])
    measured = relu_zero_pass(model.eval(), tiny_batches(), show_progress=False)
    for granularity, per_channel in (('channel', 1), ('channel_position', 64)):
        dead = dead_relus(measured, 0.99, granularity)
        assert (dead.overall.units, dead.overall.dead) == (7 * per_channel, 2 * per_channel)
        assert [m.fraction for m in dead.per_module] == [0.5, 0.0]
        assert set(dead.per_site) == {'stem'}


def test_relu_pass_accuracy_equals_plain_evaluation():
    model, batches = resnet14(), tiny_batches(classes=10)
    assert relu_zero_pass(model, batches, show_progress=False).test_accuracy == accuracy(
        model, batches, show_progress=False)


def test_reused_relu_module_is_refused():
    class Reuses(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn, self.relu = nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.ReLU()
            self.fc = nn.Linear(2, 5)

        def forward(self, x):
            return self.fc(self.relu(self.bn(self.relu(self.conv(x)))).mean(dim=(2, 3)))
    with pytest.raises(ValueError, match='exactly once'):
        relu_zero_pass(Reuses(), tiny_batches(), show_progress=False)


# --- clamping -----------------------------------------------------------------------------------------------

def test_clamping_below_smallest_gamma_changes_nothing():
    model, batches = resnet14(), tiny_batches(classes=10)
    smallest = collect_affine(model).values('gamma').abs().min().item()
    assert smallest > 0
    unclamped = accuracy(model, batches, show_progress=False)
    [result] = clamping_curve(model, batches, [smallest / 2], show_progress=False)
    assert result.gammas_zeroed == 0
    assert result.test_accuracy == unclamped and result.delta == 0.0


def test_clamping_every_gamma_leaves_a_constant_network():
    model, batches = resnet14(), tiny_batches(classes=10)
    [result] = clamping_curve(model, batches, [10.0], show_progress=False)
    assert result.gammas_zeroed == result.gammas_total
    # Every BN now outputs its β: the logits no longer depend on the input, so the accuracy is the share of
    # test labels that equal the one class predicted.
    constant = copy.deepcopy(model)
    clamp_gammas(constant, 10.0)
    with torch.inference_mode():
        logits = torch.cat([constant(x) for x, _ in batches])
    assert torch.allclose(logits, logits[:1].expand_as(logits), atol=1e-5)
    labels = torch.cat([y for _, y in batches])
    assert result.test_accuracy == (labels == logits[0].argmax()).double().mean().item()


def test_clamp_gammas_zeroes_small_gamma_only_and_keeps_beta():
    model = hand_set_tiny()
    before = copy.deepcopy(model.state_dict())
    assert clamp_gammas(model, 0.02) == 4
    assert model.bn1.weight.tolist() == [0.0, 0.0, 0.0, pytest.approx(0.02)]
    assert torch.equal(model.bn2.weight, before['bn2.weight'])
    assert torch.equal(model.bn1.bias, before['bn1.bias']) and torch.equal(model.bn2.bias, before['bn2.bias'])


def test_random_control_zeroes_as_many_gamma_and_leaves_the_model_untouched():
    model, batches = resnet14(), tiny_batches(classes=10)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    clamped = clamping_curve(model, batches, [0.05, 0.3], show_progress=False)
    controls = random_clamping_curve(model, batches, clamped, show_progress=False)
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())
    assert [c.threshold for c in controls] == [0.05, 0.3]
    for index, (clamp, control) in enumerate(zip(clamped, controls)):
        assert clamp.gammas_zeroed > 0 and control.gammas_zeroed == clamp.gammas_zeroed
        # Re-draw the same γ to see which were zeroed: exactly that many, and β and the rest untouched.
        probe = copy.deepcopy(model)
        zero_random_gammas(probe, clamp.gammas_zeroed, random_control_generator(index))
        trained, zeroed = collect_affine(model), collect_affine(probe)
        changed = trained.values('gamma') != zeroed.values('gamma')
        assert changed.sum() == clamp.gammas_zeroed  # no trained γ of this untrained net is exactly 0
        assert (zeroed.values('gamma')[changed] == 0).all()
        assert torch.equal(trained.values('beta'), zeroed.values('beta'))
        # Random, not the small ones: some zeroed γ were at or above the threshold.
        assert (trained.values('gamma')[changed].abs() >= clamp.threshold).any()


def test_random_control_is_deterministic():
    model, batches = resnet14(), tiny_batches(classes=10)
    clamped = clamping_curve(model, batches, [0.3], show_progress=False)
    first = random_clamping_curve(model, batches, clamped, show_progress=False)
    assert random_clamping_curve(model, batches, clamped, show_progress=False) == first
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    zero_random_gammas(a, 50, random_control_generator(0))
    zero_random_gammas(b, 50, random_control_generator(0))
    assert torch.equal(collect_affine(a).values('gamma'), collect_affine(b).values('gamma'))
    zero_random_gammas(c := copy.deepcopy(model), 50, random_control_generator(1))
    assert not torch.equal(collect_affine(a).values('gamma'), collect_affine(c).values('gamma'))


def test_gamma_init_is_the_share_in_the_initial_network():
    trained, initial, batches = resnet14(seed=0), resnet14(seed=5), tiny_batches(classes=10)
    with torch.no_grad():  # make the "trained" γ differ from any initialisation
        for module in trained.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.mul_(0.1)
    analysis = analyze_model(trained, batches, SETTINGS, initial=initial, show_progress=False)
    expected = fraction_abs_below(collect_affine(initial).values('gamma'), list(SETTINGS.thresholds))
    assert list(analysis.gamma_init_below) == expected
    assert analysis.gamma_init_below != analysis.gamma_below
    metrics = analysis_metrics(analysis)
    assert metrics['gamma_init']['frac_abs_below'] == {threshold_key(t): f
                                                       for t, f in zip(SETTINGS.thresholds, expected)}
    assert set(metrics['clamped_random']) == set(metrics['clamped'])
    assert 'gamma_init' not in analysis_metrics(analyze_model(trained, batches, SETTINGS, show_progress=False))


# --- the analysis leaves the model as it found it -------------------------------------------------------------

def test_analysis_uses_running_statistics_and_leaves_model_untouched():
    model, batches = resnet14(), tiny_batches(classes=10)
    model.train()  # as a caller might leave it: the analysis must still evaluate on running statistics
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    flags = [module.training for module in model.modules()]

    analysis = analyze_model(model, batches, SETTINGS, show_progress=False)

    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before), 'parameters or BN buffers changed'
    assert [module.training for module in model.modules()] == flags
    # The check above has teeth: one forward pass in train mode does move the running statistics.
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        probe(batches[0][0])
    assert not torch.equal(probe.bn.running_mean, before['bn.running_mean'])
    # And the accuracy measured is the eval-mode one.
    assert analysis.test_accuracy == accuracy(model, batches, show_progress=False)


def test_a_generator_cannot_feed_several_passes():
    with pytest.raises(ValueError, match='re-iterable'):
        analyze_model(resnet14(), iter(tiny_batches(classes=10)), SETTINGS, show_progress=False)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match='granularity'):
        AnalysisSettings(thresholds=(0.01,), dead_relu_granularity='pixel')
    with pytest.raises(ValueError, match='positive'):
        AnalysisSettings(thresholds=(0.0, 0.01))
    assert AnalysisSettings(thresholds=(0.5, 0.01, 0.5)).thresholds == (0.01, 0.5)
