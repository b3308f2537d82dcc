"""Figures of the course's labs and lecture: same weights, the range argument, Xavier and He labs.

Each function takes the aggregate tables and the config and returns a matplotlib Figure.
"""

from __future__ import annotations

import numpy as np

from initbench import stats, theory
from initbench.figures.data import Tables, n_train, percent, published, study_kind
from initbench.figures.style import (
    empty_figure,
    init_color,
    init_label,
    init_order,
    plot_band,
    subplots,
)

RANGE_INITS = ("uniform(-1,1)", "uniform(-0.05,0.05)", "fan_in_uniform", "default")
LAB_INITS = {
    "xavier_lab": ("uniform(0,1)", "default", "xavier_uniform"),
    "he_lab": ("uniform(0,1)", "default", "he_uniform"),
}


def _missing(study: str, table: str):
    return empty_figure(f"No rows for study '{study}' in table '{table}'.")


def fig_same_weights_loss(tables: Tables, config: dict):
    ep = tables.get("epochs", "same_weights")
    ep = ep[ep["epoch"] > 0]
    n = n_train(tables, "same_weights")
    if ep.empty or n is None:
        return _missing("same_weights", "epochs")
    summ = stats.summarise(ep.assign(loss_sum=ep["train_loss"] * n), ["init", "epoch"], "loss_sum", log=True)
    fig, ax = subplots(1, height=2.4)
    pub = published()["numbers"]["same_weights"]["loss_sum"]
    for init in init_order(summ["init"]):
        plot_band(ax, summ, "epoch", init)
        if init in pub:
            ax.axhline(
                pub[init],
                color=init_color(init),
                linestyle=":",
                linewidth=1.1,
                label=f"{init_label(init)}, published",
            )
    ax.set(yscale="log", xlabel="epoch", ylabel=f"training loss, sum over {n} points")
    ax.legend(ncols=2)
    return fig


def fig_same_weights_hidden(tables: Tables, config: dict):
    h = tables.get("hidden", "same_weights")
    if h.empty:
        return _missing("same_weights", "hidden")
    h = h[h["seed"] == h["seed"].min()]
    inits = init_order(h["init"])
    fig, axes = subplots(len(inits), height=2.6, squeeze=False, sharex=True, sharey=True)
    for ax, init in zip(axes[0], inits, strict=True):
        wide = (
            h[h["init"] == init]
            .pivot_table(index=["sample", "label"], columns="unit", values="value")
            .reset_index()
        )
        u1, u2 = sorted(c for c in wide.columns if c not in ("sample", "label"))[:2]
        for label, (marker, face) in zip(
            sorted(wide["label"].unique()), [("o", "none"), ("^", "#333333")], strict=False
        ):
            pts = wide[wide["label"] == label]
            ax.scatter(
                pts[u1],
                pts[u2],
                marker=marker,
                facecolors=face,
                edgecolors="#333333",
                s=18,
                linewidths=0.8,
                label=f"class {label}",
            )
        ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=0.8, zorder=0)
        ax.set_title(init_label(init), color=init_color(init), fontweight="bold")
        ax.set(
            xlabel="hidden unit 1",
            ylabel="hidden unit 2",
            xlim=(-0.05, 1.05),
            ylim=(-0.05, 1.05),
            aspect="equal",
        )
    axes[0][0].legend(loc="upper left")
    return fig


def fig_same_weights_symmetry(tables: Tables, config: dict):
    lay = tables.get("layers", "same_weights")
    lay = lay[lay["units"] > 1]  # a one-unit layer is trivially symmetric
    if lay.empty:
        return _missing("same_weights", "layers")
    summ = stats.summarise(lay, ["init", "epoch"], "symmetry")
    fig, ax = subplots(1, height=2.2)
    for init in init_order(summ["init"]):
        plot_band(ax, summ, "epoch", init, marker="o", markersize=3)
    ax.set(xlabel="epoch", ylabel="max distance between neurons")
    ax.legend()
    return fig


