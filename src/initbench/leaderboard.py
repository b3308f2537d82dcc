"""The leaderboard: every init ranked across every study and cell it took part in.

    table = leaderboard.build(summary, n_classes, provenance)     # one row per init spec, best first
    leaderboard.write(table, "results/report/leaderboard.csv")

The metric is the final validation accuracy. A run that diverged has none; it scores chance
(1 / classes), since it has no usable predictions. A *cell* is one study × dataset × architecture
× activation; the inits of a cell share its seeds and, seed by seed, the data order.

- **Rank.** Within a cell and a seed, the inits are ranked by score, best first, ties sharing the
  mean of their ranks, and the rank is normalised to [0, 1]: 0 is the best init of the cell, 1 the
  worst, whatever the number of inits (a cell with one init ranks nothing). An init's rank in a
  cell is the mean over the cell's seeds; its ``mean_rank`` is the mean over its cells, so every
  cell weighs the same. Lower is better.
- **Bootstrap CI over seeds.** ``B`` resamples, drawn from ``numpy.random.default_rng(SEED)``:
  each resample draws every cell's seeds with replacement (the same draw for all inits of the
  cell: the design is paired) and recomputes ``mean_rank``; the interval is the resamples'
  2.5 and 97.5 percentiles.
- **Against default.** In every cell where ``default`` ran, a paired t-test of the init's scores
  against default's over seeds (``stats.paired_test``); the family is every such comparison in
  the leaderboard, Holm-adjusted (``stats.holm``). A win (loss) is a significant comparison whose
  mean difference is positive (negative); the rest are ties.
- **Failures.** ``stats.did_not_train``: a run diverged, or stayed at chance (final accuracy below
  chance + 10 points without diverging).

Plugin inits appear as built-in ones do; their ``source`` is the plugin file, and an init without a
citation says "user-supplied". Torch-free: pandas, numpy, scipy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from initbench import registry, stats
from initbench.atomic import atomic_write

CELL = ["study", "dataset", "hidden", "activation"]
BASELINE = "default"
B = 2000  # bootstrap resamples
SEED = 0  # of the bootstrap's generator
LEVEL = stats.CONFIDENCE
COLUMNS = (
    "place", "init", "source", "cite", "cells", "runs", "mean_rank", "rank_lo", "rank_hi",
    "vs_default_cells", "wins", "ties", "losses", "diverged", "stayed_at_chance", "did_not_train_share",
)  # fmt: skip
METHOD = (
    "Final validation accuracy (a diverged run scores chance). Within each cell (study × dataset × "
    "architecture × activation) and seed the inits are ranked, ties sharing their mean rank, and the "
    "rank is normalised to [0, 1], 0 being the cell's best; an init's mean_rank averages its cells, "
    f"each cell weighing the same (lower is better), with a {LEVEL:.0%} bootstrap interval over seeds "
    f"({B} resamples, seed {SEED}). Wins and losses against default are paired t-tests over seeds in "
    f"each cell where default ran, Holm-adjusted over all of them, significant at {stats.ALPHA:g}. "
    f"Failures: a run diverged, or stayed at chance: its final accuracy is below 1 / classes + "
    f"{stats.TRAINED_MARGIN * 100:g} points (stats.did_not_train)."
)


def scored(summary: pd.DataFrame, n_classes: dict[str, int]) -> pd.DataFrame:
    """The summary's runs with ``chance``, ``score`` (diverged: chance) and ``did_not_train``."""
    df = summary.copy()
    missing = sorted(set(df["dataset"]) - set(n_classes))
    if missing:
        raise ValueError(f"no class count for dataset(s) {', '.join(missing)}")
    df["hidden"] = df["hidden"].astype(str)
    df["diverged"] = df["diverged"].astype(bool)
    df["chance"] = 1.0 / df["dataset"].map(n_classes).astype(float)
    acc = df["final_val_accuracy"].astype(float)
    df["score"] = acc.where(~df["diverged"] & acc.notna(), df["chance"])
    df["did_not_train"] = False
    for dataset, rows in df.groupby("dataset").groups.items():
        df.loc[rows, "did_not_train"] = stats.did_not_train(
            acc[rows].where(~df.loc[rows, "diverged"]), n_classes[dataset]
        )
    return df


