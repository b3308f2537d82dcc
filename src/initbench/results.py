"""What a pack run keeps and writes: its table rows (``Rows``) and its result files (``PackResult``).

The trainer accumulates rows as column chunks during the run (they go into the checkpoint too),
and hands back a ``PackResult`` whose ``write`` puts each tidy table, the summary and the job's
meta into the pack's folder, each file atomically (``checkpoint.atomic_write``).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from initbench import names
from initbench.checkpoint import atomic_write
from initbench.packspec import variant_id
from initbench.schema import KEY, METRIC_TABLES, TABLES


class Rows:
    """Rows of the tidy tables accumulated during a run, as column chunks (dicts of CPU tensors or
    lists, one ``variant`` column of variant indices). Plain enough for ``torch.load(weights_only)``."""

    def __init__(self):
        self.chunks: dict[str, list[dict]] = {t: [] for t in METRIC_TABLES}

    def add(self, table: str, cols: dict) -> None:
        self.chunks[table].append({k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in cols.items()})

    def add_steps(self, epoch: int, slots, losses, first: int, sizes: list[int], ends, n_variants: int):
        """Record one epoch's SGD steps as iteration rows and return each variant's train loss.

        ``losses`` (steps, S) are the slots' losses at each step (CPU), ``slots`` (S,) the
        variant in each slot (-1: padding), ``first`` the iteration number of the first step,
        ``sizes`` each step's batch size; slot s has rows for its first ``ends[s]`` steps. The
        train loss is the mean over the epoch's samples (so the last, partial batch weighs
        less), NaN for variants that did not train."""
        steps = losses.shape[0]
        logged = (torch.arange(steps).unsqueeze(1) < ends) & (slots >= 0)  # (steps, S), step-major
        variant = slots.expand(steps, -1)[logged]
        loss = losses.double()[logged]
        iteration = (first + torch.arange(steps)).unsqueeze(1).expand(logged.shape)[logged]
        weight = torch.tensor(sizes, dtype=torch.float64).unsqueeze(1).expand(logged.shape)[logged]
        cols = {
            "variant": variant,
            "epoch": torch.full_like(variant, epoch),
            "iteration": iteration,
            "loss": loss,
        }
        self.add("iterations", cols)
        total = torch.zeros(n_variants, dtype=torch.float64).index_add_(0, variant, loss * weight)
        return total / torch.zeros(n_variants, dtype=torch.float64).index_add_(0, variant, weight)

    def add_epoch(self, variants, epoch: int, train_loss, val_loss, val_acc, *, diverged: bool) -> None:
        """One epoch row per variant in ``variants`` (K,): its train loss and validation metrics."""
        k = variants.numel()
        self.add("epochs", {
            "variant": variants.clone(), "epoch": torch.full((k,), epoch), "train_loss": train_loss.double(),
            "val_loss": val_loss, "val_accuracy": val_acc, "diverged": torch.full((k,), diverged),
        })  # fmt: skip

    def consolidate(self) -> None:
        """Merge each table's chunks into one, so a checkpoint pickles a few large tensors."""
        for table, chunks in self.chunks.items():
            if len(chunks) > 1:
                self.chunks[table] = [
                    {
                        key: torch.cat([c[key] for c in chunks])
                        if isinstance(chunks[0][key], torch.Tensor)
                        else [x for c in chunks for x in c[key]]
                        for key in chunks[0]
                    }
                ]

    def frame(self, table: str, columns: list[dict]) -> pd.DataFrame:
        """The table as a DataFrame: each variant's ``columns`` first, then the table's own, sorted
        by variant (stable, so time order is kept within a variant)."""
        self.consolidate()
        own = [c for c in TABLES[table] if c not in KEY]
        chunk = self.chunks[table][0] if self.chunks[table] else None
        if chunk is None:
            idx, df = np.zeros(0, dtype=np.int64), pd.DataFrame({c: [] for c in own})
        else:
            idx = chunk["variant"].numpy()
            df = pd.DataFrame(
                {
                    k: (v.numpy() if isinstance(v, torch.Tensor) else v)
                    for k, v in chunk.items()
                    if k != "variant"
                }
            )
        grid = pd.DataFrame(columns).iloc[idx].reset_index(drop=True)
        df = pd.concat([grid, df.reset_index(drop=True)], axis=1)
        extra = [c for c in grid.columns if c not in KEY]
        df = df[list(KEY) + own + extra]
        return df.iloc[np.argsort(idx, kind="stable")].reset_index(drop=True)


