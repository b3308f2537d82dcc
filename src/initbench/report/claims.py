"""The claims table: each published claim tested on our runs, paired across seeds, Holm-corrected.

What was claimed, where, and the published evidence live in ``report/published.yaml``; how each
claim is tested on our data lives here, in ``TESTS``. Every test compares two inits of one study
seed by seed (same seeds, same data order: a paired design) on a metric oriented so that the claim
says A - B > 0, and must beat a minimum effect to count as reproduced (``stats.VERDICT_RULE``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from initbench import stats
from initbench.figures.data import Tables, deepest, final_rows, glorot_selection, published
from initbench.figures.style import init_label
from initbench.report.sections import Run

PAIR_ON = ["dataset", "depth", "width", "activation", "seed"]  # the grid minus init: one pair per value


@dataclass(frozen=True)
class ClaimTest:
    study: str
    a: str  # the init the claim says is better (larger metric)
    b: str
    metric: str  # "accuracy" | "symmetry" | "gradient_ratio"
    min_effect: float  # in the metric's units: accuracy as a fraction, ratios in log2
    activation: str | None = None
    deepest: bool = False


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
}
METRIC_TEXT = {
    "accuracy": "final validation accuracy (%)",
    "symmetry": "largest distance between the weight vectors of two hidden neurons after training",
    "gradient_ratio": "log2 of (gradient std of hidden layer 1 / of the last hidden layer) at init",
}


def _per_variant(tables: Tables, t: ClaimTest) -> tuple[pd.DataFrame, str]:
    """One row per variant with the claim's metric in ``value``, and a description of the cell used."""
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


def evaluate(tables: Tables) -> list[dict]:
    """Every claim of ``published.yaml``, tested: plain rows for the report and for the CSV."""
    pub = published()
    rows = []
    for c in pub["claims"]:
        t = TESTS[c["id"]]
        df, where = _per_variant(tables, t)
        wide = (
            df[df["init"].isin([t.a, t.b])].pivot_table(index=PAIR_ON, columns="init", values="value")
            if len(df)
            else None
        )
        has = wide is not None and t.a in wide and t.b in wide
        a = wide[t.a].to_numpy() if has else np.array([])
        b = wide[t.b].to_numpy() if has else np.array([])
        res = stats.paired_test(a, b)
        ma, la, ha, _ = stats.mean_ci(a)
        mb, lb, hb, _ = stats.mean_ci(b)
        unit = " %" if t.metric == "accuracy" else ""
        scale = 100 if t.metric == "accuracy" else 1
        rows.append(
            {
                "id": c["id"],
                "claim": c["claim"],
                "source": c["source"],
                "source_cite": pub["sources"][c["source"]]["cite"],
                "published": c["published"].format(n=pub["numbers"]),
                "study": t.study,
                "where": where if has else f"{where}: not run",
                "metric": METRIC_TEXT[t.metric],
                "a": t.a,
                "b": t.b,
                "a_label": init_label(t.a),
                "b_label": init_label(t.b),
                "mean_a": ma,
                "ci_a": (ha - la) / 2,
                "mean_b": mb,
                "ci_b": (hb - lb) / 2,
                "ours_a": f"{_fmt(ma, t.metric)} ± {_fmt((ha - la) / 2, t.metric)}{unit}",
                "ours_b": f"{_fmt(mb, t.metric)} ± {_fmt((hb - lb) / 2, t.metric)}{unit}",
                "n": res.n,
                "diff": res.mean_diff,
                "diff_lo": res.lo,
                "diff_hi": res.hi,
                "diff_text": f"{_fmt(res.mean_diff, t.metric)} [{_fmt(res.lo, t.metric)}, {_fmt(res.hi, t.metric)}]",
                "min_effect": t.min_effect,
                "min_effect_text": f"{t.min_effect * scale:g}" + (" points" if unit else ""),
                "t": res.t,
                "p_t": res.p_t,
                "p_wilcoxon": res.p_wilcoxon,
                "dz": res.dz,
                "result": res,
            }
        )
    adjusted = stats.holm([r["p_t"] for r in rows])
    for r, p in zip(rows, adjusted, strict=True):
        r["p_holm"] = float(p)
        r["verdict"] = stats.verdict(r.pop("result"), p, r["min_effect"])
        r["test_text"] = _test_text(r)
    return rows


def build(run: Run) -> dict:
    """Section 9: the verdict rows, and their counts (the abstract prints those)."""
    rows = evaluate(run.tables)
    verdicts = [r["verdict"] for r in rows]
    return {
        "rows": rows,
        "counts": {
            v: str(verdicts.count(v)) for v in (stats.REPRODUCED, stats.NOT_REPRODUCED, stats.INCONCLUSIVE)
        },
        "n": str(len(rows)),
    }


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _test_text(r: dict) -> str:
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
