"""The numbers of the report's sections 1-8 and 10, computed from the tables and the config.

Every value the templates print is computed here (or in ``report_claims``/``report_appendix``) and
handed over as a formatted string: the templates only place them. A section whose study did not
run gets ``None``, and the template says so in one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initbench import stats, theory
from initbench.figures.data import (
    Tables,
    dataset_kind,
    deepest,
    final_rows,
    glorot_selection,
    n_train,
    percent,
    published,
)
from initbench.figures.labs import RANGE_INITS
from initbench.figures.style import init_color, init_label, init_order


def ci_text(values, digits: int = 1, unit: str = "") -> str:
    """``mean ± half-width unit (n = k)`` of the finite values, or ``n/a``."""
    m, lo, hi, n = stats.mean_ci(values)
    if n == 0:
        return "n/a"
    half = f" ± {(hi - lo) / 2:.{digits}f}" if n > 1 else ""
    return f"{m:.{digits}f}{half}{unit} (n = {n})"


def _init_row(init: str, **cols) -> dict:
    return {"init": init, "label": init_label(init), "color": init_color(init), **cols}


def _join(items) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _with_kind(config: dict, dataset: str) -> str:
    kind = dataset_kind(config, dataset)
    return dataset if kind == dataset else f"{dataset} ({kind})"


def setup(tables: Tables, config: dict, jobs: list[dict]) -> dict:
    s = tables.get("summary")
    rows = []
    for study in sorted(s["study"].unique()):
        g = s[s["study"] == study]
        nets = g["hidden"].astype(str).unique()
        depths, widths = sorted(g["depth"].unique()), sorted(g["width"].unique())
        network = (
            nets[0]
            if len(nets) == 1
            else f"{len(depths)} depths, {depths[0]} to {depths[-1]}, width {_join(widths)}"
        )
        rows.append(
            {
                "study": study,
                "datasets": _join(sorted(g["dataset"].unique())),
                "network": network,
                "activations": _join(sorted(g["activation"].unique())),
                "inits": _join(init_order(g["init"])),
                "seeds": str(g["seed"].nunique()),
                "models": str(len(g)),
                "training": f"{_join(sorted(g['epochs'].unique()))} epochs, batch {_join(sorted(g['batch_size'].unique()))}, "
                f"lr {_join(sorted(g['lr'].unique()))}",
            }
        )
    seeds = sorted(s.groupby("study")["seed"].nunique().unique())
    hours = sum(float(j.get("seconds") or 0) for j in jobs) / 3600
    devices = sorted({str(j.get("device")) for j in jobs if j.get("device")})
    cpus = sorted({str(j.get("cpu_model")) for j in jobs if j.get("cpu_model")})
    gpus = sorted({str(j.get("gpu_model")) for j in jobs if j.get("gpu_model")})
    return {
        "studies": rows,
        "n_models": str(len(s)),
        "n_studies": str(len(rows)),
        "datasets": _join(sorted(_with_kind(config, d) for d in s["dataset"].unique())),
        "seeds": _join(seeds),
        "n_jobs": str(len(jobs)),
        "train_hours": f"{hours:.2f}",
        "devices": _join(devices) if devices else "unknown",
        "hardware": _join(cpus + gpus) if cpus or gpus else "unknown hardware",
        "missing": [
            k for k in ("same_weights", "xavier_lab", "he_lab", "depth", "table1") if k not in set(s["study"])
        ],
    }


def same_weights(tables: Tables) -> dict | None:
    ep = final_rows(tables.get("epochs", "same_weights"))
    if ep.empty:
        return None
    n = n_train(tables, "same_weights")
    pub = published()["numbers"]["same_weights"]
    lay = final_rows(tables.get("layers", "same_weights"))
    sym = lay[lay["units"] > 1].groupby(["variant", "init"], as_index=False)["symmetry"].max()
    rows = []
    for init in init_order(ep["init"]):
        loss = ep[ep["init"] == init]["train_loss"] * (n or np.nan)
        sv = sym[sym["init"] == init]["symmetry"]
        rows.append(
            _init_row(
                init,
                loss=ci_text(loss, 2),
                published=f"{pub['loss_sum'][init]:g}" if init in pub["loss_sum"] else "—",
                sym_max=("0 (exactly)" if len(sv) and sv.max() == 0 else f"{sv.max():.3g}")
                if len(sv)
                else "n/a",
                sym=ci_text(sv, 3),
            )
        )
    return {
        "n_points": str(n),
        "rows": rows,
        "epochs": str(int(ep["epoch"].max())),
        "published": {k: f"{v:.4f}" for k, v in pub.items() if isinstance(v, float)},
    }


def _accuracy_at(ep: pd.DataFrame, epoch: int) -> tuple[pd.DataFrame, int]:
    """Rows at ``epoch`` if the run has it, else at each variant's last epoch."""
    if (ep["epoch"] == epoch).any():
        return ep[ep["epoch"] == epoch], epoch
    last = final_rows(ep)
    return last, int(last["epoch"].max())


