"""Section 10: test errors per activation and init, beside Glorot & Bengio's Table 1."""

from __future__ import annotations

from initbench.figures.data import dataset_kind, percent, published
from initbench.figures.style import init_label
from initbench.report.context.text import ci_text, join
from initbench.report.sections import Run


def table1(run: Run) -> dict | None:
    s = run.tables.get("summary", "table1")
    if s.empty:
        return None
    pub = published()["numbers"]["table1"]
    datasets = sorted(s["dataset"].unique())
    kinds = {d: dataset_kind(run.config, d) for d in datasets}
    labels = {(r["activation"], r["init"]): r for r in pub["rows"]}
    rows = []
    paper_order = list(labels)  # the paper's row order, then our other cells
    cells_run = sorted(
        s.groupby(["activation", "init"]).groups,
        key=lambda k: (k not in labels, paper_order.index(k) if k in labels else 0, k),
    )
    for act, init in cells_run:
        g = s[(s["activation"] == act) & (s["init"] == init)]
        p = labels.get((act, init))
        cells = []
        for d in datasets:
            err = 100 - percent(g[g["dataset"] == d]["test_accuracy"])
            pv = p["values"].get(kinds[d]) if p else None
            cells.append({"ours": ci_text(err, 2), "published": f"{pv:g}" if pv is not None else "—"})
        rows.append(
            {
                "label": p["label"] if p else f"{act}, {init_label(init)}",
                "activation": act,
                "init": init_label(init),
                "cells": cells,
            }
        )
    cols = [
        {"dataset": d, "kind": kinds[d], "paper": pub["columns"].get(kinds[d], "not in the paper")}
        for d in datasets
    ]
    hidden = sorted(s["hidden"].astype(str).unique())
    return {
        "columns": cols,
        "rows": rows,
        "hidden": join(hidden),
        "pub_layers": str(pub["hidden_layers"]),
        "paper_columns": join(pub["columns"].values()),
    }
