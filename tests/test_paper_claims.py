"""The claims table's verdicts, computed from synthetic numbers chosen to hold, fail, be unclear or be absent."""
import math

import pandas as pd
import pytest

from bnonly.paper import claims, verdicts
from bnonly.paper.claims import Results
from bnonly.paper.verdicts import FAILS, HOLDS, NOT_MEASURED, UNCLEAR, Estimate
from bnonly.paper.grid import arch_info
from bnonly.paper.synthetic import batchnorm_params

PROFILE = {'dataset': 'fashion_mnist', 'epochs': 3, 'train_images': 8000, 'seeds': 2, 'cells_trained': 48,
           'cells_analysed': 16}


def summary(rows) -> pd.DataFrame:
    """rows: (group, arch, trainable, source, metric, mean, std, n) -> the summary CSV's columns."""
    columns = ['group', 'arch', 'label', 'family', 'depth', 'width', 'batchnorm_params', 'trainable',
               'batchnorm_init', 'source', 'metric', 'mean', 'std', 'n']
    records = []
    for group, arch, trainable, source, metric, mean, std, n in rows:
        info = arch_info(arch)
        records.append(dict(group=group, arch=arch, label=info.label, family=info.family, depth=info.depth,
                            width=info.width, batchnorm_params=batchnorm_params(arch), trainable=trainable,
                            batchnorm_init='fixed' if group == 'fixed_init' else 'uniform', source=source,
                            metric=metric, mean=mean, std=std, n=n))
    for arch in {r[1] for r in rows}:
        for trainable in {r[2] for r in rows if r[1] == arch}:
            records.append(dict(records[0], arch=arch, trainable=trainable, source='train',
                                metric='batchnorm_params', mean=batchnorm_params(arch), std=0.0, n=2,
                                group='grid', family=arch_info(arch).family, label=arch_info(arch).label,
                                depth=arch_info(arch).depth, width=arch_info(arch).width,
                                batchnorm_params=batchnorm_params(arch)))
    return pd.DataFrame(records, columns=columns)


def accuracy(arch, trainable, mean, std=0.005, n=2, group='grid'):
    return (group, arch, trainable, 'train', 'test_accuracy', mean, std, n)


def analysis(arch, trainable, metric, mean, std=0.005, n=2):
    return ('grid', arch, trainable, 'analysis', metric, mean, std, n)


def verdict(rows, claim, profile=PROFILE):
    return claim(Results(summary(rows), profile))


def test_sign_uses_two_standard_errors():
    assert verdicts.sign(0.05, 0.01) == 1
    assert verdicts.sign(0.015, 0.01) == 0
    assert verdicts.sign(-0.05, 0.01) == -1
    assert verdicts.sign(0.001, math.nan) == 1  # n = 1: the sign alone
    a, b = Estimate(0.8, 0.02, 4), Estimate(0.7, 0.02, 4)
    diff, se = verdicts.difference(a, b)
    assert diff == pytest.approx(0.1) and se == pytest.approx(math.sqrt(2) * 0.01)
    assert math.isnan(verdicts.difference(Estimate(0.8, math.nan, 1), b)[1])


def test_combine():
    assert verdicts.combine([1, 1]) == HOLDS
    assert verdicts.combine([1, 0]) == UNCLEAR
    assert verdicts.combine([1, -1]) == FAILS
    assert verdicts.combine([]) == UNCLEAR


def test_bn_only_far_above_random_k():
    holds = [accuracy('cifar_resnet14', 'bn_only', 0.80), accuracy('cifar_resnet14', 'random_k', 0.50),
             accuracy('cifar_resnet32', 'bn_only', 0.85), accuracy('cifar_resnet32', 'random_k', 0.55)]
    row = verdict(holds, claims.bn_vs_random)
    assert row.verdict == HOLDS and '+30.0' in row.measured and 'ResNet-32' in row.measured
    fails = holds[:2] + [accuracy('cifar_resnet32', 'bn_only', 0.50), accuracy('cifar_resnet32', 'random_k', 0.60)]
    assert verdict(fails, claims.bn_vs_random).verdict == FAILS
    noisy = [accuracy('cifar_resnet14', 'bn_only', 0.60, std=0.2),
             accuracy('cifar_resnet14', 'random_k', 0.55, std=0.2)]
    assert verdict(noisy, claims.bn_vs_random).verdict == UNCLEAR
    row = verdict([accuracy('cifar_resnet14', 'bn_only', 0.8)], claims.bn_vs_random)
    assert row.verdict == NOT_MEASURED and 'random_k' in row.why


