"""The appendix: the config as run and its hash, provenance, runtimes, dataset checksums, divergences.

One function per appendix section, each taking a ``sections.Run``. Inputs are free-form where the
workflow's are (job records, dataset meta): missing keys print as "unknown" rather than failing
the report.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import yaml

from initbench.figures.style import init_label
from initbench.report.sections import Run

BENCHMARK_COLUMNS = ("s", "max_rss", "mean_load", "cpu_time")


def config(run: Run) -> dict:
    """The config as YAML (keys sorted) and the sha256 of exactly that text."""
    text = yaml.safe_dump(run.config, sort_keys=True, default_flow_style=None, allow_unicode=True, width=100)
    return {"yaml": text, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _set(jobs: list[dict], key: str) -> str:
    vals = sorted({str(j[key]) for j in jobs if j.get(key) is not None})
    return ", ".join(vals) if vals else "unknown"


def provenance(run: Run) -> dict:
    """Where the training jobs ran, and where this report was made."""
    return {"training": _training(run.jobs), "report": _report(run.provenance)}


def _training(jobs: list[dict]) -> list[dict]:
    det = [j.get("deterministic") for j in jobs if j.get("deterministic") is not None]
    determinism = (
        "unknown"
        if not det
        else (
            "all jobs"
            if all(det)
            else ("no job" if not any(det) else f"{sum(map(bool, det))} of {len(det)} jobs")
        )
    )
    return [
        {"key": k, "value": v}
        for k, v in (
            ("training jobs", str(len(jobs))),
            ("devices", _set(jobs, "device")),
            ("torch", _set(jobs, "torch_version")),
            ("threads", _set(jobs, "threads")),
            ("CPU model", _set(jobs, "cpu_model")),
            ("GPU model", _set(jobs, "gpu_model")),
            ("deterministic algorithms", determinism),
        )
    ] + _plugins(jobs)


def _plugins(jobs: list[dict]) -> list[dict]:
    """One row per plugin file the training jobs imported: its sha256 (each, if jobs saw several)."""
    seen: dict[str, set[str]] = {}
    for j in jobs:
        for path, sha in (j.get("plugins") or {}).items():
            seen.setdefault(path, set()).add(sha)
    return [
        {"key": f"plugin {path}", "value": ", ".join(sorted(shas))} for path, shas in sorted(seen.items())
    ]


def _report(prov: dict) -> list[dict]:
    dirty = {None: "not a git checkout", True: " (with uncommitted changes)", False: ""}[
        prov.get("git_dirty")
    ]
    rows = [
        {
            "key": "git commit",
            "value": f"{prov.get('git_commit') or 'unknown'}{dirty if prov.get('git_commit') else ''}",
        },
        {"key": "commit date", "value": prov.get("git_commit_date") or "unknown"},
        {"key": "python", "value": prov.get("python", "unknown")},
        {"key": "platform", "value": prov.get("platform", "unknown")},
        {"key": "CPU model", "value": prov.get("cpu_model", "unknown")},
    ]
    rows += [{"key": p, "value": v or "not installed"} for p, v in sorted(prov.get("packages", {}).items())]
    return rows


def runtime(run: Run) -> dict:
    """One row per training job's benchmark TSV (``.../<study>/<pack>.tsv``), sorted by study and pack."""
    benchmarks, jobs = run.benchmarks, run.jobs
    n_variants = {(j.get("study"), j.get("pack")): j.get("n_variants") for j in jobs}
    rows, total = [], 0.0
    for path in sorted(Path(p) for p in benchmarks):
        b = pd.read_csv(path, sep="\t")
        study, pack = path.parent.name, path.stem
        rec = {c: float(b[c].iloc[-1]) if c in b and len(b) else float("nan") for c in BENCHMARK_COLUMNS}
        total += rec["s"] if rec["s"] == rec["s"] else 0.0
        rows.append(
            {
                "study": study,
                "pack": pack,
                "variants": str(n_variants.get((study, pack), "—")),
                "seconds": f"{rec['s']:.1f}",
                "cpu": f"{rec['cpu_time']:.1f}",
                "rss": f"{rec['max_rss']:.0f}",
                "load": f"{rec['mean_load']:.0f}",
            }
        )
    return {"rows": rows, "total_hours": f"{total / 3600:.2f}", "n": str(len(rows))}


def _flat(d, prefix: str = "") -> list[dict]:
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flat(v, f"{key}.")
        else:
            out.append({"key": key, "value": json.dumps(v) if not isinstance(v, str) else v})
    return out


def datasets(run: Run) -> list[dict]:
    """Each dataset's meta JSON, flattened to key/value rows (checksums included), in name order."""
    out = []
    for p in sorted(Path(x) for x in run.dataset_meta):
        meta = json.loads(p.read_text(encoding="utf-8"))
        out.append({"name": str(meta.get("dataset", p.stem)), "rows": _flat(meta)})
    return out


def divergence(run: Run) -> dict:
    s = run.tables.get("summary")
    cells = ["study", "init", "activation", "depth"]
    g = (
        s.assign(div=s["diverged"].astype(bool))
        .groupby(cells, sort=True)["div"]
        .agg(["sum", "count"])
        .reset_index()
    )
    bad = g[g["sum"] > 0]
    rows = [
        {
            "study": r.study,
            "init": init_label(r.init),
            "activation": r.activation,
            "depth": str(r.depth),
            "diverged": f"{int(r.sum)} of {int(r.count)}",
        }
        for r in bad.itertuples()
    ]
    return {
        "rows": rows,
        "n_cells": str(len(g)),
        "n_clean": str(len(g) - len(bad)),
        "n_diverged": str(int(g["sum"].sum())),
        "n_models": str(int(g["count"].sum())),
    }
