"""Snakemake's SLURM executor against a real single-node SLURM cluster.

Opt-in, because it starts daemons as root:

    make test-cluster     # or: sudo tests/slurm/install.sh
                          #     INITBENCH_SLURM_TESTS=1 pytest -m slurm tests/test_slurm.py -v

The module fixture starts the cluster with tests/slurm/cluster.sh (state and logs in pytest's
tmp dir) and stops it afterwards. The node has fake GPUs, so `--gpus` requests are scheduled
while every job computes on the CPU. Every Snakemake run is wrapped in `timeout -k`: if the
plugin loses track of a job it waits forever and ignores SIGTERM. See tests/slurm/README.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from initbench import schema

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "tests" / "slurm" / "cluster.sh"
SNAKEFILE = REPO / "Snakefile"
TINY = REPO / "tests" / "config" / "tiny.yaml"
VENV_BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.environ.get("INITBENCH_SLURM_TESTS") != "1",
        reason="starts a SLURM cluster as root: run `make test-cluster` (INITBENCH_SLURM_TESTS=1)",
    ),
]

# The plugin checks job states N s after its last check (default 40), and adds 10 s to the wait
# after every check that finds no job finished. A trivial job takes about 4 s here, so the first
# check should come just after that, not before: the two small tests take 39 s with 6, against
# 50 s with 2. The initbench run takes about 2 min either way; there the jobs themselves take the time.
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "6"]
SMALL_RUN_TIMEOUT_S = 150  # two rounds of jobs take about 30 s here
REAL_RUN_TIMEOUT_S = 420  # the whole initbench DAG on the tiny config: about 2 min here
LOCAL_RUN_TIMEOUT_S = 300  # the same, run locally: about 30 s here
KILL_AFTER_S = 10  # the plugin may ignore SIGTERM

SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")

# Three rules: `first` and `second` run side by side, `combine` needs both. With `--config fail=1`,
# `first` exits non-zero. Each job records the SLURM job id it ran under.
SMALL_SNAKEFILE = textwrap.dedent(
    """\
    rule all:
        input:
            "combined.txt",

    rule first:
        output:
            "first.txt",
        shell:
            "exit 3" if config.get("fail") else "echo $SLURM_JOB_ID > {output}"

    rule second:
        output:
            "second.txt",
        shell:
            "echo $SLURM_JOB_ID > {output}"

    rule combine:
        input:
            "first.txt",
            "second.txt",
        output:
            "combined.txt",
        shell:
            "cat {input} > {output} && echo $SLURM_JOB_ID >> {output}"
    """
)


def _env() -> dict[str, str]:
    """The test's environment, with the venv first on PATH: sbatch passes it on to the jobs,
    whose `python -m snakemake` must find the same packages."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _cluster(command: str, test_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLUSTER_SH), command],
        env={**_env(), "SLURM_TEST_DIR": str(test_dir)},
        capture_output=True,
        text=True,
        timeout=180,  # cluster.sh bounds each of its own waits; this bounds the whole
    )


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A running cluster for the module; yields its state/log folder."""
    test_dir = tmp_path_factory.mktemp("slurm")
    up = _cluster("up", test_dir)
    if up.returncode != 0:
        pytest.fail(f"cluster.sh up failed (rc {up.returncode}):\n{up.stdout}\n{up.stderr}")
    try:
        yield test_dir
    finally:
        down = _cluster("down", test_dir)
        assert down.returncode == 0, f"cluster.sh down failed:\n{down.stdout}\n{down.stderr}"


def _snakemake_cmd(args: list[str], timeout_s: int) -> list[str]:
    return ["timeout", "-k", str(KILL_AFTER_S), str(timeout_s), sys.executable, "-m", "snakemake", *args]


def _check_not_killed(returncode: int, timeout_s: int, stderr: str) -> None:
    assert returncode not in (124, 137), f"snakemake ran past {timeout_s}s and was killed:\n{stderr[-6000:]}"


def run_snakemake(args: list[str], workdir: Path, timeout_s: int) -> subprocess.CompletedProcess:
    """Run Snakemake from `workdir`: it also reads profiles/default/ from the current directory."""
    result = subprocess.run(
        _snakemake_cmd(args, timeout_s), cwd=workdir, env=_env(), capture_output=True, text=True
    )
    _check_not_killed(result.returncode, timeout_s, result.stderr)
    return result


def sacct(job_ids: list[str], fields: str) -> dict[str, list[str]]:
    """Job id -> the values of `fields` (comma-separated, JobID first), from accounting."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", fields, "-j", ",".join(job_ids)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    rows = (line.split("|") for line in out.splitlines() if line)
    return {row[0]: row[1:] for row in rows}


