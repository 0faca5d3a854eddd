"""Analysis of a trained checkpoint: what BatchNorm-only (or normalisation-only) training learns (the paper's
Figures 4 to 7).

- ``batchnorm``: γ and β of every normalisation layer (BatchNorm on the paper's networks; GroupNorm,
  LayerNorm on the extensions): summaries, histograms, fractions of |γ| below thresholds.
- ``clamping``: accuracy after setting small γ to 0 (β kept as trained; see that module), and after setting
  as many random γ to 0 (the control).
- ``dead_relu``: Pr[ReLU output = 0] per unit from one hooked pass; sites and granularity; "not applicable"
  on a network without ReLUs (the ViT).
- ``evaluation``: the eval-mode, inference-mode passes all of the above use.
- ``run``: one analysis in order (``analyze_model``); ``metrics``, ``tables``, ``figures``: its outputs.
"""
from bnonly.analysis.run import Analysis, AnalysisSettings, analyze_model

__all__ = ['Analysis', 'AnalysisSettings', 'analyze_model']
