"""Sections 6-8: Glorot & Bengio's gradients at init, signal propagation against theory, the depth study."""

from __future__ import annotations

from initbench import theory
from initbench.figures.data import deepest, did_not_train, glorot_selection, n_classes, percent, published
from initbench.report.context.text import ci_text, flag_untrained, init_row, join, untrained_rule
from initbench.report.sections import Run


def glorot(run: Run) -> dict | None:
    """None where no tanh network recorded histograms of both the default and the Xavier init."""
    tables = run.tables
    sel = glorot_selection(tables)
    if sel is None:
        return None
    study, depth, width = sel
    lay = tables.get("layers", study)
    lay = lay[
        (lay["epoch"] == 0)
        & (lay["activation"] == "tanh")
        & (lay["depth"] == depth)
        & (lay["width"] == width)
    ]
    g = lay.pivot_table(index=["variant", "init"], columns="layer", values="grad_std").reset_index()
    rows = [
        init_row(init, ratio=ci_text((g[g["init"] == init][1] / g[g["init"] == init][depth]).to_numpy(), 3))
        for init in ("default", "xavier_uniform")
        if init in set(g["init"])
    ]
    pub = published()["numbers"]["glorot_histograms"]
    return {
        "study": study,
        "depth": str(depth),
        "width": str(width),
        "rows": rows,
        "pub_depth": str(pub["hidden_layers"]),
        "pub_width": str(pub["width"]),
    }


def signal(run: Run) -> dict | None:
    lay = deepest(run.tables.get("layers", "depth"))
    if lay.empty:
        return None
    depth, width = int(lay["depth"].iloc[0]), int(lay["width"].iloc[0])
    lay = lay[(lay["epoch"] == 0) & (lay["layer"] <= depth)]
    rows = []
    for (act, init), g in lay.groupby(["activation", "init"], sort=True):
        cell = g.groupby("layer", as_index=False)[["units", "act_std", "grad_std"]].mean()
        pred = theory.predict(act, init, cell["units"], float(cell["act_std"].iloc[0]))
        grad = cell["grad_std"].iloc[0] / cell["grad_std"].iloc[-1]
        rows.append(
            init_row(
                init,
                activation=act,
                act=f"{cell['act_std'].iloc[-1]:.3g}",
                grad=f"{grad:.3g}",
                act_theory=f"{pred[0][-1]:.3g}" if pred else "—",
                grad_theory=f"{pred[1][0]:.3g}" if pred else "—",
            )
        )
    return {"depth": str(depth), "width": str(width), "rows": rows}


def depth(run: Run) -> dict | None:
    summary = run.tables.get("summary", "depth")
    s = deepest(summary)
    if s.empty:
        return None
    classes = n_classes(run.tables, "depth")
    # Xavier's stall in a deep ReLU net is He et al.'s finding, so a flagged cell keeps its number
    s = s.assign(failed=did_not_train(s, classes, "final_val_accuracy"))
    rows = []
    for (act, init), g in s.groupby(["activation", "init"], sort=True):
        acc, flagged = flag_untrained(ci_text(percent(g["final_val_accuracy"]), 1, " %"), g["failed"])
        rows.append(
            init_row(
                init,
                activation=act,
                acc=acc,
                untrained=flagged,
                diverged=str(int(g["diverged"].astype(bool).sum())),
            )
        )
    return {
        "untrained_rule": untrained_rule(classes),
        "depth": str(int(s["depth"].iloc[0])),
        "width": str(int(s["width"].iloc[0])),
        "rows": rows,
        "depths": join(sorted(summary["depth"].unique())),
        "pub_layers": str(published()["numbers"]["he_deep"]["layers"]),
    }
