"""Confidence intervals, paired tests across seeds, Holm's correction and the verdict rule.

The benchmark's design is paired: every init of a study sees the same seeds and, for a given
seed, the same data order. So a comparison of two inits uses the per-seed differences
d_i = metric(A, seed i) - metric(B, seed i), and its tests are paired tests on those d_i.
Torch-free; numpy, pandas and scipy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

ALPHA = 0.05  # family-wise error rate of the claims table
CONFIDENCE = 0.95  # level of every interval in the report
MIN_SEEDS = 3  # fewer paired seeds than this: the verdict is INCONCLUSIVE whatever the p-value

REPRODUCED = "REPRODUCED"
NOT_REPRODUCED = "NOT REPRODUCED"
INCONCLUSIVE = "INCONCLUSIVE"

# A run "did not train" when its final accuracy is below chance + this margin (in accuracy, not
# points of percent): the criticality study's phase diagram, the leaderboard's failure count and
# the report's flags all use this one rule.
TRAINED_MARGIN = 0.10


def chance_accuracy(n_classes: int) -> float:
    """The accuracy of guessing: 1 / classes (a balanced task)."""
    return 1.0 / max(int(n_classes), 1)


def did_not_train(accuracy, n_classes: int):
    """True where a final accuracy (a fraction, or an array of them) is below chance + ``TRAINED_MARGIN``.

    A diverged run (NaN accuracy) did not train either.
    """
    acc = np.asarray(accuracy, dtype=float)
    out = ~(acc >= chance_accuracy(n_classes) + TRAINED_MARGIN)
    return bool(out) if out.ndim == 0 else out


VERDICT_RULE = (
    f"REPRODUCED if the Holm-adjusted p-value of the paired t-test is below {ALPHA:g}, the mean "
    "paired difference has the claimed sign and is at least the claim's minimum effect; "
    f"NOT REPRODUCED if it is significant in the other direction, or if the {CONFIDENCE:.0%} "
    "confidence interval of the mean difference lies entirely below the minimum effect; "
    f"otherwise INCONCLUSIVE, and always INCONCLUSIVE with fewer than {MIN_SEEDS} paired seeds."
)


def t_halfwidth(sd: float, n: int, confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student-t confidence interval of a mean: t_{(1+c)/2, n-1} * sd / sqrt(n)."""
    if n < 2 or not np.isfinite(sd):
        return math.nan
    return float(sps.t.ppf((1 + confidence) / 2, n - 1) * sd / math.sqrt(n))