def test_depth_beats_width_pairs_equal_batchnorm_counts():
    rows = [accuracy('cifar_resnet32', 'bn_only', 0.84), accuracy('cifar_wide_resnet14_2', 'bn_only', 0.80),
            accuracy('cifar_resnet14', 'bn_only', 0.70)]
    row = verdict(rows, claims.depth_beats_width)
    assert row.verdict == HOLDS
    assert 'ResNet-32 (2,464 BN) vs WRN-14-2 (2,240 BN)' in row.measured
    reversed_ = [accuracy('cifar_resnet32', 'bn_only', 0.78), accuracy('cifar_wide_resnet14_2', 'bn_only', 0.80)]
    assert verdict(reversed_, claims.depth_beats_width).verdict == FAILS
    # WRN-14-4 has 4,480 BN parameters: no deep network within 25% among these
    far = [accuracy('cifar_resnet14', 'bn_only', 0.7), accuracy('cifar_wide_resnet14_4', 'bn_only', 0.8)]
    assert verdict(far, claims.depth_beats_width).verdict == NOT_MEASURED


def rises_depth(results):
    return claims.rises(results, claim='c', paper='p', family='deep', metric='test_accuracy', source='train',
                        what='w')


def test_rises_along_a_family():
    up = [accuracy('cifar_resnet14', 'bn_only', 0.70), accuracy('cifar_resnet20', 'bn_only', 0.72),
          accuracy('cifar_resnet32', 'bn_only', 0.75)]
    row = verdict(up, rises_depth)
    assert row.verdict == HOLDS and row.measured.startswith('ResNet-14 70.0 ± 0.5% → ResNet-20')
    dip = [accuracy('cifar_resnet14', 'bn_only', 0.70), accuracy('cifar_resnet20', 'bn_only', 0.60),
           accuracy('cifar_resnet32', 'bn_only', 0.75)]
    assert verdict(dip, rises_depth).verdict == FAILS  # a step clearly down
    flat = [accuracy('cifar_resnet14', 'bn_only', 0.70), accuracy('cifar_resnet32', 'bn_only', 0.701)]
    assert verdict(flat, rises_depth).verdict == UNCLEAR
    assert verdict(up[:1], rises_depth).verdict == NOT_MEASURED


def test_gamma_beta_worth_uses_the_fixed_init_cells():
    rows = [accuracy('cifar_resnet14', 'all', 0.91, group='fixed_init'),
            accuracy('cifar_resnet14', 'all_but_bn', 0.90, std=0.001, group='fixed_init'),
            accuracy('cifar_resnet14', 'all', 0.50)]  # the uniform-init 'all' cell must not be used
    row = verdict(rows, claims.gamma_beta_worth)
    assert row.measured == 'ResNet-14: +1.0 ± 0.7 points'  # ± 2 SE: sqrt(0.5² / 2 + 0.1² / 2) x 2
    assert row.verdict == HOLDS
    noisy = [accuracy('cifar_resnet14', 'all', 0.91, std=0.02, group='fixed_init'),
             accuracy('cifar_resnet14', 'all_but_bn', 0.90, std=0.02, group='fixed_init')]
    assert verdict(noisy, claims.gamma_beta_worth).verdict == UNCLEAR
    assert verdict(rows[2:], claims.gamma_beta_worth).verdict == NOT_MEASURED


