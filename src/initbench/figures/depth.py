"""Figures of the deep-network studies: Glorot & Bengio's histograms, signal propagation with its
theory, He et al.'s deep ReLU net, and the depth x init accuracy map.

Each function takes the aggregate tables and the config and returns a matplotlib Figure.
"""

from __future__ import annotations

import seaborn as sns
from matplotlib.patches import Rectangle

from initbench import stats, theory
from initbench.figures.data import Tables, deepest, did_not_train, glorot_selection, n_classes, percent
from initbench.figures.style import (
    empty_figure,
    init_color,
    init_label,
    init_order,
    plot_band,
    subplots,
)

GLOROT_INITS = (("default", "standard"), ("xavier_uniform", "normalized"))


def fig_glorot_histograms(tables: Tables, config: dict):
    sel = glorot_selection(tables)
    if sel is None:
        return empty_figure(
            "No tanh histograms of the default and Xavier inits in the depth study or the Xavier lab."
        )
    study, depth, width = sel
    h = tables.get("histograms", study)
    h = h[(h["activation"] == "tanh") & (h["depth"] == depth) & (h["width"] == width) & (h["layer"] <= depth)]
    fig, axes = subplots(2, nrows=2, height=2.1, sharey="row", sharex="row")
    cmap = sns.color_palette("crest", n_colors=depth)
    for col, (init, paper_name) in enumerate(GLOROT_INITS):
        for row, quantity in enumerate(("activation", "gradient")):
            ax = axes[row][col]
            q = h[(h["init"] == init) & (h["quantity"] == quantity)]
            # pooled over seeds: bins are per layer, so sum counts bin by bin
            pooled = q.groupby(["layer", "bin_left", "bin_right"], as_index=False)["count"].sum()
            for layer, g in pooled.groupby("layer"):
                width_bins = (g["bin_right"] - g["bin_left"]).to_numpy()
                density = g["count"].to_numpy() / max(g["count"].sum(), 1) / width_bins
                ax.plot(
                    (g["bin_left"] + g["bin_right"]) / 2,
                    density,
                    color=cmap[int(layer) - 1],
                    label=f"layer {int(layer)}",
                    linewidth=1.1,
                )
            ax.set_title(f"{quantity}s, {init_label(init)} ({paper_name})", color=init_color(init))
            ax.set(
                xlabel="activation value" if quantity == "activation" else "back-propagated gradient",
                ylabel="density" if col == 0 else None,
            )
            ax.locator_params(axis="x", nbins=5)
            if quantity == "gradient":
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
    axes[0][0].legend(ncols=1 if depth <= 6 else 2)
    fig.suptitle(f"{study}: tanh, {depth} hidden layers of {width} units", fontsize=8)
    return fig


