"""The leaderboard section: ``initbench.leaderboard``'s table, as the report prints it.

The same function and inputs as ``results/report/leaderboard.csv`` (the summary, the datasets'
class counts, the inits' records; plugin inits are registered in the report job), so the section
and the file show the same numbers.
"""

from __future__ import annotations

import math

from initbench import kinds, leaderboard
from initbench.report.context.text import init_row
from initbench.report.sections import Run


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if isinstance(x, float) and math.isfinite(x) else "–"


def _kind_classes(config: dict, dataset: str) -> int | None:
    kind = (config.get("datasets", {}).get(dataset) or {}).get("kind") or dataset
    if kind not in kinds.KINDS or kinds.KINDS[kind].classes is None:
        return None
    return max(kinds.KINDS[kind].classes, 2)  # one output unit (toy1d's BCE): two classes


def build(run: Run) -> dict:
    summary = run.tables.get("summary")
    # from each dataset's meta; a dataset without one takes its kind's record (initbench.kinds)
    n_classes = {d: _kind_classes(run.config, d) for d in summary["dataset"].unique()}
    n_classes = {d: n for d, n in n_classes.items() if n} | leaderboard.n_classes_of(run.dataset_meta)
    board = leaderboard.build(summary, n_classes)
    ranked = leaderboard.normalised_ranks(leaderboard.scored(summary, n_classes))
    rows = [
        init_row(
            r.init,
            place=str(r.place),
            source=r.source,
            cite=r.cite,
            rank=_num(r.mean_rank),
            ci=f"[{_num(r.rank_lo)}, {_num(r.rank_hi)}]" if r.cells else "",
            cells=str(r.cells),
            versus=f"{r.wins} / {r.ties} / {r.losses}" if r.vs_default_cells else "–",
            diverged=str(r.diverged),
            at_chance=str(r.stayed_at_chance),
            runs=str(r.runs),
        )
        for r in board.itertuples()
    ]
    return {
        "rows": rows,
        "method": leaderboard.METHOD,
        "level": f"{leaderboard.LEVEL:.0%}",
        "n_cells": str(len(ranked[leaderboard.CELL].drop_duplicates())),
        "plugins": sorted({r["source"] for r in rows if r["source"] != "built-in"}),
    }