def test_small_gammas_clamping_and_dead_relus():
    metric = 'gamma.frac_abs_below.t0p01'
    rows = [analysis('cifar_resnet14', 'bn_only', metric, 0.18), analysis('cifar_resnet32', 'bn_only', metric, 0.30),
            analysis('cifar_resnet14', 'all', metric, 0.01), analysis('cifar_resnet32', 'all', metric, 0.01)]
    row = verdict(rows, claims.small_gammas)
    assert row.verdict == HOLDS and 'ResNet-32' in row.why  # decided on the network with most BN parameters
    few = [analysis('cifar_resnet32', 'bn_only', metric, 0.05)]
    assert verdict(few, claims.small_gammas).verdict == FAILS
    assert verdict([], claims.small_gammas).verdict == NOT_MEASURED

    delta = 'clamped.t0p01.delta'
    harmless = [analysis('cifar_resnet14', 'bn_only', delta, -0.002), analysis('cifar_resnet32', 'bn_only', delta, 0.0)]
    assert verdict(harmless, claims.clamping_harmless).verdict == HOLDS
    harmful = [analysis('cifar_resnet14', 'bn_only', delta, -0.10)]
    assert verdict(harmful, claims.clamping_harmless).verdict == FAILS

    dead = 'dead_relu.fraction'
    many = [analysis('cifar_resnet14', 'bn_only', dead, 0.20), analysis('cifar_resnet14', 'all', dead, 0.001)]
    assert verdict(many, claims.dead_relus).verdict == HOLDS
    all_dead_too = [analysis('cifar_resnet14', 'bn_only', dead, 0.20), analysis('cifar_resnet14', 'all', dead, 0.10)]
    assert verdict(all_dead_too, claims.dead_relus).verdict == FAILS  # "with all trained, not disabled" fails


def test_paper_numbers_are_not_measured_off_cifar10():
    rows = [accuracy('cifar_resnet14', 'bn_only', 0.80), accuracy('cifar_resnet32', 'bn_only', 0.82)]
    results = Results(summary(rows), PROFILE)
    table = claims.all_claims(results)
    first = table[0]
    assert first.verdict == NOT_MEASURED and 'Fashion-MNIST, not CIFAR-10' in first.why
    assert 'ResNet-32 bn_only on Fashion-MNIST: 82.0' in first.measured  # the nearest thing we have, for scale
    assert table[2].measured.startswith('for comparison, ResNet-14')  # ResNet-14's own number when we have it


def test_paper_numbers_on_cifar10():
    profile = dict(PROFILE, dataset='cifar10')
    reached = [accuracy('cifar_resnet866', 'bn_only', 0.815, std=0.003, n=5)]
    first = claims.all_claims(Results(summary(reached), profile))[0]
    assert first.verdict == HOLDS  # within 2 points of 82%
    short = [accuracy('cifar_resnet866', 'bn_only', 0.70, std=0.003, n=5)]
    assert claims.all_claims(Results(summary(short), profile))[0].verdict == FAILS
    missing = claims.all_claims(Results(summary([accuracy('cifar_resnet14', 'bn_only', 0.48)]), profile))
    assert missing[0].verdict == NOT_MEASURED and 'ResNet-866' in missing[0].why
    assert missing[2].verdict == HOLDS  # ResNet-14 ≈ 48%


def test_markdown_table(tmp_path):
    rows = [accuracy('cifar_resnet14', 'bn_only', 0.80), accuracy('cifar_resnet14', 'random_k', 0.5)]
    table = claims.all_claims(Results(summary(rows), PROFILE))
    text = claims.to_markdown(table, PROFILE)
    assert text.count('\n| ') == len(table) + 1  # header + one line per claim
    assert 'Fashion-MNIST, 3 epochs on 8,000 training images, 2 seeds' in text
    for row in table:
        assert f'**{row.verdict}**' in text
    assert {r.verdict for r in table} <= {HOLDS, FAILS, UNCLEAR, NOT_MEASURED}
    assert len(table) == 15 and claims.to_frame(table).shape == (15, 6)
