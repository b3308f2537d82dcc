"""The claims table: each published claim tested on our runs, Holm-corrected over all claims.

What was claimed, where, and the published evidence live in ``report/published.yaml``; how each
claim is tested on our data lives here, in ``TESTS``. Two kinds of test:

- ``ClaimTest``: two inits compared seed by seed (same seeds, same data order: a paired design) on a
  metric oriented so that the claim says A - B > 0, which must beat a minimum effect to count as
  reproduced (``stats.VERDICT_RULE``). B may come from another study (``b_study``): the pairs then
  match on the seed alone, and pair independent nets.
- ``ShareTest``: a prediction checked cell by cell, e.g. "deep tanh nets train iff depth <= 6 xi_c"
  on the phase diagram: the share of cells where measurement and prediction agree, one-sided binomial
  test against a threshold fixed in ``published.yaml`` before the run (``stats.SHARE_RULE``).

Every claim contributes one p-value to the Holm family: the paired t-test's or the binomial test's.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from initbench import stats
from initbench.figures import critdata
from initbench.figures.data import Tables, deepest, final_rows, glorot_selection, published
from initbench.figures.style import init_label
from initbench.report.sections import Run

PAIR_ON = ["dataset", "depth", "width", "activation", "seed"]  # the grid minus init: one pair per value


@dataclass(frozen=True)
class ClaimTest:
    study: str
    a: str  # the init the claim says is better (larger metric)
    b: str
    metric: str  # "accuracy" | "symmetry" | "gradient_ratio" | "spread_growth"
    min_effect: float  # in the metric's units: accuracy as a fraction, ratios in log2
    activation: str | None = None
    deepest: bool = False
    b_study: str | None = None  # B's study, if not ``study``: pairs then match on the seed only


@dataclass(frozen=True)
class ShareTest:
    study: str
    threshold: str  # the key of the threshold share under published.yaml's numbers.<study>


TESTS = {
    # neurons count as different once they are 1e-3 apart: far above float32 round-off, far below training drift
    "same_weights_symmetric": ClaimTest("same_weights", "default", "ones", "symmetry", 1e-3),
    # 2 accuracy points: the smallest gap worth a lecture's warning; 5 points for the labs' "much better"
    "range_narrow": ClaimTest("xavier_lab", "uniform(-1,1)", "uniform(-0.05,0.05)", "accuracy", 0.02),
    "range_fan_in": ClaimTest("xavier_lab", "fan_in_uniform", "uniform(-1,1)", "accuracy", 0.02),
    "xavier_vs_uniform": ClaimTest("xavier_lab", "xavier_uniform", "uniform(0,1)", "accuracy", 0.05),
    "xavier_vs_default": ClaimTest("xavier_lab", "xavier_uniform", "default", "accuracy", 0.05),
    "he_vs_uniform": ClaimTest("he_lab", "he_uniform", "uniform(0,1)", "accuracy", 0.05),
    "he_vs_default": ClaimTest("he_lab", "he_uniform", "default", "accuracy", 0.05),
    "deep_relu": ClaimTest(
        "depth", "he_uniform", "xavier_uniform", "accuracy", 0.05, activation="relu", deepest=True
    ),
    # half a binary order of magnitude in (layer-1 gradient std / last hidden layer's)
    "glorot_gradients": ClaimTest(
        "glorot", "xavier_uniform", "default", "gradient_ratio", 0.5, activation="tanh"
    ),
    "depth_scale": ShareTest("criticality", "agreement_threshold"),
    # 5 points after the same SGD steps: "much faster", as the labs' "much better"
    "isometry_orthogonal": ClaimTest(
        "isometry", "orthogonal(1.761,0.05)", "gaussian(1.761,0.05)", "accuracy", 0.05
    ),
    # ReLU with its best chance of isometry, orthogonal weights (free probability: +1 per layer), against
    # orthogonal tanh at small q* (+0.004 per layer at sigma_w^2 = 1.05); the minimum effect is half of ReLU's 1
    "isometry_spread": ClaimTest(
        "isometry_relu", "orthogonal(2)", "orthogonal(1.05,2e-05)", "spread_growth", 0.5, b_study="isometry"
    ),
}
METRIC_TEXT = {
    "accuracy": "final validation accuracy (%)",
    "symmetry": "largest distance between the weight vectors of two hidden neurons after training",
    "gradient_ratio": "log2 of (gradient std of hidden layer 1 / of the last hidden layer) at init",
    "spread_growth": "spread of the Jacobian's spectrum (var / mean² of the squared singular values of "
    "dh_l/dh_1) gained per layer, from the shallowest to the deepest l, at init",
}


def _per_variant(tables: Tables, t: ClaimTest) -> tuple[pd.DataFrame, str]:
    """One row per variant with the claim's metric in ``value``, and a description of the cell used."""
    if t.metric == "spread_growth":
        g = critdata.spread_growth(critdata.spread(tables))
        return g.rename(columns={"growth": "value"}), "Jacobian spectra at init"
    if t.metric == "accuracy":
        s = tables.get("summary", t.study)
        if t.activation:
            s = s[s["activation"] == t.activation]
        if t.deepest:
            s = deepest(s)
        where = f"{t.study}" + (
            f", {t.activation}, {s['depth'].max()} x {s['width'].max()}" if t.deepest and len(s) else ""
        )
        return s.assign(value=s["final_val_accuracy"]), where
    if t.metric == "symmetry":
        lay = final_rows(tables.get("layers", t.study))
        lay = lay[lay["units"] > 1]
        v = lay.groupby(["variant", *PAIR_ON, "init"], as_index=False)["symmetry"].max()
        return v.rename(columns={"symmetry": "value"}), f"{t.study}, after training"
    sel = glorot_selection(tables)
    if sel is None:
        return pd.DataFrame(columns=[*PAIR_ON, "init", "value"]), "no tanh network with histograms"
    study, depth, width = sel
    lay = tables.get("layers", study)
    lay = lay[
        (lay["epoch"] == 0)
        & (lay["activation"] == t.activation)
        & (lay["depth"] == depth)
        & (lay["width"] == width)
    ]
    g = lay.pivot_table(index=["variant", *PAIR_ON, "init"], columns="layer", values="grad_std").reset_index()
    if g.empty:
        return pd.DataFrame(columns=[*PAIR_ON, "init", "value"]), f"{study}: no layers at init"
    return g.assign(value=np.log2(g[1] / g[depth])), f"{study}, tanh, {depth} x {width}, at init"


