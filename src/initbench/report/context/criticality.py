"""The edge-of-chaos sections: the chi_1 map and the phase diagram (study ``criticality``), and dynamical
isometry (studies ``isometry`` and ``isometry_relu``). Every number comes from the tables, the config,
``config/paper.yaml`` (what the default run reduced) or ``meanfield``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from initbench import config as ibconfig
from initbench import grid, meanfield, stats
from initbench.figures import critdata
from initbench.figures.data import Tables, percent
from initbench.figures.isometry import arms, select_arm
from initbench.report.context.text import ci_text, join
from initbench.report.sections import Run

REPO = Path(__file__).resolve().parents[4]
PAPER_YAML = REPO / "config" / "paper.yaml"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def _steps(tables: Tables, study: str) -> int | None:
    """SGD steps per variant, read off the iterations table."""
    it = tables.get("iterations", study)
    if it.empty:
        return None
    return int(it.groupby("variant")["iteration"].max().max()) + 1


def _describe(study: dict) -> dict[str, str]:
    """A study's size in words, from its config block: inits, depths, width, seeds, training."""
    specs = grid.init_specs(study)
    archs = grid.architectures(study)
    depths = sorted({len(h) for h in archs})
    widths = sorted({max(h) for h in archs})
    t = study["training"]
    return {
        "inits": f"{len(specs)} inits",
        "depths": f"depths {join(depths)}"
        if len(depths) <= 6
        else f"{len(depths)} depths, {depths[0]} to {depths[-1]}",
        "width": f"width {join(widths)}",
        "seeds": f"{len(grid.seeds_of(study))} seed{'s' if len(grid.seeds_of(study)) > 1 else ''}",
        "training": f"{t['epochs']} epoch{'s' if t['epochs'] > 1 else ''} in batches of {t['batch_size']}, lr {t['lr']:g}",
    }


def _data(config: dict, study: dict) -> str:
    """A study's dataset in words: its kind and, if it trains on a subset, how many samples."""
    names = study.get("dataset")
    opts = config.get("datasets", {}).get(names if isinstance(names, str) else names[0], {})
    subset = opts.get("train_subset")
    return f"{opts.get('kind', names)}" + (f", {subset:,} training samples" if subset else "")


def reduction(config: dict, study: str, paper_path: Path = PAPER_YAML) -> str:
    """What this run's ``study`` left out of ``config/paper.yaml``'s, in words ("" if either lacks it)."""
    if not paper_path.exists():
        return ""
    paper_cfg = ibconfig.load(paper_path, SCHEMA)  # checked, with the schema's defaults, as a run's config is
    paper = paper_cfg.get("studies", {}).get(study)
    ours = config.get("studies", {}).get(study)
    if not paper or not ours:
        return ""
    a, b = _describe(ours), _describe(paper)
    a["data"], b["data"] = _data(config, ours), _data(paper_cfg, paper)
    diff = [f"{a[k]} (paper.yaml: {b[k]})" for k in a if a[k] != b[k]]
    return (
        f"Reduced from config/paper.yaml: {join(diff)}."
        if diff
        else "This is config/paper.yaml's full study."
    )


def _trainable_range(depth: int, var_b: float, lo: float, hi: float) -> str:
    """The sigma_w^2 in [lo, hi] where depth <= 6 xi_c: one interval about the critical sigma_w^2, as xi_c
    grows towards it from either side; each end found by a root find of 6 xi_c - depth (to 0.001)."""
    peak = min(max(meanfield.critical_weight_variance("tanh", var_b), lo), hi)

    def excess(var_w):
        xi = meanfield.fixed_point("tanh", float(var_w), var_b).xi_c
        return min(critdata.depth_factor() * xi, 1e9) - depth

    if excess(peak) < 0:
        return "none"
    ends = [
        end if excess(end) >= 0 else optimize.brentq(excess, min(end, peak), max(end, peak), xtol=1e-3)
        for end in (lo, hi)
    ]
    return f"{ends[0]:.2f}–{ends[1]:.2f}"