@dataclass
class PackResult:
    """The tables of one pack run (columns as ``schema.TABLES``), its meta, and final parameters.

    ``params[i]`` is variant i's ``[weights, biases]`` at the end (at divergence, if it diverged).
    """

    iterations: pd.DataFrame
    epochs: pd.DataFrame
    layers: pd.DataFrame
    histograms: pd.DataFrame
    hidden: pd.DataFrame
    summary: pd.DataFrame
    meta: dict
    params: list = field(default_factory=list, repr=False)

    def write(self, outdir: str | Path) -> None:
        """``<table>.parquet`` per metric table, ``variants.csv`` (summary), ``meta.json``; each atomic."""
        outdir = Path(outdir)
        for table in METRIC_TABLES:
            df = getattr(self, table)
            atomic_write(outdir / f"{table}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
        atomic_write(outdir / "variants.csv", lambda p: self.summary.to_csv(p, index=False))
        text = json.dumps(self.meta, indent=2, sort_keys=True, default=str)
        atomic_write(outdir / "meta.json", lambda p: p.write_text(text + "\n"))


def machine_meta(device) -> dict:
    """Where and how the run ran: device, versions, threads, CPU and GPU model, determinism flag."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "device": str(device), "torch_version": torch.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(), "cpu_model": cpu, "gpu_model": gpu,
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }  # fmt: skip


def variant_columns(spec: dict) -> list[dict]:
    """Each variant's row columns (``spec`` is ``PackSpec.to_dict()``): the grid columns, filled
    from the spec where the variant's ``columns`` lack them (study and dataset default to ""),
    then the ``columns`` themselves."""
    shared = {"study": "", "dataset": "", "depth": len(spec["hidden"]), "width": max(spec["hidden"])}
    return [
        shared
        | {"activation": spec["activation"], "init": v["init"], "seed": v["seed"], "variant": variant_id(v)}
        | v["columns"]
        for v in spec["variants"]
    ]


def build_result(
    spec: dict,
    rows: Rows,
    *,
    test: dict,
    diverged: dict,
    meta: dict,
    params: list,
    epochs_run: int | None = None,
) -> PackResult:
    """The run's tables. ``spec`` is ``PackSpec.to_dict()``; ``test`` maps a variant index to its
    (test loss, test accuracy), ``diverged`` to the epoch it diverged in; ``epochs_run`` is the
    summary's ``epochs`` (default ``spec["epochs"]``; a run of ``steps`` gives the epochs it ran).
    Each summary row takes its final train/val numbers from the variant's last epoch row (NaN if
    it diverged)."""
    columns = variant_columns(spec)
    tables = {t: rows.frame(t, columns) for t in METRIC_TABLES}
    epochs = rows.chunks["epochs"][0] if rows.chunks["epochs"] else {"variant": torch.zeros(0)}
    last = {v: j for j, v in enumerate(epochs["variant"].tolist())}  # rows are in time order
    pack = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]
    out = []
    for i, v in enumerate(spec["variants"]):
        j = None if i in diverged else last.get(i)
        final = {
            f"final_{k}": math.nan if j is None else float(epochs[k][j])
            for k in ("train_loss", "val_loss", "val_accuracy")
        }
        out.append(columns[i] | {
            "hidden": "-".join(map(str, spec["hidden"])), "bias_policy": names.bias_policy(v["init"], v.get("bias")),
            "lr": v["lr"], "momentum": v["momentum"], "batch_size": spec["batch_size"], "epochs": epochs_run or spec["epochs"],
            "test_loss": test.get(i, (math.nan,) * 2)[0], "test_accuracy": test.get(i, (math.nan,) * 2)[1],
            "diverged": i in diverged, "diverged_epoch": diverged.get(i),
            "pack": columns[i].get("pack", pack),  # the grid's pack id, else a hash of the spec
        } | final)  # fmt: skip
    df = pd.DataFrame(out)
    df["diverged_epoch"] = df["diverged_epoch"].astype("Int64")
    df = df[list(TABLES["summary"]) + [c for c in df.columns if c not in TABLES["summary"]]]
    return PackResult(**tables, summary=df, meta=meta, params=params)