def slurm_states(job_ids: list[str]) -> dict[str, str]:
    """Job id -> final state, from accounting (what the plugin's status checks read)."""
    return {job: values[0] for job, values in sacct(job_ids, "JobID,State").items()}


def rule_of(comment: str) -> str:
    """The rule a job ran, from the comment the plugin gives it: `rule_<rule>[_wildcards_<...>]`."""
    assert comment.startswith("rule_"), f"unexpected job comment {comment!r}"
    return comment.removeprefix("rule_").split("_wildcards_")[0]


def run_small_workflow(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(SMALL_SNAKEFILE)
    args = [
        "--snakefile", str(workdir / "Snakefile"),
        "--directory", str(workdir),
        "--workflow-profile", "none",  # the test must not pick up the project's profiles/default
        "--executor", "slurm",
        "--jobs", "4",
        "--default-resources", "mem_mb=200", "runtime=5", "cpus_per_task=1",
        "--latency-wait", "5",
        *FAST_POLLING,
        *extra,
    ]  # fmt: skip
    return run_snakemake(args, workdir, SMALL_RUN_TIMEOUT_S)


def test_small_workflow_runs_every_job_through_slurm(slurm_cluster, tmp_path):
    result = run_small_workflow(tmp_path)

    assert result.returncode == 0, result.stderr[-6000:]
    job_ids = SUBMITTED.findall(result.stderr)
    assert len(job_ids) == 3, result.stderr[-6000:]
    assert set(slurm_states(job_ids).values()) == {"COMPLETED"}
    # Each output was written inside the SLURM job that Snakemake submitted for it.
    recorded = (tmp_path / "combined.txt").read_text().split()
    assert sorted(recorded) == sorted(job_ids)


def test_failing_job_is_reported_and_fails_the_run(slurm_cluster, tmp_path):
    result = run_small_workflow(tmp_path, "--config", "fail=1")

    assert result.returncode != 0
    assert "Error in rule first" in result.stderr, result.stderr[-6000:]
    failed = re.findall(r"SLURM-job '(\d+)' failed", result.stderr)
    assert len(failed) == 1, result.stderr[-6000:]
    assert slurm_states(failed)[failed[0]] == "FAILED"
    assert not (tmp_path / "combined.txt").exists()


# Provenance fields of results/metrics/jobs.json that measure the machine, not the training.
TIMING_FIELDS = ("seconds", "setup_seconds", "iterations_per_s", "model_iterations_per_s")


def read_job_records(workdir: Path) -> list[dict]:
    records = json.loads((workdir / "results" / "metrics" / "jobs.json").read_text())
    return [{k: v for k, v in record.items() if k not in TIMING_FIELDS} for record in records]


def assert_same_results(slurm_dir: Path, local_dir: Path) -> None:
    """The SLURM run's metric tables are exactly the local run's: the same packs, the same rows,
    bit-identical floats. Both runs train with the tiny config's `threads: 1`, so torch sums in
    the same order in both."""
    pack_files = {
        d: sorted(p.relative_to(d) for p in (d / "results" / "runs").rglob("*.parquet"))
        for d in (slurm_dir, local_dir)
    }
    assert pack_files[slurm_dir] == pack_files[local_dir]
    for table in schema.METRIC_TABLES:
        rel = Path("results") / "metrics" / f"{table}.parquet"
        slurm, local = (schema.read(d / rel, table) for d in (slurm_dir, local_dir))
        pd.testing.assert_frame_equal(slurm, local, check_exact=True, obj=str(rel))
    rel = Path("results") / "summary.csv"
    slurm, local = (schema.read(d / rel, "summary") for d in (slurm_dir, local_dir))
    pd.testing.assert_frame_equal(slurm, local, check_exact=True, obj=str(rel))
    # Where and how each pack trained (device, threads, versions) agrees too; only timings differ.
    slurm_jobs, local_jobs = read_job_records(slurm_dir), read_job_records(local_dir)
    differ = sorted(
        {k for a, b in zip(slurm_jobs, local_jobs, strict=True) for k in a | b if a.get(k) != b.get(k)}
    )
    assert not differ, f"jobs.json differs between SLURM and local in {differ}"


def test_initbench_workflow_on_slurm(slurm_cluster, tmp_path):
    """The project's workflow through `--profile profiles/slurm`: every train job asks SLURM for a
    GPU, and the results equal those of a local run of the same config."""
    for needed in (SNAKEFILE, TINY):
        if not needed.exists():
            pytest.skip(f"{needed.relative_to(REPO)} does not exist yet")
    slurm_dir, local_dir = tmp_path / "slurm", tmp_path / "local"
    slurm_dir.mkdir()
    local_dir.mkdir()

    # The local reference run goes alongside the SLURM run, which mostly waits on its status polls.
    # Its output goes to a file: an unread pipe would fill up and block it.
    local_log = tmp_path / "local.log"
    local_args = ["--snakefile", str(SNAKEFILE), "--directory", str(local_dir), "--configfile", str(TINY), "--cores", "2"]  # fmt: skip
    with local_log.open("w") as log:
        local = subprocess.Popen(
            _snakemake_cmd(local_args, LOCAL_RUN_TIMEOUT_S),
            cwd=local_dir,
            env=_env(),
            stdout=log,
            stderr=log,
            text=True,
        )
        try:
            result = run_snakemake(
                [
                    "--snakefile", str(SNAKEFILE),
                    "--directory", str(slurm_dir),
                    "--configfile", str(TINY),
                    "--profile", str(REPO / "profiles" / "slurm"),
                    *FAST_POLLING,
                    "--cores", "2",
                ],
                slurm_dir,
                REAL_RUN_TIMEOUT_S,
            )  # fmt: skip
        finally:
            local_rc = local.wait(timeout=LOCAL_RUN_TIMEOUT_S + KILL_AFTER_S + 10)

    assert result.returncode == 0, result.stderr[-8000:]
    assert (slurm_dir / "results" / "report" / "report.html").exists()
    local_out = local_log.read_text()
    _check_not_killed(local_rc, LOCAL_RUN_TIMEOUT_S, local_out)
    assert local_rc == 0, local_out[-8000:]

    # What SLURM recorded for each job the plugin submitted: every one COMPLETED, every train
    # job (and only those) with one GPU requested and allocated, as profiles/slurm asks.
    job_ids = SUBMITTED.findall(result.stderr)
    accounting = sacct(job_ids, "JobID,State,ReqTRES,AllocTRES,Comment")
    assert sorted(accounting) == sorted(job_ids), "sacct lacks some submitted jobs"
    gpus = {}  # rule -> the GPU part of each of its jobs' requested and allocated TRES
    for state, req, alloc, comment in accounting.values():
        assert state == "COMPLETED", (state, comment)
        gpu = [t for tres in (req, alloc) for t in tres.split(",") if t.startswith("gres/gpu")]
        gpus.setdefault(rule_of(comment), []).append(gpu)
    n_packs = len({p.parent for p in (local_dir / "results" / "runs").rglob("meta.json")})
    assert n_packs > 1 and gpus["train"] == [["gres/gpu=1", "gres/gpu=1"]] * n_packs, gpus["train"]
    assert {rule: jobs for rule, jobs in gpus.items() if rule != "train" and any(jobs)} == {}
    assert {"prepare", "aggregate", "report"} <= set(gpus), gpus.keys()
    assert "fetch" not in gpus, "fetch is a local rule: downloads stay on the submit host"

    assert_same_results(slurm_dir, local_dir)
