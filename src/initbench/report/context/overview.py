"""Section 1 (the setup: what ran, on what, for how long) and the references."""

from __future__ import annotations

from initbench.figures.data import published
from initbench.figures.style import init_order
from initbench.report.context.text import join, with_kind
from initbench.report.sections import Run


def setup(run: Run) -> dict:
    s = run.tables.get("summary")
    rows = []
    for study in sorted(s["study"].unique()):
        g = s[s["study"] == study]
        nets = g["hidden"].astype(str).unique()
        depths, widths = sorted(g["depth"].unique()), sorted(g["width"].unique())
        network = (
            nets[0]
            if len(nets) == 1
            else f"{len(depths)} depths, {depths[0]} to {depths[-1]}, width {join(widths)}"
        )
        rows.append(
            {
                "study": study,
                "datasets": join(sorted(g["dataset"].unique())),
                "network": network,
                "activations": join(sorted(g["activation"].unique())),
                "inits": join(init_order(g["init"])),
                "seeds": str(g["seed"].nunique()),
                "models": str(len(g)),
                "training": f"{join(sorted(g['epochs'].unique()))} epochs, batch {join(sorted(g['batch_size'].unique()))}, "
                f"lr {join(sorted(g['lr'].unique()))}",
            }
        )
    seeds = sorted(s.groupby("study")["seed"].nunique().unique())
    jobs = run.jobs
    hours = sum(float(j.get("seconds") or 0) for j in jobs) / 3600
    devices = sorted({str(j.get("device")) for j in jobs if j.get("device")})
    cpus = sorted({str(j.get("cpu_model")) for j in jobs if j.get("cpu_model")})
    gpus = sorted({str(j.get("gpu_model")) for j in jobs if j.get("gpu_model")})
    return {
        "studies": rows,
        "n_models": str(len(s)),
        "n_studies": str(len(rows)),
        "datasets": join(sorted(with_kind(run.config, d) for d in s["dataset"].unique())),
        "seeds": join(seeds),
        "n_jobs": str(len(jobs)),
        "train_hours": f"{hours:.2f}",
        "devices": join(devices) if devices else "unknown",
        "hardware": join(cpus + gpus) if cpus or gpus else "unknown hardware",
    }


def references(run: Run) -> list[dict]:
    """The sources of ``report/published.yaml``, in its order."""
    return [{"key": k, **v} for k, v in published()["sources"].items()]
