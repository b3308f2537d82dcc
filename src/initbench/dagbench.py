"""How long Snakemake takes to build the DAG of a large grid: a timed dry run, nothing trained.

    python -m initbench.dagbench [--configfile tests/config/scale-10k.yaml] [--out FILE]

Dry-runs the config twice in a scratch folder: as configured (``pack_size: auto``: one job per
pack of variants), and with ``pack_size=1`` (one job per variant, Snakemake's usual way), and
prints for each the variants, the jobs and the wall time. ``make bench-dag`` calls it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import config as ibconfig
from . import grid

REPO = Path(__file__).resolve().parents[2]


def dry_run(configfile: Path, *overrides: str) -> dict:
    """Time ``snakemake -n`` on ``configfile`` (plus ``--config`` overrides) in a scratch folder."""
    snakemake = Path(sys.executable).with_name("snakemake")
    with tempfile.TemporaryDirectory(prefix="initbench-dag-") as scratch:
        cmd = [str(snakemake), "--snakefile", str(REPO / "Snakefile"), "--directory", scratch]
        cmd += ["-n", "--cores", "2", "--configfile", str(configfile)]
        cmd += ["--config", *overrides] if overrides else []
        begun = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - begun
    if out.returncode != 0:
        raise RuntimeError(f"dry run failed ({' '.join(cmd)}):\n{out.stderr[-3000:]}")
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout + out.stderr, flags=re.M))
    return {
        "overrides": list(overrides),
        "jobs": int(stats["total"]),
        "train_jobs": int(stats["train"]),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "tests/config/scale-10k.yaml")
    parser.add_argument("--out", type=Path, default=Path("results/bench/dag.json"))
    args = parser.parse_args(argv)
    cfg = ibconfig.load(args.configfile, REPO / "workflow/schemas/config.schema.yaml")
    n_variants = len(grid.variants(cfg))
    runs = [dry_run(args.configfile), dry_run(args.configfile, "pack_size=1")]
    for run in runs:
        how = " ".join(run["overrides"]) or f"pack_size={cfg['pack_size']}"
        print(
            f"{how:>16}: {n_variants} variants -> {run['jobs']} jobs ({run['train_jobs']} train), DAG dry run {run['seconds']:.1f} s"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"configfile": str(args.configfile), "variants": n_variants, "runs": runs}, indent=1)
    )


if __name__ == "__main__":
    main()