def _fmt(x: float, metric: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    if metric == "accuracy":
        return f"{100 * x:.1f}"
    return f"{x:.3g}" if metric == "symmetry" else f"{x:.2f}"


def _pairs(tables: Tables, t: ClaimTest) -> tuple[np.ndarray, np.ndarray, str]:
    """The paired values of A and B, and the cell they come from."""
    df, where = _per_variant(tables, t)
    if t.b_study:  # two studies: rows of A's study with init a, of B's with init b, matched on the seed
        df = pd.concat(
            [
                df[(df["study"] == t.study) & (df["init"] == t.a)],
                df[(df["study"] == t.b_study) & (df["init"] == t.b)],
            ]
        )
        wide = df.pivot_table(index="seed", columns="init", values="value") if len(df) else None
    else:
        wide = (
            df[df["init"].isin([t.a, t.b])].pivot_table(index=PAIR_ON, columns="init", values="value")
            if len(df)
            else None
        )
    if wide is None or t.a not in wide or t.b not in wide:
        return np.array([]), np.array([]), f"{where}: not run"
    return wide[t.a].to_numpy(), wide[t.b].to_numpy(), where


def _paired_row(tables: Tables, t: ClaimTest) -> dict:
    a, b, where = _pairs(tables, t)
    res = stats.paired_test(a, b)
    ma, la, ha, _ = stats.mean_ci(a)
    mb, lb, hb, _ = stats.mean_ci(b)
    unit = " %" if t.metric == "accuracy" else ""
    scale = 100 if t.metric == "accuracy" else 1
    ours_a = f"{_fmt(ma, t.metric)} ± {_fmt((ha - la) / 2, t.metric)}{unit}"
    ours_b = f"{_fmt(mb, t.metric)} ± {_fmt((hb - lb) / 2, t.metric)}{unit}"
    diff_text = f"{_fmt(res.mean_diff, t.metric)} [{_fmt(res.lo, t.metric)}, {_fmt(res.hi, t.metric)}]"
    min_effect_text = f"{t.min_effect * scale:g}" + (" points" if unit else "")
    a_label, b_label = init_label(t.a), init_label(t.b)
    if t.b_study:
        a_label, b_label = f"{t.study} {a_label}", f"{t.b_study} {b_label}"
    return {
        "test": "paired t-test",
        "study": t.study if not t.b_study else f"{t.study}, {t.b_study}",
        "where": where,
        "metric": METRIC_TEXT[t.metric],
        "a": t.a,
        "b": t.b,
        "a_label": a_label,
        "b_label": b_label,
        "mean_a": ma,
        "ci_a": (ha - la) / 2,
        "mean_b": mb,
        "ci_b": (hb - lb) / 2,
        "ours_a": ours_a,
        "ours_b": ours_b,
        "ours_text": f"{METRIC_TEXT[t.metric]}, {where}: {a_label} {ours_a}, {b_label} {ours_b}; "
        f"A − B = {diff_text}, n = {res.n}; minimum effect {min_effect_text}",
        "n": res.n,
        "diff": res.mean_diff,
        "diff_lo": res.lo,
        "diff_hi": res.hi,
        "diff_text": diff_text,
        "min_effect": t.min_effect,
        "min_effect_text": min_effect_text,
        "t": res.t,
        "p_t": res.p_t,
        "p_wilcoxon": res.p_wilcoxon,
        "dz": res.dz,
        "judge": lambda p_holm: stats.verdict(res, p_holm, t.min_effect),
    }


def _share_row(tables: Tables, t: ShareTest) -> dict:
    threshold = float(published()["numbers"][t.study][t.threshold])
    cells = critdata.phase_cells(tables)
    res = stats.share_test(int(cells["agrees"].sum()), len(cells), threshold)
    where = f"{t.study}, {len(cells)} cells (σw² × depth)" if len(cells) else f"{t.study}: not run"
    metric = (
        f"share of cells where “trains” (mean accuracy ≥ chance + {100 * stats.TRAINED_MARGIN:g} points) "
        f"agrees with “depth ≤ {critdata.depth_factor():g} ξ_c”"
    )
    ours = (
        f"{res.k} of {res.n} cells agree ({100 * res.share:.1f} %, {stats.CONFIDENCE:.0%} CI "
        f"{100 * res.lo:.1f}–{100 * res.hi:.1f} %); threshold {100 * threshold:g} %"
        if res.n
        else "no cells"
    )
    return {
        "test": "binomial test",
        "study": t.study,
        "where": where,
        "metric": metric,
        "a": "agreeing cells",
        "b": "threshold",
        "a_label": "agreeing cells",
        "b_label": "threshold",
        "mean_a": res.share,
        "ci_a": (res.hi - res.lo) / 2,
        "mean_b": threshold,
        "ci_b": 0.0,
        "ours_a": f"{100 * res.share:.1f} %" if res.n else "n/a",
        "ours_b": f"{100 * threshold:g} %",
        "ours_text": f"{metric}, {where}: {ours}",
        "n": res.n,
        "diff": res.share - threshold,
        "diff_lo": res.lo - threshold,
        "diff_hi": res.hi - threshold,
        "diff_text": "",
        "min_effect": 0.0,
        "min_effect_text": "",
        "t": math.nan,
        "p_t": res.p,
        "p_wilcoxon": math.nan,
        "dz": math.nan,
        "judge": lambda p_holm: stats.share_verdict(res, p_holm),
    }


def evaluate(tables: Tables) -> list[dict]:
    """Every claim of ``published.yaml``, tested: plain rows for the report and for the CSV."""
    pub = published()
    rows = []
    for c in pub["claims"]:
        t = TESTS[c["id"]]
        row = _share_row(tables, t) if isinstance(t, ShareTest) else _paired_row(tables, t)
        rows.append(
            {
                "id": c["id"],
                "claim": c["claim"],
                "source": c["source"],
                "source_cite": pub["sources"][c["source"]]["cite"],
                "published": c["published"].format(n=pub["numbers"]),
                **row,
            }
        )
    adjusted = stats.holm([r["p_t"] for r in rows])  # one p per claim: the paired t-test's or the binomial's
    for r, p in zip(rows, adjusted, strict=True):
        r["p_holm"] = float(p)
        r["verdict"] = r.pop("judge")(p)
        r["test_text"] = _test_text(r)
    return rows


def build(run: Run) -> dict:
    """The claims section: the verdict rows, their counts (the abstract prints those), the Holm family."""
    rows = evaluate(run.tables)
    verdicts = [r["verdict"] for r in rows]
    tested = [r["test"] for r in rows if np.isfinite(r["p_t"])]  # Holm counts the finite p-values only
    return {
        "rows": rows,
        "counts": {
            v: str(verdicts.count(v)) for v in (stats.REPRODUCED, stats.NOT_REPRODUCED, stats.INCONCLUSIVE)
        },
        "n": str(len(rows)),
        "n_family": str(len(tested)),
        "n_paired": str(tested.count("paired t-test")),
        "n_share": str(tested.count("binomial test")),
        "share_rule": stats.SHARE_RULE,
    }


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _test_text(r: dict) -> str:
    if r["test"] == "binomial test":
        if r["n"] < 1:
            return "no cells: no test"
        return (
            f"one-sided exact binomial test, {r['n']} cells, H0: share ≤ {100 * r['mean_b']:g} %: {_p(r['p_t'])}; "
            f"Holm-adjusted {_p(r['p_holm'])}"
        )
    if r["n"] < 2:
        return f"n = {r['n']}: no test"
    t = "inf" if math.isinf(r["t"]) else f"{r['t']:.2f}"
    dz = "inf" if math.isinf(r["dz"]) else f"{r['dz']:.2f}"
    return (
        f"paired t({r['n'] - 1}) = {t}, {_p(r['p_t'])}; Holm-adjusted {_p(r['p_holm'])}; "
        f"Wilcoxon {_p(r['p_wilcoxon'])}; d_z = {dz}"
    )


CSV_COLUMNS = (
    "id",
    "claim",
    "source",
    "test",
    "study",
    "where",
    "metric",
    "a",
    "b",
    "n",
    "mean_a",
    "ci_a",
    "mean_b",
    "ci_b",
    "diff",
    "diff_lo",
    "diff_hi",
    "min_effect",
    "t",
    "p_t",
    "p_holm",
    "p_wilcoxon",
    "dz",
    "verdict",
)


def write_csv(rows: list[dict], path: Path) -> None:
    """The verdicts as CSV, one row per claim, numbers unformatted (accuracies as fractions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([f"{r[c]:.6g}" if isinstance(r[c], float) else r[c] for c in CSV_COLUMNS])