def fig_range_tanh_derivative(tables: Tables, config: dict):
    lec = published()["numbers"]["lecture_range"]
    a, w = lec["input"], lec["weight"]
    fig, (ax1, ax2) = subplots(2, height=2.4)
    z = np.linspace(-4, 4, 400)
    ax1.plot(z, np.tanh(z), color="#555555", label="tanh(z)")
    ax1.plot(z, theory.fan_in_saturation(z, 1.0, 1.0), color="#000000", linestyle="--", label="tanh'(z)")
    for n in lec["n_in"]:
        zn = n * w * a
        if zn <= z.max():
            d = float(theory.fan_in_saturation(n, w, a))
            ax1.plot([zn], [d], "o", color="#000000", markersize=4)
            ax1.annotate(
                f"n_in={n}: tanh'({zn:g})={d:.2f}",
                (zn, d),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=7,
            )
    ax1.set(xlabel="z", ylim=(-1.1, 1.1))
    ax1.legend(loc="lower right")
    n_in = np.arange(1, max(lec["n_in"]) + 1)
    ax2.plot(n_in, theory.fan_in_saturation(n_in, w, a), color="#000000", label=f"w = {w:g}")
    ax2.plot(
        n_in,
        theory.fan_in_saturation(n_in, w / n_in, a),
        color=init_color("fan_in_uniform"),
        linestyle="--",
        label="w = 1/n_in",
    )
    for n in lec["n_in"]:
        d = float(theory.fan_in_saturation(n, w, a))
        ax2.plot([n], [d], "o", color="#000000", markersize=4)
        if n * w * a > z.max():  # the others are annotated on the left
            ax2.annotate(
                f"n_in={n}: {d:.2g}",
                (n, d),
                textcoords="offset points",
                xytext=(-4, 6),
                ha="right",
                fontsize=7,
            )
    ax2.set(
        xscale="log",
        yscale="log",
        ylim=(1e-50, 10),
        xlabel=f"fan-in n_in (inputs a = {a:g})",
        ylabel="tanh'(n_in w a)",
    )
    ax2.legend(loc="lower left")
    return fig


def _curves(tables: Tables, config: dict, study: str, inits, log_loss: bool, pub_key: str | None):
    it = tables.get("iterations", study)
    ep = tables.get("epochs", study)
    it, ep = it[it["init"].isin(inits)], ep[ep["init"].isin(inits)]
    if ep.empty:
        return _missing(study, "epochs")
    fig, (ax1, ax2) = subplots(2, height=2.5)
    loss = stats.summarise(it, ["init", "iteration"], "loss", log=log_loss)
    acc = stats.summarise(ep.assign(acc=percent(ep["val_accuracy"])), ["init", "epoch"], "acc")
    for init in [i for i in inits if i in set(ep["init"])]:
        plot_band(ax1, loss, "iteration", init, linewidth=1.0)
        plot_band(ax2, acc, "epoch", init, marker="o", markersize=2.5)
    ax1.set(xlabel="iteration", ylabel="training loss", yscale="log" if log_loss else "linear")
    ax2.set(xlabel="epoch", ylabel="validation accuracy (%)", ylim=(0, 100))
    if pub_key:
        pub = published()["numbers"][pub_key]
        same = study_kind(config, study) == pub["dataset"]
        for init, value in pub["val_accuracy"].items():
            if same and init in set(ep["init"]):
                ax2.plot(
                    [pub["epoch"]],
                    [value],
                    marker="*",
                    markersize=10,
                    color=init_color(init),
                    markeredgecolor="#000000",
                    markeredgewidth=0.6,
                    linestyle="none",
                )
        if same:
            ax2.plot(
                [],
                [],
                marker="*",
                color="#ffffff",
                markeredgecolor="#000000",
                linestyle="none",
                label=f"published ({pub['seeds']} seed)",
            )
    ax2.legend(loc="upper left", ncols=2)
    return fig


def fig_range_curves(tables: Tables, config: dict):
    return _curves(tables, config, "xavier_lab", RANGE_INITS, log_loss=True, pub_key=None)


def fig_lab_xavier_tanh(tables: Tables, config: dict):
    return _curves(
        tables, config, "xavier_lab", LAB_INITS["xavier_lab"], log_loss=False, pub_key="xavier_lab"
    )


def fig_lab_he_relu(tables: Tables, config: dict):
    return _curves(tables, config, "he_lab", LAB_INITS["he_lab"], log_loss=True, pub_key="he_lab")
