"""One analysis of a trained model: every measurement in order, gathered into one ``Analysis``.

Passes over the test set: one hooked pass (ReLU zero counts and the unclamped accuracy) plus two per
clamping threshold (the clamp, and its random control: ``clamping``); nothing else touches the data. γ and
β are read before any pass. The model passed in ends exactly as it came: same parameters, same running
statistics, same train/eval flags.

γ at initialisation: given the same network as training built it before its first step
(``bnonly.checkpoint.initial_model``), the analysis also reports the share of its |γ| below each threshold.
Under the paper's γ ~ U[0, 1) that share is about t, so a trained share of small γ only says something
about training when it is compared with this baseline.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

from bnonly.analysis.batchnorm import BatchNormAffine, Histogram, collect_affine, histogram
from bnonly.analysis.clamping import ClampResult, clamping_curve, random_clamping_curve
from bnonly.analysis.dead_relu import GRANULARITIES, DeadRelus, ReluPass, dead_relus, relu_zero_pass
from bnonly.analysis.evaluation import Batch
from bnonly.config import check_settings, section_values
from bnonly.norms import fraction_abs_below
from bnonly.settings import AnalyzeSettings


@dataclass(frozen=True, kw_only=True)
class AnalysisSettings(AnalyzeSettings):
    """The ``analyze`` section of params.yaml: its fields, defaults and allowed values are
    ``bnonly.settings.AnalyzeSettings``'s. Here the thresholds are also sorted and freed of repeats: each is one
    clamping pass and one metrics key."""

    def __post_init__(self):
        object.__setattr__(self, 'thresholds', tuple(sorted(set(float(t) for t in self.thresholds))))
        if not self.thresholds or self.thresholds[0] <= 0:
            raise ValueError(f'thresholds must be positive and non-empty, got {self.thresholds}')
        check_settings(self, 'analyze.')  # every field against its type and allowed values (a ValueError)

    @classmethod
    def from_params(cls, params: dict) -> 'AnalysisSettings':
        return cls(**section_values(AnalyzeSettings, params, 'analyze'))


@dataclass(frozen=True)
class Analysis:
    settings: AnalysisSettings
    affine: BatchNormAffine
    histograms: dict[str, Histogram]           # 'gamma', 'beta'
    gamma_below: tuple[float, ...]             # fraction of |γ| < t, one per settings.thresholds
    relu_pass: ReluPass
    dead: dict[str, DeadRelus]                 # both granularities; settings.dead_relu_granularity reported
    clamping: tuple[ClampResult, ...]          # one per settings.thresholds
    clamping_random: tuple[ClampResult, ...]   # the random control of each clamping result, same order
    gamma_init_below: tuple[float, ...] | None = None  # fraction of |γ| < t at initialisation; None: unknown

    @property
    def test_accuracy(self) -> float:
        return self.relu_pass.test_accuracy

    @property
    def dead_reported(self) -> DeadRelus:
        return self.dead[self.settings.dead_relu_granularity]


def analyze_model(model: nn.Module, batches: Iterable[Batch], settings: AnalysisSettings, *,
                  initial: nn.Module | None = None, show_progress: bool = True) -> Analysis:
    """Run every measurement. ``batches`` must be re-iterable: it is passed over 1 + 2 * len(thresholds)
    times. ``initial``: the same network at initialisation (only its γ are read); None leaves
    ``gamma_init_below`` unknown."""
    affine = collect_affine(model)
    gamma_init_below = None if initial is None else tuple(
        fraction_abs_below(collect_affine(initial).values('gamma'), list(settings.thresholds)))
    histograms = {parameter: histogram(affine.per_layer(parameter), settings.histogram_bins)
                  for parameter in ('gamma', 'beta')}
    gamma_below = tuple(fraction_abs_below(affine.values('gamma'), list(settings.thresholds)))
    measured = relu_zero_pass(model, batches, show_progress=show_progress)
    dead = {granularity: dead_relus(measured, settings.dead_relu_probability, granularity)
            for granularity in GRANULARITIES}
    clamping = tuple(clamping_curve(model, batches, list(settings.thresholds),
                                    unclamped_accuracy=measured.test_accuracy, show_progress=show_progress))
    clamping_random = tuple(random_clamping_curve(model, batches, list(clamping),
                                                  unclamped_accuracy=measured.test_accuracy,
                                                  show_progress=show_progress))
    return Analysis(settings=settings, affine=affine, histograms=histograms, gamma_below=gamma_below,
                    relu_pass=measured, dead=dead, clamping=clamping, clamping_random=clamping_random,
                    gamma_init_below=gamma_init_below)
