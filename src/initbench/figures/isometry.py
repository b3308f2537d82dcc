"""Figures of dynamical isometry (Pennington et al. 2017): Jacobian spectra at init, their spread against
depth with the free-probability prediction, and the learning curves of deep nets at the edge of chaos.

An *arm* is one (activation, init) of the studies ``isometry`` and ``isometry_relu``: a colour per arm,
solid for orthogonal weights and dashed for i.i.d. ones, in every figure. Each function takes the
aggregate tables and the config and returns a matplotlib Figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initbench import stats
from initbench.figures import critdata
from initbench.figures.data import Tables, percent
from initbench.figures.style import BAND_ALPHA, EXTRA_COLORS, empty_figure, subplots

# Okabe & Ito: tanh arms in pairs (i.i.d., orthogonal) from the largest sigma_b^2 down; ReLU's in warm colours
TANH_PAIRS = (("#56B4E9", "#0072B2"), ("#CC79A7", "#009E73"))
RELU_PAIR = ("#E69F00", "#D55E00")
SQ_FLOOR = 1e-8  # squared singular values below this (ReLU's zeros) are drawn at it


def arms(df: pd.DataFrame) -> list[dict]:
    """The (activation, init, width) arms in ``df``, ordered tanh then ReLU, larger sigma_b^2 first, each
    with its label, colour and line style."""
    keys = df[["activation", "init", "width"]].drop_duplicates().itertuples(index=False)
    out = []
    for act, init, width in keys:
        sig = critdata.init_sigmas(init, width) or (np.nan, np.nan)
        out.append(
            {"activation": act, "init": init, "width": int(width), "sigma_w2": sig[0], "sigma_b2": sig[1]}
        )
    out.sort(
        key=lambda a: (a["activation"] != "tanh", a["activation"], -a["sigma_b2"], a["sigma_w2"], a["init"])
    )
    levels = sorted({a["sigma_b2"] for a in out if a["activation"] == "tanh"}, reverse=True)
    for a in out:
        ortho = critdata.weights_kind(a["init"]) == "orthogonal"
        if a["activation"] == "relu":
            pair = RELU_PAIR
        else:
            i = levels.index(a["sigma_b2"])
            pair = (
                TANH_PAIRS[i]
                if i < len(TANH_PAIRS)
                else (EXTRA_COLORS[2 * i % 6], EXTRA_COLORS[(2 * i + 1) % 6])
            )
        a.update(
            color=pair[ortho],
            linestyle="-" if ortho else "--",
            label=critdata.arm_label(a["activation"], a["init"], a["width"]),
        )
    return out


def select_arm(df: pd.DataFrame, arm: dict) -> pd.DataFrame:
    """The rows of ``df`` that belong to ``arm``."""
    return df[
        (df["activation"] == arm["activation"]) & (df["init"] == arm["init"]) & (df["width"] == arm["width"])
    ]


def _isometry_rows(tables: Tables, table: str) -> pd.DataFrame:
    frames = [tables.get(table, s) for s in critdata.ISOMETRY_STUDIES]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fig_jacobian_spectra(tables: Tables, config: dict):
    """Histograms of log10 of the squared singular values of dh_l/dh_1, a row per activation, a column per depth.

    The y axis is the share of values per bin on a log scale, so that the pile at the floor (ReLU's zeros)
    does not flatten the shape near 1.
    """
    sp = tables.get("spectra")
    if sp.empty:
        return empty_figure("No rows in table 'spectra' (no study sets stats.jacobian).")
    layers = sorted(int(x) for x in sp["layer"].unique() if x > 1)
    shown = sorted({layers[0], layers[len(layers) // 2], layers[-1]}) if layers else []
    if not shown:
        return empty_figure("Table 'spectra' holds no Jacobian of 2 or more layers.")
    acts = [a for a in ("tanh", "relu") if a in set(sp["activation"])] or sorted(sp["activation"].unique())
    fig, axes = subplots(len(shown), nrows=len(acts), height=1.75, squeeze=False, sharex=True, sharey=True)
    lam = np.log10(np.maximum(sp["singular_value"].astype(float) ** 2, SQ_FLOOR))
    bins = np.linspace(np.log10(SQ_FLOOR), max(float(lam.max()), 1.0) + 0.1, 45)
    sp = sp.assign(loglam=lam)
    for row, act in enumerate(acts):
        for col, layer in enumerate(shown):
            ax = axes[row][col]
            for arm in arms(sp[sp["activation"] == act]):
                v = select_arm(sp, arm)
                v = v[v["layer"] == layer]["loglam"]
                if v.empty:
                    continue
                share, _ = np.histogram(v, bins=bins, weights=np.full(len(v), 1.0 / len(v)))
                ax.stairs(share, bins, color=arm["color"], linestyle=arm["linestyle"], linewidth=1.2,
                          label=arm["label"] if col == 0 else None)  # fmt: skip
            ax.axvline(0.0, color="#999999", linewidth=0.7)
            ax.set(yscale="log", ylim=(1e-3, 1.5))
            ax.set_title(f"{act}: dh_{layer}/dh_1", fontsize=7.5)
            if row == len(acts) - 1:
                ax.set_xlabel("log₁₀ (singular value²)")
            if col == 0:
                ax.set_ylabel("share per bin")
    fig.legend(loc="outside lower center", ncols=2, fontsize=6.2)
    return fig


def fig_jacobian_spread(tables: Tables, config: dict):
    """Var/mean^2 of the squared singular values against depth, measured and predicted."""
    spreads = critdata.spread(tables)
    spreads = spreads[spreads["layer"] > 1]
    if spreads.empty:
        return empty_figure("No Jacobian of 2 or more layers in table 'spectra'.")
    fig, ax = subplots(1, height=3.0)
    for arm in arms(spreads):
        g = select_arm(spreads, arm)
        summ = stats.summarise(g, ["layer"], "spread", log=True)
        ax.plot(
            summ["layer"],
            summ["mean"],
            marker="o",
            markersize=3,
            color=arm["color"],
            linestyle="none",
            label=arm["label"],
        )
        ax.fill_between(
            summ["layer"], summ["lo"], summ["hi"], color=arm["color"], alpha=BAND_ALPHA, linewidth=0
        )
        theory = g.groupby("layer", as_index=False)["spread_theory"].first()
        ax.plot(
            theory["layer"],
            theory["spread_theory"],
            color=arm["color"],
            linestyle=arm["linestyle"],
            linewidth=1.0,
        )
    width = int(spreads["width"].max())
    ax.axhline(
        width - 1,
        color="#777777",
        linestyle=":",
        linewidth=1.0,
        label=f"largest possible, N − 1 = {width - 1}",
    )
    ax.plot([], [], color="#555555", linestyle="--", linewidth=1.0, label="free-probability prediction")
    depths = sorted(spreads["layer"].unique())
    ax.set(xscale="log", yscale="log", xlabel="l (Jacobian of the first l hidden layers)",
           ylabel="var / mean² of singular value²", title="Spread of the Jacobian's spectrum at init")  # fmt: skip
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.minorticks_off()
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=6.2)
    return fig


def fig_isometry_curves(tables: Tables, config: dict):
    """Training loss per SGD step (10-step means) and the final accuracy of each arm, over seeds."""
    it = _isometry_rows(tables, "iterations")
    summary = _isometry_rows(tables, "summary")
    if it.empty or summary.empty:
        return empty_figure("No rows for studies 'isometry' or 'isometry_relu' in table 'iterations'.")
    it = it.sort_values(["variant", "iteration"])
    it["smooth"] = it.groupby("variant")["loss"].transform(lambda x: x.rolling(10, min_periods=1).mean())
    fig, (ax1, ax2) = subplots(2, height=2.9, gridspec_kw={"width_ratios": [1.5, 1]})
    labels, means = [], []
    for i, arm in enumerate(arms(summary)):
        curves = stats.summarise(select_arm(it, arm), ["iteration"], "smooth", log=True)
        ax1.plot(
            curves["iteration"],
            curves["mean"],
            color=arm["color"],
            linestyle=arm["linestyle"],
            label=arm["label"],
        )
        ax1.fill_between(
            curves["iteration"], curves["lo"], curves["hi"], color=arm["color"], alpha=BAND_ALPHA, linewidth=0
        )
        acc = percent(select_arm(summary, arm)["final_val_accuracy"])
        m, lo, hi, _ = stats.mean_ci(acc)
        ax2.errorbar(m, i, xerr=[[m - lo if np.isfinite(lo) else 0], [hi - m if np.isfinite(hi) else 0]], fmt="o",
                     color=arm["color"], markersize=4)  # fmt: skip
        labels.append(arm["label"].replace(", σw²", "\nσw²"))
        means.append(m)
    depth = int(summary["depth"].max())
    ax1.set(
        yscale="log",
        xlabel="SGD step",
        ylabel="training loss (10-step mean)",
        title=f"depth {depth}: learning curves",
    )
    fig.legend(*ax1.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=6.2)
    ax2.set_yticks(range(len(labels)), labels, fontsize=5.5)
    ax2.invert_yaxis()
    ax2.set(xlabel="final validation accuracy (%)", title="after training")
    return fig