def fig_signal_propagation(tables: Tables, config: dict):
    lay = deepest(tables.get("layers", "depth"))
    if lay.empty:
        return empty_figure("No rows for study 'depth' in table 'layers'.")
    depth = int(lay["depth"].iloc[0])
    lay = lay[(lay["epoch"] == 0) & (lay["layer"] <= depth)].copy()
    last = lay[lay["layer"] == depth].set_index("variant")["grad_std"]
    lay["grad_rel"] = lay["grad_std"] / lay["variant"].map(last)
    acts = sorted(lay["activation"].unique())
    fig, axes = subplots(2, nrows=len(acts), height=2.2, squeeze=False, sharex=True)
    for row, act in enumerate(acts):
        a = lay[lay["activation"] == act]
        for col, value in enumerate(("act_std", "grad_rel")):
            ax = axes[row][col]
            summ = stats.summarise(a, ["init", "layer"], value)
            for init in init_order(a["init"]):
                plot_band(
                    ax,
                    summ,
                    "layer",
                    init,
                    marker="o",
                    markersize=2.5,
                    linewidth=0.8,
                    markevery=max(1, depth // 10),
                )
                cell = a[(a["init"] == init)].groupby("layer", as_index=False)[["units", "act_std"]].mean()
                pred = theory.predict(act, init, cell["units"], float(cell["act_std"].iloc[0]))
                if pred is not None:
                    ax.plot(
                        cell["layer"],
                        pred[col],
                        color=init_color(init),
                        linestyle="--",
                        linewidth=2.0,
                        alpha=0.55,
                    )
            ax.set(
                yscale="log",
                title=f"{act}: " + ("activation std" if col == 0 else "gradient std / last layer's"),
            )
            if row == len(acts) - 1:
                ax.set_xlabel("hidden layer")
    axes[0][0].plot([], [], color="#555555", linestyle="--", label="theory")
    axes[0][0].legend(ncols=2)
    return fig


def fig_deep_relu(tables: Tables, config: dict):
    ep = deepest(tables.get("epochs", "depth"))
    ep = ep[ep["activation"] == "relu"]
    if ep.empty:
        return empty_figure("No ReLU rows for study 'depth' in table 'epochs'.")
    fig, (ax1, ax2) = subplots(2, height=2.4)
    err = stats.summarise(ep.assign(err=100 - percent(ep["val_accuracy"])), ["init", "epoch"], "err")
    loss = stats.summarise(ep[ep["epoch"] > 0], ["init", "epoch"], "train_loss", log=True)
    for init in init_order(ep["init"]):
        plot_band(ax1, err, "epoch", init, marker="o", markersize=2.5)
        plot_band(ax2, loss, "epoch", init, marker="o", markersize=2.5)
    depth, width = int(ep["depth"].iloc[0]), int(ep["width"].iloc[0])
    ax1.set(xlabel="epoch", ylabel="validation error (%)", ylim=(0, 100), title=f"ReLU, {depth} x {width}")
    ax2.set(xlabel="epoch", ylabel="training loss", yscale="log", title=f"ReLU, {depth} x {width}")
    ax1.legend()
    return fig


def fig_depth_heatmap(tables: Tables, config: dict):
    s = tables.get("summary", "depth")
    if s.empty:
        return empty_figure("No rows for study 'depth' in the summary.")
    s = s[s["width"] == s["width"].max()]
    s = s.assign(failed=did_not_train(s, n_classes(tables, "depth"), "final_val_accuracy"))
    acts = sorted(s["activation"].unique())
    fig, axes = subplots(len(acts), height=1.1 + 0.3 * s["init"].nunique(), squeeze=False)
    for ax, act in zip(axes[0], acts, strict=True):
        a = s[s["activation"] == act]
        grid = a.assign(acc=percent(a["final_val_accuracy"])).pivot_table(
            index="init", columns="depth", values="acc", aggfunc="mean"
        )
        order = init_order(grid.index)
        grid = grid.loc[order]
        grid.index = [init_label(i) for i in order]
        sns.heatmap(
            grid,
            ax=ax,
            vmin=0,
            vmax=100,
            cmap="viridis",
            annot=grid.shape[1] <= 12,
            fmt=".0f",
            annot_kws={"fontsize": 6},
            cbar=ax is axes[0][-1],
            cbar_kws={"label": "accuracy (%)"},
            linewidths=0.3,
            linecolor="#ffffff",
        )
        # hatched: every run of the cell did not train in this budget (stats.did_not_train)
        failed = a.pivot_table(index="init", columns="depth", values="failed", aggfunc="all").loc[order]
        for i, j in zip(*(failed.to_numpy() == True).nonzero(), strict=True):  # noqa: E712 (NaN: no runs)
            ax.add_patch(
                Rectangle((j, i), 1, 1, fill=False, hatch="//", edgecolor="#ffffff99", linewidth=0, zorder=2)
            )
        for tick, init in zip(ax.get_yticklabels(), order, strict=True):
            tick.set_color(init_color(init))
        ax.set(title=f"{act}, width {int(s['width'].max())}", xlabel="hidden layers", ylabel="")
        ax.tick_params(axis="y", rotation=0)
    return fig
