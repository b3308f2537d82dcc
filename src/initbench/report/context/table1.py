"""Section 10: test errors per activation and init, beside Glorot & Bengio's Table 1.

Columns: our test error on each dataset of the run, paired with the paper's column where the
dataset's kind is one of theirs, then the paper's columns that the run has no dataset for (shown
for reference). A cell whose runs stayed at chance says "did not train in this budget" instead of
an error rate. The paper's rows that the run left out are listed with the theory's reason.
"""

from __future__ import annotations

import math

import numpy as np

from initbench import theory
from initbench.figures.data import dataset_kind, did_not_train, n_classes, percent, published
from initbench.figures.style import init_label
from initbench.report.context.text import ci_text, flag_untrained, join, untrained_rule
from initbench.report.sections import Run


def table1(run: Run) -> dict | None:
    s = run.tables.get("summary", "table1")
    if s.empty:
        return None
    pub = published()["numbers"]["table1"]
    classes = n_classes(run.tables, "table1")
    s = s.assign(failed=did_not_train(s, classes, "test_accuracy"))
    kinds = {d: dataset_kind(run.config, d) for d in sorted(s["dataset"].unique())}
    groups = _column_groups(kinds, pub["columns"])
    labels = {(r["activation"], r["init"]): r for r in pub["rows"]}
    paper_order = list(labels)  # the paper's row order, then our other cells
    cells_run = sorted(
        s.groupby(["activation", "init"]).groups,
        key=lambda k: (k not in labels, paper_order.index(k) if k in labels else 0, k),
    )
    rows, flagged = [], False
    for act, init in cells_run:
        g = s[(s["activation"] == act) & (s["init"] == init)]
        p = labels.get((act, init))
        cells = []
        for col in groups:
            cell = {
                "ours": None,
                "untrained": False,
                "published": _published(p, col["kind"]) if col["published"] else None,
            }
            if col["dataset"] is not None:
                d = g[g["dataset"] == col["dataset"]]
                text = ci_text(100 - percent(d["test_accuracy"]), 2)
                cell["ours"], cell["untrained"] = flag_untrained(text, d["failed"], keep_value=False)
                flagged |= cell["untrained"]
            cells.append(cell)
        rows.append(
            {"label": p["label"] if p else f"{act}, {init_label(init)}", "not_run": False, "cells": cells}
        )
    not_run = [r for k, r in labels.items() if k not in set(cells_run)]
    for r in not_run:
        rows.append(
            {
                "label": r["label"],
                "not_run": True,
                "cells": [
                    {
                        "ours": "not run" if col["dataset"] else None,
                        "untrained": False,
                        "published": _published(r, col["kind"]) if col["published"] else None,
                    }
                    for col in groups
                ],
            }
        )
    hidden = sorted(s["hidden"].astype(str).unique())
    ours_in_paper = [c for c in groups if c["dataset"] and c["published"]]
    return {
        "groups": groups,
        "rows": rows,
        "hidden": join(hidden),
        "pub_layers": str(pub["hidden_layers"]),
        "paper_columns": join(pub["columns"].values()),
        "same_data": join(f"{c['dataset']} is their {c['paper']}" for c in ours_in_paper),
        "other_data": join(
            f"{c['dataset']} ({c['kind']})" for c in groups if c["dataset"] and not c["published"]
        ),
        "flagged": flagged,
        "rule": untrained_rule(classes) if flagged else "",
        "left_out": _left_out(run, s, not_run, pub),
    }


def _column_groups(kinds: dict[str, str], paper: dict[str, str]) -> list[dict]:
    """Our datasets in the paper's column order (each beside the paper's column of its kind), then
    ours that the paper lacks, then the paper's columns we have no dataset for."""
    ours = [
        {"dataset": d, "kind": k, "paper": paper[k], "published": True}
        for pk in paper
        for d, k in kinds.items()
        if k == pk
    ]
    ours += [
        {"dataset": d, "kind": k, "paper": "not in the paper", "published": False}
        for d, k in kinds.items()
        if k not in paper
    ]
    theirs = [
        {"dataset": None, "kind": pk, "paper": label, "published": True}
        for pk, label in paper.items()
        if pk not in kinds.values()
    ]
    return ours + theirs


def _published(row: dict | None, kind: str) -> str:
    v = row["values"].get(kind) if row else None
    return f"{v:g}" if v is not None else "—"


def _left_out(run: Run, s, not_run: list[dict], pub: dict) -> list[dict]:
    """Why each of the paper's rows that the run left out is hard to train: the gradient reaching
    hidden layer 1 at init, as a fraction of the last hidden layer's (theory, our widths), beside
    the activations we ran under the same init."""
    if not not_run:
        return []
    hidden = [int(h) for h in str(s["hidden"].iloc[0]).split("-")]  # grid.variants writes "500-500-..."
    q1 = _first_preactivation_variance(run, s)
    out = []
    for r in not_run:
        acts = [r["activation"], *sorted(set(s["activation"]) - {r["activation"]})]
        ratios = [(a, _gradient_ratio(a, r["init"], hidden, q1)) for a in acts]
        if any(not math.isfinite(x) for _, x in ratios):
            continue
        escape = pub.get("saturated_until_epoch", {}).get(r["activation"])
        out.append(
            {
                "label": r["label"],
                "activation": r["activation"],
                "init": init_label(r["init"]),
                "ratio": f"{ratios[0][1]:.1e}",
                "others": join(f"{a} {x:.2g}" for a, x in ratios[1:]),
                "depth": str(len(hidden)),
                "steps": _steps(run, s),
                "escape_epoch": str(escape) if escape else "",
            }
        )
    return out


def _first_preactivation_variance(run: Run, s) -> float:
    """Var z_1 of hidden layer 1 at init, from a run's measured activation std there (layer 1's
    pre-activations do not depend on the activation); NaN where none was measured."""
    lay = run.tables.get("layers", "table1")
    lay = lay[(lay["epoch"] == 0) & (lay["layer"] == 1) & (lay["init"] == "default")]
    for act, g in lay.groupby("activation"):
        return float(theory.preactivation_variance(str(act), float(g["act_std"].mean())))
    return math.nan


def _gradient_ratio(activation: str, init: str, hidden: list[int], q1: float) -> float:
    """std of dL/dz at hidden layer 1 / at the last hidden layer, at init (``theory.predict``)."""
    if not math.isfinite(q1):
        return math.nan
    pred = theory.predict(activation, init, hidden, theory.activation_std(activation, q1))
    return float(pred[1][0]) if pred else math.nan


def _steps(run: Run, s) -> str:
    """SGD steps each net of the study took: epochs x steps per epoch, read off the iterations."""
    it = run.tables.get("iterations", "table1")
    if it.empty:
        return "n/a"
    return str(int(np.max(it.groupby("variant")["iteration"].max().to_numpy())) + 1)