def normalised_ranks(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, seed, init) of a cell with at least two inits: ``norm_rank`` in [0, 1]."""
    g = df.groupby([*CELL, "seed"], sort=True)
    k = g["init"].transform("nunique")
    rank = g["score"].rank(method="average", ascending=False)
    out = df.assign(norm_rank=(rank - 1) / (k - 1))
    return out[k >= 2]


def _cell_matrices(ranks: pd.DataFrame):
    """Per cell: its inits, and their normalised ranks as an (inits × seeds) matrix (NaN: no run)."""
    for _, cell in ranks.groupby(CELL, sort=True):
        m = cell.pivot_table(index="init", columns="seed", values="norm_rank", aggfunc="mean")
        yield list(m.index), m.to_numpy(dtype=float)


def mean_ranks(ranks: pd.DataFrame, b: int = B, seed: int = SEED) -> pd.DataFrame:
    """Per init: ``cells``, ``mean_rank`` and its bootstrap interval ``rank_lo``, ``rank_hi``."""
    rng = np.random.default_rng(seed)
    inits = sorted(ranks["init"].unique())
    if not inits:
        return pd.DataFrame(columns=["init", "cells", "mean_rank", "rank_lo", "rank_hi"])
    pos = {init: i for i, init in enumerate(inits)}
    total, count = np.zeros(len(inits)), np.zeros(len(inits))
    boot = np.zeros((b, len(inits)))
    for names, m in _cell_matrices(ranks):
        rows = [pos[n] for n in names]
        with np.errstate(invalid="ignore"):
            total[rows] += np.nanmean(m, axis=1)
            draws = rng.integers(0, m.shape[1], size=(b, m.shape[1]))  # seeds with replacement
            boot[:, rows] += np.nanmean(m[:, draws], axis=2).T  # (inits, b, seeds) -> (b, inits)
        count[rows] += 1
    lo, hi = np.percentile(boot / count, [50 * (1 - LEVEL), 50 * (1 + LEVEL)], axis=0)
    return pd.DataFrame(
        {"init": inits, "cells": count.astype(int), "mean_rank": total / count, "rank_lo": lo, "rank_hi": hi}
    )


def against_default(df: pd.DataFrame) -> pd.DataFrame:
    """Per (init, cell) where default ran: the paired test of scores over seeds, Holm-adjusted over
    the whole family, and its outcome (``win``, ``loss`` or ``tie``)."""
    rows = []
    for key, cell in df.groupby(CELL, sort=True):
        wide = cell.pivot_table(index="seed", columns="init", values="score", aggfunc="mean")
        if BASELINE not in wide:
            continue
        for init in (c for c in wide.columns if c != BASELINE):
            res = stats.paired_test(wide[init].to_numpy(), wide[BASELINE].to_numpy())
            rows.append(
                {**dict(zip(CELL, key, strict=True)), "init": init, "diff": res.mean_diff, "p": res.p_t}
            )
    out = pd.DataFrame(rows, columns=[*CELL, "init", "diff", "p"])
    out["p_holm"] = stats.holm(out["p"].to_numpy()) if len(out) else []
    significant = out["p_holm"] < stats.ALPHA
    out["outcome"] = np.where(
        significant & (out["diff"] > 0), "win", np.where(significant & (out["diff"] < 0), "loss", "tie")
    )
    return out


def provenance(init: str, plugin_inits: dict[str, dict]) -> tuple[str, str]:
    """(source, citation) of an init spec: a built-in record's, or its plugin check's record."""
    name = registry.split_spec(init)[0]
    if name in plugin_inits:
        rec = plugin_inits[name]
        return rec["plugin"], rec.get("cite") or registry.USER_SUPPLIED
    rec = registry.REGISTRY.get(name)
    if rec is None:
        return "unknown", registry.USER_SUPPLIED
    return rec.source, rec.cite


def build(
    summary: pd.DataFrame, n_classes: dict[str, int], plugin_inits: dict[str, dict] | None = None, b: int = B
) -> pd.DataFrame:
    """The leaderboard (``COLUMNS``), best mean rank first. ``plugin_inits`` maps a plugin init's
    name to its check record (with ``plugin`` and ``cite``); see ``plugin_records``."""
    df = scored(summary, n_classes)
    board = mean_ranks(normalised_ranks(df), b=b)
    runs = df.groupby("init", as_index=False).agg(
        runs=("score", "size"), diverged=("diverged", "sum"), failed=("did_not_train", "sum")
    )
    board = board.merge(runs, on="init", how="right").fillna({"cells": 0})
    board["stayed_at_chance"] = board["failed"] - board["diverged"]
    board["did_not_train_share"] = board["failed"] / board["runs"]
    tests = against_default(df)
    for outcome, column in (("win", "wins"), ("tie", "ties"), ("loss", "losses")):
        counts = tests.loc[tests["outcome"] == outcome, "init"].value_counts()
        board[column] = board["init"].map(counts).fillna(0).astype(int)
    board["vs_default_cells"] = board[["wins", "ties", "losses"]].sum(axis=1)
    prov = [provenance(i, plugin_inits or {}) for i in board["init"]]
    board["source"], board["cite"] = [p[0] for p in prov], [p[1] for p in prov]
    board = board.sort_values(["mean_rank", "init"], na_position="last", kind="mergesort", ignore_index=True)
    board["place"] = np.arange(1, len(board) + 1)
    for col in ("cells", "runs", "diverged", "stayed_at_chance"):
        board[col] = board[col].astype(int)
    return board[list(COLUMNS)]


def plugin_records(paths: list[str | Path]) -> dict[str, dict]:
    """The inits of the plugin check records (``results/plugins/<name>.json``), by name."""
    out = {}
    for path in paths:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        for init in record["inits"]:
            out[init["name"]] = {**init, "plugin": record["plugin"], "sha256": record["sha256"]}
    return out


def write(board: pd.DataFrame, out: str | Path) -> None:
    """The leaderboard as CSV (the same table gives the same bytes)."""
    atomic_write(out, lambda tmp: board.to_csv(tmp, index=False, float_format="%.4f"))


def n_classes_of(meta_paths: list[str | Path]) -> dict[str, int]:
    """Each dataset's number of classes, from its prepare meta (``results/data/<name>.json``)."""
    metas = [json.loads(Path(p).read_text(encoding="utf-8")) for p in meta_paths]
    return {m["dataset"]: int(m["n_classes"]) for m in metas}
