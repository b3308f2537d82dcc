"""Statistics on cases with known answers: t-intervals, paired tests, Holm, d_z, and the verdict rule."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from initbench import stats


def test_mean_ci_matches_the_t_table():
    m, lo, hi, n = stats.mean_ci([1, 2, 3, 4, 5])
    # t_{0.975, 4} = 2.776 (any t-table); sd = sqrt(2.5)
    assert (m, n) == (3.0, 5)
    assert hi - m == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert lo == pytest.approx(2 * m - hi)


def test_mean_ci_matches_scipy_and_handles_small_samples():
    x = np.array([0.52, 0.61, 0.55, 0.58, 0.49, 0.57])
    lo_s, hi_s = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    _, lo, hi, _ = stats.mean_ci(x)
    assert (lo, hi) == pytest.approx((lo_s, hi_s))
    assert math.isnan(stats.mean_ci([1.0])[1]) and stats.mean_ci([])[3] == 0
    assert stats.mean_ci([1.0, np.nan, 3.0])[3] == 2


def test_summarise_agrees_with_mean_ci_per_group_and_log_gives_geometric_mean():
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 3, "v": [1.0, 2.0, 4.0, 8.0, 10.0, 100.0, 1000.0]})
    out = stats.summarise(df, ["g"], "v").set_index("g")
    m, lo, hi, n = stats.mean_ci(df[df.g == "a"].v)
    assert out.loc["a", ["mean", "lo", "hi", "n"]].tolist() == pytest.approx([m, lo, hi, n])
    geo = stats.summarise(df, ["g"], "v", log=True).set_index("g")
    assert geo.loc["b", "mean"] == pytest.approx(100.0)
    assert geo.loc["a", "lo"] > 0


def test_paired_test_matches_scipy():
    a = np.array([0.57, 0.55, 0.60, 0.52, 0.58])
    b = np.array([0.12, 0.10, 0.15, 0.11, 0.09])
    r = stats.paired_test(a, b)
    ref = sps.ttest_rel(a, b)
    assert (r.t, r.p_t) == pytest.approx((ref.statistic, ref.pvalue))
    assert r.p_wilcoxon == pytest.approx(sps.wilcoxon(a - b).pvalue)
    assert r.p_wilcoxon == pytest.approx(0.0625)  # exact two-sided minimum for n = 5
    assert r.mean_diff == pytest.approx((a - b).mean()) and r.n == 5


def test_paired_test_drops_incomplete_pairs_and_handles_constant_differences():
    assert stats.paired_test([1, 2, np.nan, 4], [0, 1, 2, np.nan]).n == 2
    const = stats.paired_test([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    assert const.p_t == 0.0 and math.isinf(const.dz)
    assert stats.paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).p_t == 1.0


def test_holm_textbook_example():
    # sorted p: 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max
    adj = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adj == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    out = stats.holm([0.01, np.nan])
    assert out[0] == pytest.approx(0.01) and math.isnan(out[1])


def test_cohen_dz():
    assert stats.cohen_dz([1.0, 2.0, 3.0]) == pytest.approx(2.0)  # mean 2, sd 1
    assert stats.cohen_dz([-1.0, -2.0, -3.0]) == pytest.approx(-2.0)
    assert math.isnan(stats.cohen_dz([1.0]))


def _res(diffs):
    return stats.paired_test(np.asarray(diffs, dtype=float), np.zeros(len(diffs)))


@pytest.mark.parametrize(
    "diffs, p_adj, min_effect, expected",
    [
        ([0.30, 0.32, 0.35, 0.31], 0.001, 0.05, stats.REPRODUCED),
        ([-0.30, -0.32, -0.35, -0.31], 0.001, 0.05, stats.NOT_REPRODUCED),  # significant the other way
        ([0.010, 0.012, 0.011, 0.009], 0.001, 0.05, stats.NOT_REPRODUCED),  # CI below the minimum effect
        ([0.30, -0.10, 0.40, 0.05], 0.30, 0.05, stats.INCONCLUSIVE),
        ([0.30, 0.32], 0.001, 0.05, stats.INCONCLUSIVE),  # fewer than MIN_SEEDS pairs
    ],
)
def test_verdict_rule(diffs, p_adj, min_effect, expected):
    assert stats.verdict(_res(diffs), p_adj, min_effect) == expected


def test_did_not_train_is_chance_plus_ten_points():
    assert stats.did_not_train(0.19, 10) and not stats.did_not_train(0.20, 10)
    assert stats.did_not_train(float("nan"), 10)  # diverged
    assert list(stats.did_not_train([0.5, 0.59, 0.61], 2)) == [True, True, False]
