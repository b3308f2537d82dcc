"""The real DAG, end to end through the snakemake CLI, on tests/config/tiny.yaml.

One uninterrupted run, and one run killed with SIGKILL in the middle of training and started
again: the second must finish and give byte-identical metric tables (which also shows that two
runs of the same config agree to the byte on the CPU).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, REPO, snakemake
from initbench import schema

TINY = REPO / "tests/config/tiny.yaml"
TABLES = [f"results/metrics/{t}.parquet" for t in (*schema.METRIC_TABLES, "spectra")]
TABLES += ["results/summary.csv"]
CLEAN_ENV = {"INITBENCH_DEVICE": "cpu"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tiny")
    start = time.perf_counter()
    proc = snakemake("--cores", "2", "--configfile", str(TINY), cwd=work, timeout=900, env=CLEAN_ENV)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    # speed is a benchmark, not an assertion: print it for the log
    print(f"tiny end-to-end run: {time.perf_counter() - start:.0f} s")
    return work


@pytest.mark.slow
def test_tiny_run_makes_the_report_and_tidy_tables(tiny_run):
    for rel in TABLES + ["results/report/report.html", "results/report/report.pdf"]:
        assert (tiny_run / rel).stat().st_size > 0, rel
    epochs = schema.read(tiny_run / "results/metrics/epochs.parquet", "epochs")
    summary = schema.read(tiny_run / "results/summary.csv", "summary")
    studies = {"same_weights", "xavier_lab", "he_lab", "depth", "table1"}
    studies |= {"criticality", "isometry", "isometry_relu"}
    assert set(epochs["study"]) == studies
    assert len(summary) == summary["variant"].nunique() == 111
    spectra = schema.read(tiny_run / "results/metrics/spectra.parquet", "spectra")
    # 18 variants of the two isometry studies x 3 Jacobian depths x 2 probe inputs x 16 units
    assert len(spectra) == 18 * 3 * 2 * 16 and set(spectra["study"]) == {"isometry", "isometry_relu"}
    for rel in ("results/logs/train", "results/benchmarks/train"):
        assert any((tiny_run / rel).rglob("*")), f"every training job has a log and a benchmark file: {rel}"


@pytest.mark.slow
def test_tiny_report_in_a_real_browser_and_as_pdf(tiny_run, tmp_path):
    from browser import assert_html_ok, assert_pdf_ok
    from initbench import figures, report

    html = tiny_run / "results/report/report.html"
    names = figures.catalog(["same_weights", "xavier_lab", "he_lab", "depth", "criticality", "isometry"])
    assert_html_ok(html, report.SECTION_IDS, min_figures=len(names))
    assert_pdf_ok(
        tiny_run / "results/report/report.pdf",
        min_pages=8,
        max_pages=30,
        expected_texts=[f"Figure {i}" for i in range(1, len(names) + 1)],
    )


@pytest.mark.slow
def test_rerun_does_nothing_and_a_change_reruns_only_its_study(tiny_run, tmp_path):
    proc = snakemake("--cores", "2", "--configfile", str(TINY), "-n", cwd=tiny_run)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        TINY.read_text().replace(
            "training: {lr: 0.05, batch_size: 200, epochs: 3}\n  he_lab",
            "training: {lr: 0.04, batch_size: 200, epochs: 3}\n  he_lab",
        )
    )
    assert changed.read_text() != TINY.read_text()
    proc = snakemake("--cores", "2", "--configfile", str(changed), "-n", "--quiet", "rules", cwd=tiny_run)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    train_line = next(line for line in out.splitlines() if line.strip().startswith("train"))
    assert train_line.split()[1] == "1", f"only the xavier_lab pack should retrain:\n{out}"


@pytest.mark.slow
def test_killed_run_resumes_to_identical_tables(tiny_run, tmp_path):
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "2",
        "--configfile",
        str(TINY),
    ]
    env = {**os.environ, **CLEAN_ENV}
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpts = tmp_path / "results/checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if ckpts.exists() and any(ckpts.rglob("*.pt")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before any checkpoint was written"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(ckpts.rglob("*.pt")), "the kill must land mid-training, with a checkpoint on disk"
    again = snakemake("--cores", "2", "--configfile", str(TINY), cwd=tmp_path, env=CLEAN_ENV)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    for rel in TABLES:
        assert (tmp_path / rel).read_bytes() == (tiny_run / rel).read_bytes(), (
            f"{rel} differs after kill + resume"
        )


@pytest.mark.slow
def test_train_jobs_claim_fake_gpus_under_resources_gpu(tmp_path):
    """The local GPU path without a GPU: 2 fake GPUs ($INITBENCH_GPUS), 3 train jobs, ``--resources
    gpu=2``. Each job claims one and pins it; torch then finds no CUDA, so ``auto`` trains on the CPU."""
    # packs with enough work per step for a GPU (initbench.placement); table1's tiny ones stay on the CPU
    packs = [
        "xavier_lab/mnist1d-h32x10x32-tanh",
        "he_lab/mnist1d-h32x64x32-relu",
        "depth/mnist1d-d6-w16-tanh",
    ]
    targets = [f"results/runs/{pack}/meta.json" for pack in packs]
    proc = snakemake(
        *targets, "--cores", "3", "--resources", "gpu=2", "--configfile", str(TINY), "--config", "device=auto",
        cwd=tmp_path, env={"INITBENCH_DEVICE": "", "INITBENCH_GPUS": "2", "INITBENCH_GPU_LOCKS": str(tmp_path / "locks")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for pack in packs:
        log = (tmp_path / f"results/logs/train/{pack}.log").read_text()
        assert re.search(r"GPU [01] \(of 2 visible\) is this job's, as cuda:0", log), log[-2000:]
        assert "variants on cpu" in log, log[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["config/config.yaml", "config/offline.yaml", "config/paper.yaml", "tests/config/scale-10k.yaml"]
)
def test_dry_run_of_every_shipped_config(name, tmp_path):
    start = time.perf_counter()
    proc = snakemake("--cores", "4", "--configfile", str(REPO / name), "-n", "--quiet", "rules", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "train" in proc.stdout
    print(f"dry run of {name}: {time.perf_counter() - start:.1f} s")


def test_lint_is_clean(tmp_path):
    proc = snakemake("--lint", cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
