"""Snakemake's SLURM executor against a real single-node SLURM cluster.

Opt-in, because it starts daemons as root:

    sudo tests/slurm/install.sh
    INITBENCH_SLURM_TESTS=1 pytest -m slurm tests/test_slurm.py -v

The module fixture starts the cluster with tests/slurm/cluster.sh (state and logs in pytest's
tmp dir) and stops it afterwards. Every Snakemake run is wrapped in `timeout -k`: if the plugin
loses track of a job it waits forever and ignores SIGTERM. See tests/slurm/README.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "tests" / "slurm" / "cluster.sh"
VENV_BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.environ.get("INITBENCH_SLURM_TESTS") != "1",
        reason="starts a SLURM cluster as root; set INITBENCH_SLURM_TESTS=1 after tests/slurm/install.sh",
    ),
]

# The first status check 2 s after submission, instead of the plugin's default 40 s.
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "2"]
SMALL_RUN_TIMEOUT_S = 150  # two rounds of jobs take about 30 s here
REAL_RUN_TIMEOUT_S = 420  # the whole initbench DAG on the tiny config
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


def run_snakemake(args: list[str], workdir: Path, timeout_s: int) -> subprocess.CompletedProcess:
    """Run Snakemake from `workdir`: it also reads profiles/default/ from the current directory."""
    cmd = ["timeout", "-k", str(KILL_AFTER_S), str(timeout_s), sys.executable, "-m", "snakemake", *args]
    result = subprocess.run(cmd, cwd=workdir, env=_env(), capture_output=True, text=True)
    assert result.returncode not in (124, 137), (
        f"snakemake ran past {timeout_s}s and was killed:\n{result.stderr[-6000:]}"
    )
    return result


def slurm_states(job_ids: list[str]) -> dict[str, str]:
    """Job id -> final state, from accounting (what the plugin's status checks read)."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(job_ids)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return dict(line.split("|", 1) for line in out.splitlines() if line)


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


def test_initbench_workflow_on_slurm(slurm_cluster, tmp_path):
    snakefile = REPO / "Snakefile"
    tiny_config = REPO / "tests" / "config" / "tiny.yaml"
    for needed in (snakefile, tiny_config):
        if not needed.exists():
            pytest.skip(f"{needed.relative_to(REPO)} does not exist yet")

    result = run_snakemake(
        [
            "--snakefile", str(snakefile),
            "--directory", str(tmp_path),
            "--configfile", str(tiny_config),
            "--profile", str(REPO / "profiles" / "slurm"),
            *FAST_POLLING,
            "--cores", "2",
        ],
        tmp_path,
        REAL_RUN_TIMEOUT_S,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-8000:]
    assert SUBMITTED.search(result.stderr), "no job went through SLURM"
    assert (tmp_path / "results" / "report" / "report.html").exists()
