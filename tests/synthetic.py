"""Synthetic but schema-complete inputs of the report: every aggregate table, jobs, benchmarks, meta.

The tables come from ``synthetic_tables`` (made up to look like real runs; every effect can be
changed, e.g. ``quality={("xavier_lab", "xavier_uniform"): 0.11}``); this module lays them out as
the workflow does, with the job records, benchmark files and dataset meta beside them. Nothing
here trains anything; it runs in about a second.

    inputs = write_inputs(tmp_path)              # all studies, 4 seeds
    initbench.report.render(**inputs.render_kwargs(figures), ...)
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from initbench import config as ibconfig
from initbench import schema
from synthetic_tables import N_CLASSES, N_TRAIN, tables

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"

STUDIES = (
    "same_weights",
    "xavier_lab",
    "he_lab",
    "depth",
    "table1",
    "criticality",
    "isometry",
    "isometry_relu",
)


def config(studies=STUDIES, seeds: int = 4) -> dict:
    """A config of the documented shape with small versions of the given studies."""
    t = {"lr": 0.01, "momentum": 0.0, "loss": "cross_entropy"}
    all_studies = {
        "same_weights": {
            "dataset": "toy1d",
            "hidden": [2],
            "activation": ["sigmoid"],
            "init": ["ones", "default"],
            "record_hidden": True,
            "training": {"lr": 0.1, "momentum": 0.0, "loss": "bce", "batch_size": 1, "epochs": 40},
        },
        "xavier_lab": {
            "dataset": "mnist",
            "hidden": [100, 10, 100, 10, 100],
            "activation": ["tanh"],
            "init": [
                "uniform(0,1)",
                "default",
                "xavier_uniform",
                "uniform(-1,1)",
                "uniform(-0.05,0.05)",
                "fan_in_uniform",
            ],
            "training": {**t, "batch_size": 2000, "epochs": 15},
        },
        "he_lab": {
            "dataset": "mnist1d",
            "hidden": [100, 200, 100],
            "activation": ["relu"],
            "init": ["uniform(0,1)", "default", "he_uniform"],
            "training": {**t, "batch_size": 200, "epochs": 30},
        },
        "depth": {
            "dataset": "mnist1d",
            "depth": [1, 2, 3, 5, 10, 20, 30],
            "width": [64],
            "activation": ["tanh", "relu"],
            "init": ["default", "xavier_uniform", "he_uniform"],
            "training": {**t, "batch_size": 500, "epochs": 8},
        },
        "table1": {
            "dataset": ["mnist1d", "shapeset"],
            "hidden": [1000] * 5,
            "activation": ["tanh", "softsign", "sigmoid"],
            "init": ["default", "xavier_uniform"],
            "training": {**t, "batch_size": 1000, "epochs": 4},
        },
        "criticality": {
            "dataset": "mnist1d",
            "depth": [10, 20, 40, 80],
            "width": [64],
            "activation": ["tanh"],
            "init": [f"gaussian({w:g},0.05)" for w in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)],
            "training": {**t, "batch_size": 64, "epochs": 1},
        },
        "isometry": {
            "dataset": "mnist1d",
            "depth": [32],
            "width": [64],
            "activation": ["tanh"],
            "init": [
                "gaussian(1.761,0.05)",
                "orthogonal(1.761,0.05)",
                "gaussian(1.05,2e-05)",
                "orthogonal(1.05,2e-05)",
            ],
            "training": {**t, "batch_size": 64, "epochs": 1},
            "stats": {"jacobian": {"depths": [2, 8, 32], "inputs": 2}},
        },
        "isometry_relu": {
            "dataset": "mnist1d",
            "depth": [32],
            "width": [64],
            "activation": ["relu"],
            "init": ["he_normal", "orthogonal(2)"],
            "training": {**t, "batch_size": 64, "epochs": 1},
            "stats": {"jacobian": {"depths": [2, 8, 32], "inputs": 2}},
        },
    }
    studies_cfg = {k: {**v, "seeds": seeds} for k, v in all_studies.items() if k in studies}
    raw = {
        "datasets": {
            "toy1d": {"kind": "toy1d"},
            "mnist": {"kind": "mnist"},
            "mnist1d": {"kind": "mnist1d", "seed": 42},
            "shapeset": {"kind": "shapeset", "n_samples": 12500},  # 10k training images
        },
        "studies": studies_cfg,
    }
    return ibconfig.validate(raw, SCHEMA)  # with the schema's defaults, as a run's config is


@dataclass
class Inputs:
    """Paths of a complete set of report inputs, laid out as the workflow lays them out."""

    root: Path
    config: dict
    metrics_dir: Path
    summary_csv: Path
    jobs_json: Path
    benchmarks: list[Path] = field(default_factory=list)
    dataset_meta: list[Path] = field(default_factory=list)

    def render_kwargs(self, figures: dict[str, Path]) -> dict:
        return dict(
            metrics_dir=self.metrics_dir,
            summary_csv=self.summary_csv,
            jobs_json=self.jobs_json,
            benchmarks=self.benchmarks,
            dataset_meta=self.dataset_meta,
            figures=figures,
            config=self.config,
        )


def write_inputs(root: Path, cfg: dict | None = None, quality: dict | None = None) -> Inputs:
    """Write every input of ``initbench.report.render`` under ``root``, as the workflow lays them out."""
    cfg = cfg or config()
    root = Path(root)
    metrics = root / "results" / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    tabs = tables(cfg, quality)
    for t in (*schema.METRIC_TABLES, "spectra"):
        tabs[t].to_parquet(metrics / f"{t}.parquet", index=False)
    summary_csv = root / "results" / "summary.csv"
    tabs["summary"].to_csv(summary_csv, index=False)
    jobs, benchmarks = [], []
    for i, (pack, g) in enumerate(tabs["summary"].groupby("pack", sort=True)):
        study = g["study"].iloc[0]
        jobs.append(
            {
                "study": study,
                "pack": pack,
                "device": "cpu",
                "torch_version": "2.14.1",
                "threads": 2,
                "cpu_model": "Synthetic CPU @ 2.0GHz",
                "gpu_model": None,
                "deterministic": True,
                "seconds": 10.0 + 3 * i,
                "n_variants": len(g),
            }
        )
        tsv = root / "results" / "benchmarks" / "train" / study / f"{pack}.tsv"
        tsv.parent.mkdir(parents=True, exist_ok=True)
        tsv.write_text(
            "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
            f"{11.5 + 3 * i:.4f}\t0:00:{11 + 3 * i:02d}\t{812.3 + i:.2f}\t2400.1\t790.2\t800.4\t12.1\t3.4\t"
            f"{180.0 + i:.2f}\t{20.5 + 5 * i:.2f}\n"
        )
        benchmarks.append(tsv)
    jobs_json = root / "results" / "metrics" / "jobs.json"
    jobs_json.write_text(json.dumps(jobs, indent=1))
    meta = []
    for name in sorted({d for st in cfg["studies"].values() for d in np.atleast_1d(st["dataset"])}):
        p = root / "results" / "data" / f"{name}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(name.encode()).hexdigest()
        p.write_text(
            json.dumps(
                {
                    "dataset": name,
                    "kind": cfg["datasets"][name]["kind"],
                    "n_classes": N_CLASSES[name],
                    "source": f"synthetic {name}",
                    "sizes": {"train": N_TRAIN[name], "val": N_TRAIN[name] // 6, "test": N_TRAIN[name] // 6},
                    "normalize": False,
                    "sha256": {"train": digest, "test": digest[::-1]},
                }
            )
        )
        meta.append(p)
    return Inputs(root, cfg, metrics, summary_csv, jobs_json, benchmarks, meta)


@functools.cache
def drawn(studies: tuple[str, ...] = STUDIES, quality: tuple = ()) -> tuple[Inputs, dict[str, Path]]:
    """Inputs and every catalog figure drawn from them, made once per test session (cached)."""
    from initbench import figures

    root = Path(tempfile.mkdtemp(prefix="initbench-synthetic-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    inputs = write_inputs(root, config(studies), dict(quality))
    out = {}
    for name in figures.catalog(inputs.config["studies"]):
        out[name] = root / "figures" / f"{name}.svg"
        figures.draw(name, inputs.metrics_dir, inputs.summary_csv, out[name], inputs.config)
    return inputs, out
