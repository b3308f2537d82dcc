"""Sections 2-5: the lecture's same-weights network and range of a uniform init, the Xavier and He labs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from initbench import theory
from initbench.figures.data import (
    dataset_kind,
    did_not_train,
    final_rows,
    n_classes,
    n_train,
    percent,
    published,
)
from initbench.figures.labs import LAB_INITS, RANGE_INITS
from initbench.figures.style import init_order
from initbench.report.context.text import ci_text, flag_untrained, init_row, join, untrained_rule
from initbench.report.sections import Run


def same_weights(run: Run) -> dict | None:
    tables = run.tables
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
            init_row(
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


def lab(run: Run, study: str, inits, pub_key: str | None) -> dict | None:
    """Validation accuracy of ``inits`` in ``study``, beside the lab's published numbers (``pub_key``)."""
    tables = run.tables
    ep = tables.get("epochs", study)
    if ep.empty:
        return None
    pub = published()["numbers"][pub_key] if pub_key else None
    at, epoch = _accuracy_at(ep, pub["epoch"]) if pub else (final_rows(ep), int(ep["epoch"].max()))
    kind = dataset_kind(run.config, str(ep["dataset"].iloc[0]))
    classes = n_classes(tables, study)
    # a stalled init is the labs' own finding (U(0, 1): 11 %), so its number stays beside the flag
    at = at.assign(failed=did_not_train(at, classes, "val_accuracy"))
    rows = []
    for init in (i for i in inits if i in set(ep["init"])):
        a = at[at["init"] == init]
        ours, flagged = flag_untrained(ci_text(percent(a["val_accuracy"]), 1, " %"), a["failed"])
        published_text = f"{pub['val_accuracy'][init]:g} %" if pub and init in pub["val_accuracy"] else "—"
        rows.append(init_row(init, ours=ours, untrained=flagged, published=published_text))
    out = {
        "rows": rows,
        "untrained_rule": untrained_rule(classes) if any(r["untrained"] for r in rows) else "",
        "epoch": str(epoch),
        "dataset": join(sorted(ep["dataset"].unique())),
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
            short=epoch < pub["epoch"],  # a reduced config (the default: a third of the lab's epochs)
        )
        it = tables.get("iterations", study)
        first = it[(it["iteration"] == it["iteration"].min()) & (it["init"] == "uniform(0,1)")]["loss"]
        if "first_loss_uniform" in pub and len(first):
            out["first_loss"] = f"{first.mean():.3g}"
            out["pub_first_loss"] = f"{pub['first_loss_uniform']:.2g}"
    return out


def xavier_lab(run: Run) -> dict | None:
    return lab(run, "xavier_lab", LAB_INITS["xavier_lab"], "xavier_lab")


def he_lab(run: Run) -> dict | None:
    return lab(run, "he_lab", LAB_INITS["he_lab"], "he_lab")


def lecture_range(run: Run) -> dict:
    """The lecture's tanh'(z) points, computed; the ranges trained in the Xavier lab's network if it ran."""
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
        "curves": lab(run, "xavier_lab", RANGE_INITS, None),
    }