def criticality(run: Run) -> dict | None:
    cells = critdata.phase_cells(run.tables)
    if cells.empty:
        return None
    var_b = float(np.median(cells["sigma_b2"]))
    crit = meanfield.critical_weight_variance("tanh", var_b)
    classes = critdata.n_classes(run.tables, critdata.PHASE_STUDY)
    w2 = np.sort(cells["sigma_w2"].unique())
    rows = []
    for depth, g in cells.groupby("depth", sort=True):
        trained = g.loc[g["trains"], "sigma_w2"]
        rows.append(
            {
                "depth": str(depth),
                "predicted": _trainable_range(int(depth), var_b, w2[0], w2[-1]),
                "measured": (
                    f"{trained.min():.2f}–{trained.max():.2f} ({len(trained)} of {len(g)})"
                    if len(trained)
                    else f"none of {len(g)}"
                ),
                "agree": f"{int(g['agrees'].sum())} of {len(g)}",
            }
        )
    chi = critdata.measured_chi1(run.tables)
    chi_rows = []
    for (study, act, init, width), g in chi.groupby(["study", "activation", "init", "width"], sort=True):
        if study == critdata.PHASE_STUDY and g["sigma_w2"].iloc[0] not in (w2[0], w2[len(w2) // 2], w2[-1]):
            continue  # three points of the phase diagram's row are enough for the table; the figure has all
        chi_rows.append(
            {
                "study": study,
                "label": critdata.arm_label(act, init, width),
                "width": str(width),
                "theory": f"{g['chi1_theory'].iloc[0]:.3f}",
                "measured": ci_text(g["chi1_measured"], 3),
            }
        )
    ratio = chi["chi1_measured"] / chi["chi1_theory"] if len(chi) else None
    return {
        "var_b": f"{var_b:g}",
        "critical": f"{crit:.3f}",
        "sigma_w2": f"{len(w2)} values of σw² from {w2[0]:g} to {w2[-1]:g}",
        "depths": join(sorted(cells["depth"].unique())),
        "width": join(sorted(cells["width"].unique())),
        "seeds": join(sorted(cells["seeds"].unique())),
        "steps": str(_steps(run.tables, critdata.PHASE_STUDY) or "?"),
        "n_cells": str(len(cells)),
        "n_agree": str(int(cells["agrees"].sum())),
        "n_trains": str(int(cells["trains"].sum())),
        "n_predicted": str(int(cells["predicted"].sum())),
        "chance": f"{100 * stats.chance_accuracy(classes):.0f}",
        "margin": f"{100 * stats.TRAINED_MARGIN:.0f}",
        "factor": f"{critdata.depth_factor():g}",
        "rows": rows,
        "chi_rows": chi_rows,
        "chi_median_ratio": f"{float(np.median(ratio)):.3f}" if ratio is not None else "n/a",
        "chi_n": str(len(chi)),
        "reduction": reduction(run.config, critdata.PHASE_STUDY),
    }


def isometry(run: Run) -> dict | None:
    if run.tables.get("summary", "isometry").empty:
        return None
    both = [run.tables.get("summary", s) for s in critdata.ISOMETRY_STUDIES]
    summary = pd.concat([s for s in both if len(s)], ignore_index=True)
    spreads = critdata.spread(run.tables)
    deepest = int(spreads["layer"].max()) if len(spreads) else None
    growth = critdata.spread_growth(spreads)
    rows = []
    for arm in arms(summary):
        s = select_arm(summary, arm)
        fp = meanfield.fixed_point(arm["activation"], arm["sigma_w2"], arm["sigma_b2"])
        sp = select_arm(spreads, arm)
        sp_deep = sp[sp["layer"] == deepest] if deepest else sp.iloc[:0]
        rows.append(
            {
                "label": arm["label"],
                "color": arm["color"],
                "q_star": "∞" if math.isinf(fp.q_star) else f"{fp.q_star:.3g}",
                "chi1": f"{fp.chi1:.3f}",
                "spread": ci_text(sp_deep["spread"], 2) if len(sp_deep) else "—",
                "spread_theory": f"{sp_deep['spread_theory'].iloc[0]:.2f}" if len(sp_deep) else "—",
                "growth": ci_text(select_arm(growth, arm)["growth"], 3) if len(growth) else "—",
                "zeros": f"{100 * sp_deep['zero_share'].mean():.0f} %" if len(sp_deep) else "—",
                "accuracy": ci_text(percent(s["final_val_accuracy"]), 1, " %"),
                "diverged": str(int(s["diverged"].astype(bool).sum())),
            }
        )
    ortho = [r for r in arms(summary) if r["activation"] == "tanh"]
    var_b = max(a["sigma_b2"] for a in ortho) if ortho else 0.05
    return {
        "depth": join(sorted(summary["depth"].unique())),
        "width": join(sorted(summary["width"].unique())),
        "seeds": join(sorted(summary.groupby(["study", "init"])["seed"].nunique().unique())),
        "steps": str(_steps(run.tables, "isometry") or "?"),
        "deepest": str(deepest) if deepest else "—",
        "layers": join(sorted(spreads["layer"].unique())) if len(spreads) else "none",
        "var_b": f"{var_b:g}",
        "critical": f"{meanfield.critical_weight_variance('tanh', var_b):.3f}",
        "rows": rows,
        "reduction": _joint_reduction(run.config, critdata.ISOMETRY_STUDIES),
    }


def _joint_reduction(config: dict, studies) -> str:
    """One sentence for studies reduced alike, else one per study."""
    texts = {s: r for s in studies if (r := reduction(config, s))}
    if len(set(texts.values())) == 1 and len(texts) > 1:
        return f"{join(f'Study {s}' if i == 0 else s for i, s in enumerate(texts))}: {next(iter(texts.values()))}"
    return " ".join(f"Study {s}: {r}" for s, r in texts.items())