def lab(tables: Tables, config: dict, study: str, inits, pub_key: str | None) -> dict | None:
    ep = tables.get("epochs", study)
    if ep.empty:
        return None
    pub = published()["numbers"][pub_key] if pub_key else None
    at, epoch = _accuracy_at(ep, pub["epoch"]) if pub else (final_rows(ep), int(ep["epoch"].max()))
    kind = dataset_kind(config, str(ep["dataset"].iloc[0]))
    rows = [
        _init_row(
            init,
            ours=ci_text(percent(at[at["init"] == init]["val_accuracy"]), 1, " %"),
            published=f"{pub['val_accuracy'][init]:g} %" if pub and init in pub["val_accuracy"] else "—",
        )
        for init in inits
        if init in set(ep["init"])
    ]
    out = {
        "rows": rows,
        "epoch": str(epoch),
        "dataset": _join(sorted(ep["dataset"].unique())),
        "kind": kind,
        "seeds": str(ep["seed"].nunique()),
    }
    if pub:
        out.update(
            pub_dataset=pub["dataset"],
            pub_epoch=str(pub["epoch"]),
            pub_seeds=str(pub["seeds"]),
            same_dataset=kind == pub["dataset"],
            pub_source=pub["source"],
        )
        it = tables.get("iterations", study)
        first = it[(it["iteration"] == it["iteration"].min()) & (it["init"] == "uniform(0,1)")]["loss"]
        if "first_loss_uniform" in pub and len(first):
            out["first_loss"] = f"{first.mean():.3g}"
            out["pub_first_loss"] = f"{pub['first_loss_uniform']:.2g}"
    return out


def lecture_range(tables: Tables, config: dict) -> dict:
    lec = published()["numbers"]["lecture_range"]
    points = [
        {
            "n_in": str(n),
            "z": f"{n * lec['weight'] * lec['input']:g}",
            "tanh_prime": f"{float(theory.fan_in_saturation(n, lec['weight'], lec['input'])):.3g}",
        }
        for n in lec["n_in"]
    ]
    return {
        "points": points,
        "read": f"{lec['tanh_prime_read']:g}",
        "input": f"{lec['input']:g}",
        "weight": f"{lec['weight']:g}",
        "curves": lab(tables, config, "xavier_lab", RANGE_INITS, None),
    }


def glorot(tables: Tables) -> dict | None:
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
        _init_row(init, ratio=ci_text((g[g["init"] == init][1] / g[g["init"] == init][depth]).to_numpy(), 3))
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


def signal(tables: Tables) -> dict | None:
    lay = deepest(tables.get("layers", "depth"))
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
            _init_row(
                init,
                activation=act,
                act=f"{cell['act_std'].iloc[-1]:.3g}",
                grad=f"{grad:.3g}",
                act_theory=f"{pred[0][-1]:.3g}" if pred else "—",
                grad_theory=f"{pred[1][0]:.3g}" if pred else "—",
            )
        )
    return {"depth": str(depth), "width": str(width), "rows": rows}


def depth_study(tables: Tables) -> dict | None:
    s = deepest(tables.get("summary", "depth"))
    if s.empty:
        return None
    rows = [
        _init_row(
            init,
            activation=act,
            acc=ci_text(percent(g["final_val_accuracy"]), 1, " %"),
            diverged=str(int(g["diverged"].astype(bool).sum())),
        )
        for (act, init), g in s.groupby(["activation", "init"], sort=True)
    ]
    all_depths = sorted(tables.get("summary", "depth")["depth"].unique())
    return {
        "depth": str(int(s["depth"].iloc[0])),
        "width": str(int(s["width"].iloc[0])),
        "rows": rows,
        "depths": _join(all_depths),
        "pub_layers": str(published()["numbers"]["he_deep"]["layers"]),
    }


def table1(tables: Tables, config: dict) -> dict | None:
    s = tables.get("summary", "table1")
    if s.empty:
        return None
    pub = published()["numbers"]["table1"]
    datasets = sorted(s["dataset"].unique())
    kinds = {d: dataset_kind(config, d) for d in datasets}
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
        "hidden": _join(hidden),
        "pub_layers": str(pub["hidden_layers"]),
        "paper_columns": _join(pub["columns"].values()),
    }