def mean_ci(values, confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """Mean and Student-t confidence interval of the finite values: ``(mean, lo, hi, n)``.

    With one value the bounds are NaN; with none everything is NaN and n is 0.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    h = t_halfwidth(float(x.std(ddof=1)) if n > 1 else math.nan, n, confidence)
    return m, m - h, m + h, n


def summarise(df, by: list[str], value: str, confidence: float = CONFIDENCE, log: bool = False):
    """Mean, t-interval and count of ``value`` per group: columns ``by + [mean, lo, hi, n]``.

    Vectorised over groups (a curve of 500 iterations x 6 inits is one call), NaNs dropped.
    With ``log=True`` it is the geometric mean and the interval of the mean of log(value),
    mapped back: what a log-scale axis should show for a positive quantity spanning decades.
    """
    df = df.dropna(subset=[value])
    if log:
        df = df[df[value] > 0].assign(**{value: np.log(df.loc[df[value] > 0, value])})
    g = df.groupby(by, sort=True, observed=True)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy()
    q = np.full(n.shape, np.nan)
    ok = n >= 2
    q[ok] = sps.t.ppf((1 + confidence) / 2, n[ok] - 1)
    half = q * out["std"].to_numpy() / np.sqrt(np.maximum(n, 1))
    out["lo"] = out["mean"] - half
    out["hi"] = out["mean"] + half
    if log:
        out[["mean", "lo", "hi"]] = np.exp(out[["mean", "lo", "hi"]])
    return out.rename(columns={"count": "n"})[list(by) + ["mean", "lo", "hi", "n"]]


def cohen_dz(diffs) -> float:
    """Cohen's d_z of paired differences: mean(d) / sd(d), sd with ddof=1 (Cohen 1988; Lakens 2013).

    Infinite (signed) when every difference is the same non-zero number; NaN with under 2 values.
    """
    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        return math.nan
    m, s = float(d.mean()), float(d.std(ddof=1))
    if s == 0:
        return 0.0 if m == 0 else math.copysign(math.inf, m)
    return m / s


@dataclass(frozen=True)
class PairedResult:
    """A paired comparison of A against B over seeds; differences are A - B."""

    n: int
    mean_diff: float
    lo: float  # confidence interval of the mean difference
    hi: float
    t: float
    p_t: float  # two-sided paired t-test
    p_wilcoxon: float  # two-sided Wilcoxon signed-rank (exact for small n), NaN if undefined
    dz: float


def paired_test(a, b, confidence: float = CONFIDENCE) -> PairedResult:
    """Paired t-test and Wilcoxon signed-rank test of A vs B, with the CI of the mean difference.

    Pairs where either value is missing are dropped. When every difference is identical the
    t statistic is undefined; we then report p = 0 for a non-zero difference (the deterministic
    case, e.g. an init with no randomness) and p = 1 for a zero one.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    n = int(d.size)
    m, lo, hi, _ = mean_ci(d, confidence)
    if n < 2:
        return PairedResult(n, m, lo, hi, math.nan, math.nan, math.nan, math.nan)
    if float(d.std(ddof=1)) == 0:
        t = 0.0 if m == 0 else math.copysign(math.inf, m)
        p = 1.0 if m == 0 else 0.0
    else:
        res = sps.ttest_rel(a[keep], b[keep])
        t, p = float(res.statistic), float(res.pvalue)
    p_w = math.nan
    if np.any(d != 0):
        p_w = float(sps.wilcoxon(d, zero_method="wilcox").pvalue)
    return PairedResult(n, m, lo, hi, t, p, p_w, cohen_dz(d))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order; NaNs pass through.

    Sorted ascending, p_(k) is multiplied by (m - k + 1), made monotone by a running maximum,
    and capped at 1. m counts the finite p-values only.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adj = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adj, 1.0)
    return out


def verdict(res: PairedResult, p_adjusted: float, min_effect: float, alpha: float = ALPHA) -> str:
    """Apply ``VERDICT_RULE`` to a paired result whose differences are oriented so the claim says > 0."""
    if res.n < MIN_SEEDS or not np.isfinite(p_adjusted):
        return INCONCLUSIVE
    significant = p_adjusted < alpha
    if significant and res.mean_diff > 0 and res.mean_diff >= min_effect:
        return REPRODUCED
    if significant and res.mean_diff < 0:
        return NOT_REPRODUCED
    if np.isfinite(res.hi) and res.hi < min_effect:
        return NOT_REPRODUCED
    return INCONCLUSIVE


SHARE_RULE = (
    f"REPRODUCED if the Holm-adjusted p-value of the one-sided binomial test (H0: the share of agreeing "
    f"cells is at most the threshold) is below {ALPHA:g}; NOT REPRODUCED if the {CONFIDENCE:.0%} "
    "Clopper-Pearson interval of the share lies entirely below the threshold; otherwise INCONCLUSIVE."
)


@dataclass(frozen=True)
class ShareResult:
    """k successes of n against a threshold share: the share, its Clopper-Pearson interval, the p-value."""

    k: int
    n: int
    share: float
    lo: float
    hi: float
    threshold: float
    p: float  # one-sided binomial test, H1: the true share is above the threshold


def share_test(k: int, n: int, threshold: float, confidence: float = CONFIDENCE) -> ShareResult:
    """One-sided exact binomial test of k of n against ``threshold``, with the share's Clopper-Pearson interval."""
    if n < 1:
        return ShareResult(0, 0, math.nan, math.nan, math.nan, threshold, math.nan)
    res = sps.binomtest(int(k), int(n), threshold, alternative="greater")
    ci = sps.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return ShareResult(int(k), int(n), k / n, float(ci.low), float(ci.high), threshold, float(res.pvalue))


def share_verdict(res: ShareResult, p_adjusted: float, alpha: float = ALPHA) -> str:
    """Apply ``SHARE_RULE``."""
    if res.n < 1 or not np.isfinite(p_adjusted):
        return INCONCLUSIVE
    if p_adjusted < alpha:
        return REPRODUCED
    if res.hi < res.threshold:
        return NOT_REPRODUCED
    return INCONCLUSIVE
