"""The analysis metrics file (results/analyze/metrics.json): one schema, readable in ``dvc exp show``.

Scheme: nested objects whose own key names never contain a dot, because DVC joins nested keys with dots
(``gamma.frac_abs_below.t0p01``). A threshold t becomes the key ``t`` + t written with ``%g`` and the
decimal point replaced by ``p`` (bnonly.vocabulary.threshold_key): 0.01 -> ``t0p01``, 0.5 -> ``t0p5``,
1e-05 -> ``t1e-05``.

    test_accuracy                  unclamped top-1 accuracy on the test set (eval mode, running statistics)
    test_images                    number of test images every pass saw
    gamma / beta                   over every normalisation layer's γ / β (BatchNorm on the paper's networks;
                                   GroupNorm, LayerNorm ... on the extensions: bnonly.analysis.batchnorm):
                                   count, mean, std (population), min, max, frac_negative; ``beta`` is absent
                                   when no layer has a β (RMSNorm only)
    gamma.frac_abs_below.<t>       fraction of γ with |γ| < t (Figure 5)
    clamped.<t>.test_accuracy      accuracy with every γ with |γ| < t set to 0, β as trained (Figure 6)
    clamped.<t>.delta              clamped.<t>.test_accuracy - test_accuracy
    clamped_random.<t>.test_accuracy  the control: accuracy with as many γ as clamped.<t> zeroed, drawn
                                   uniformly among all normalisation γ (seeded per threshold;
                                   bnonly.analysis.clamping)
    clamped_random.<t>.delta       clamped_random.<t>.test_accuracy - test_accuracy
    gamma_init.frac_abs_below.<t>  fraction of γ with |γ| < t in the same network at initialisation (same
                                   architecture, init settings and seed; about t under γ ~ U[0, 1)); absent
                                   when the checkpoint does not record how it was initialised
    dead_relu.applicable           true when the network has ReLU modules, and then the keys below follow;
                                   false on a network without them (the ViT, GELU), where dead units are
                                   not defined: then the only other key is
    dead_relu.reason               why it does not apply (bnonly.analysis.dead_relu.NOT_APPLICABLE); no
                                   units or fractions are reported, rather than zeros
    dead_relu.granularity          'channel' or 'channel_position' (see bnonly.analysis.dead_relu)
    dead_relu.probability          a unit is dead when Pr[output = 0] > this (Figure 7)
    dead_relu.units                ReLU units at that granularity
    dead_relu.fraction             dead units / units, every unit weighted equally
    dead_relu.site.<site>          the same within the stem, block and residual (after the add) ReLUs

Accuracies and fractions are in [0, 1].
Every key is present on every network except those marked absent above (gamma_init, beta) and the
dead_relu keys after ``applicable`` on a network without ReLUs.
"""
from bnonly.analysis.batchnorm import summary
from bnonly.analysis.dead_relu import DeadRelus
from bnonly.analysis.run import Analysis
from bnonly.vocabulary import threshold_key


def dead_relu_metrics(dead: DeadRelus) -> dict:
    """The ``dead_relu`` section: the counts, or ``applicable`` false and the reason (module docstring)."""
    if not dead.applicable:
        return {'applicable': False, 'reason': dead.reason}
    return {'applicable': True,
            'granularity': dead.granularity,
            'probability': dead.probability,
            'units': dead.overall.units,
            'fraction': dead.overall.fraction,
            'site': {site: count.fraction for site, count in dead.per_site.items()}}


def analysis_metrics(analysis: Analysis) -> dict:
    thresholds = analysis.settings.thresholds
    beta = analysis.affine.values('beta')
    metrics = {
        'test_accuracy': analysis.test_accuracy,
        'test_images': analysis.relu_pass.inputs,
        'gamma': {**summary(analysis.affine.values('gamma')),
                  'frac_abs_below': {threshold_key(t): fraction
                                     for t, fraction in zip(thresholds, analysis.gamma_below)}},
        # Same key order as ever (beta after gamma); absent only when no layer has a β.
        **({'beta': summary(beta)} if beta.numel() else {}),
        'clamped': {threshold_key(result.threshold): {'test_accuracy': result.test_accuracy,
                                                      'delta': result.delta}
                    for result in analysis.clamping},
        'clamped_random': {threshold_key(result.threshold): {'test_accuracy': result.test_accuracy,
                                                             'delta': result.delta}
                           for result in analysis.clamping_random},
        'dead_relu': dead_relu_metrics(analysis.dead_reported),
    }
    if analysis.gamma_init_below is not None:
        metrics['gamma_init'] = {'frac_abs_below': {threshold_key(t): fraction for t, fraction
                                                    in zip(thresholds, analysis.gamma_init_below)}}
    return metrics
