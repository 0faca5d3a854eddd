"""Analysis of a trained checkpoint: what BatchNorm-only (or normalisation-only) training learns (the paper's
Figures 4 to 7).

- ``batchnorm``: γ and β of every normalisation layer (BatchNorm on the paper's networks; GroupNorm,
  LayerNorm on the extensions): summaries, histograms; which layers and the |γ|-threshold fractions are
  ``bnonly.norms``'s, shared with training's history.
- ``clamping``: accuracy after setting small γ to 0 (β kept as trained; see that module), and after setting
  as many random γ to 0 (the control).
- ``dead_relu``: Pr[ReLU output = 0] per unit from one hooked pass; sites and granularity; "not applicable"
  on a network without ReLUs (the ViT).
- ``evaluation``: the eval-mode, inference-mode passes all of the above use (counted by
  ``bnonly.evaluation``, as training's test evaluation is).
- ``run``: one analysis in order (``analyze_model``); ``metrics``, ``tables``, ``plots``: its outputs.

Nothing here imports ``bnonly.training``. The names below load on first use (PEP 562), as ``bnonly``'s do:
importing one submodule (``bnonly.analysis.batchnorm``) does not load the whole analysis, so a stage's
import closure, and with it its DVC deps, holds only the modules it uses.
"""
from bnonly.lazy import export_lazily

# Public name -> the submodule that defines it.
_LAZY = {'Analysis': 'bnonly.analysis.run', 'AnalysisSettings': 'bnonly.analysis.run',
         'analyze_model': 'bnonly.analysis.run'}

export_lazily(__name__, _LAZY)
