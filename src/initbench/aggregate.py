"""Per-pack metric files → one tidy table per kind (results/metrics/*.parquet) and results/summary.csv.

Rows are sorted by the grid key so the same inputs always give byte-identical tables,
whatever order the jobs finished in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import schema
from .atomic import atomic_write


def _sort_keys(table: str, df: pd.DataFrame) -> list[str]:
    order = [
        c for c in ("study", "dataset", "depth", "width", "activation", "init", "seed", "variant") if c in df
    ]
    order += [c for c in ("epoch", "iteration", "layer", "quantity", "bin_left", "sample", "unit") if c in df]
    return order


def concat(paths: list[Path], table: str) -> pd.DataFrame:
    """Read and check each per-pack file of one kind, and stack them in grid order."""
    frames = [schema.read(p, table) for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in schema.TABLES[table]})
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(_sort_keys(table, df), kind="mergesort", ignore_index=True)


def aggregate(inputs: dict[str, list[Path]], outputs: dict[str, Path]) -> dict[str, int]:
    """Write the aggregate tables; return the row count of each.

    ``inputs`` maps each table of ``schema.METRIC_TABLES`` and ``variants``/``meta`` to the per-pack files;
    ``outputs`` maps the same tables and ``summary``/``jobs`` to where they go.
    """
    counts = {}
    for table in schema.METRIC_TABLES:
        df = concat(inputs[table], table)
        atomic_write(outputs[table], lambda p, df=df: df.to_parquet(p, index=False))
        counts[table] = len(df)
    summary = concat(inputs["variants"], "summary")
    atomic_write(outputs["summary"], lambda p: summary.to_csv(p, index=False, float_format="%.10g"))
    counts["summary"] = len(summary)
    jobs = [json.loads(Path(p).read_text()) for p in inputs["meta"]]
    jobs.sort(key=lambda j: (str(j.get("study")), str(j.get("pack"))))
    atomic_write(
        outputs["jobs"], lambda p: Path(p).write_text(json.dumps(jobs, indent=1, sort_keys=True) + "\n")
    )
    return counts
