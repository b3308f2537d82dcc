"""Device choice and the per-GPU lock allocator, on fake GPUs ($INITBENCH_GPUS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from initbench import devices

SRC = Path(__file__).resolve().parents[1] / "src"

# One "training job": claim a GPU the way jobs.train does, hold it a while, record when.
JOB = textwrap.dedent(
    """\
    import json, os, sys, time
    from initbench import devices
    job, locks, record, slots = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    gid = devices.acquire_gpu(devices.visible_gpus(), locks, poll_s=0.02, log=lambda m: None, slots=slots)
    devices.pin(gid)
    start = time.monotonic()
    time.sleep(0.3)
    end = time.monotonic()
    with open(record, "a") as f:
        f.write(json.dumps({"job": job, "gpu": os.environ["CUDA_VISIBLE_DEVICES"], "start": start, "end": end}) + "\\n")
    """
)


@pytest.fixture(autouse=True)
def _no_device_variables():
    """Unset the variables devices reads, and put them back afterwards (``pin`` sets one)."""
    names = (
        "INITBENCH_DEVICE",
        "INITBENCH_GPUS",
        "INITBENCH_GPU_LOCKS",
        "CUDA_VISIBLE_DEVICES",
        "SLURM_JOB_ID",
    )
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    yield
    for n in names:
        os.environ.pop(n, None)
    os.environ.update(saved)


@pytest.mark.parametrize("n_gpus, slots", [(1, 1), (3, 1), (2, 2), (1, 3)])
def test_concurrent_jobs_never_overfill_a_gpu_and_all_run(n_gpus, slots, tmp_path):
    """N fake GPUs with S slots each, 3 x N x S jobs started at once: never more than S jobs hold
    one GPU at the same time, and every job runs."""
    record, locks = tmp_path / "record.jsonl", tmp_path / "locks"
    env = {**os.environ, "INITBENCH_GPUS": str(n_gpus), "PYTHONPATH": str(SRC)}
    n_jobs = 3 * n_gpus * slots
    jobs = [
        subprocess.Popen([sys.executable, "-c", JOB, str(j), str(locks), str(record), str(slots)], env=env)
        for j in range(n_jobs)
    ]
    assert [p.wait(timeout=120) for p in jobs] == [0] * len(jobs)

    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert sorted(r["job"] for r in rows) == sorted(str(j) for j in range(n_jobs))  # every job ran
    assert {r["gpu"] for r in rows} <= {str(i) for i in range(n_gpus)}
    most = 0
    for gpu in {r["gpu"] for r in rows}:
        spans = [(r["start"], r["end"]) for r in rows if r["gpu"] == gpu]
        for start, _ in spans:  # the jobs holding this GPU when one of them started
            holding = sum(s <= start < e for s, e in spans)
            most = max(most, holding)
            assert holding <= slots, (
                f"{holding} jobs held GPU {gpu} at once, with {slots} slots: {sorted(spans)}"
            )
    if n_gpus > 1:  # and the jobs did spread over the GPUs
        assert len({r["gpu"] for r in rows}) == n_gpus
    if slots > 1:  # and did share one: the test can tell S at once from one at a time
        assert most > 1


def test_a_killed_job_frees_its_gpu(tmp_path):
    locks = tmp_path / "locks"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    holder = subprocess.Popen(
        [sys.executable, "-c", "from initbench import devices; import time; "
         f"devices.acquire_gpu(['0'], {str(locks)!r}); print('held', flush=True); time.sleep(60)"],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    messages: list[str] = []
    holder.kill()
    holder.wait()
    started = time.monotonic()
    assert devices.acquire_gpu(["0"], locks, poll_s=0.05, log=messages.append) == "0"
    assert time.monotonic() - started < 5


def test_a_job_waits_while_every_gpu_is_held_and_says_so(tmp_path):
    locks = tmp_path / "locks"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    holder = subprocess.Popen(
        [sys.executable, "-c", "from initbench import devices; import time; "
         f"devices.acquire_gpu(['0', '1'], {str(locks)!r}); devices.acquire_gpu(['0', '1'], {str(locks)!r}); "
         "print('held', flush=True); time.sleep(1.0)"],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    messages: list[str] = []
    started = time.monotonic()
    gid = devices.acquire_gpu(["0", "1"], locks, poll_s=0.05, log=messages.append)
    assert time.monotonic() - started > 0.3  # it waited for the holder to exit
    assert gid in ("0", "1")
    assert "all 2 GPUs are held by other jobs" in messages[0]
    assert messages[-1].startswith(f"claimed GPU {gid} after waiting")
    holder.wait(timeout=30)


def test_visible_gpus_reads_the_override_then_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("INITBENCH_GPUS", "4")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert devices.visible_gpus() == ["0", "1", "2", "3"]
    monkeypatch.delenv("INITBENCH_GPUS")
    assert devices.visible_gpus() == ["1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-5e1f,-1,3")
    assert devices.visible_gpus() == ["2", "GPU-5e1f"]  # CUDA stops at the first invalid id
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert devices.visible_gpus() == []
    monkeypatch.setenv("INITBENCH_GPUS", "two")
    with pytest.raises(ValueError, match="INITBENCH_GPUS='two': expected a number of GPUs"):
        devices.visible_gpus()


def test_train_jobs_ask_snakemake_for_a_gpu_only_when_they_use_one(monkeypatch):
    monkeypatch.setenv("INITBENCH_GPUS", "2")
    assert devices.train_job_gpus("auto") == devices.train_job_gpus("cuda") == 1
    assert devices.train_job_gpus("cpu") == 0
    monkeypatch.setenv("INITBENCH_GPUS", "0")
    assert devices.train_job_gpus("auto") == 0
    assert devices.train_job_gpus("cuda") == 1  # the job then fails, saying CUDA is missing
    monkeypatch.setenv("INITBENCH_DEVICE", "cpu")
    assert devices.train_job_gpus("cuda") == 0


def test_lock_folder_is_per_slurm_job(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert devices.lock_dir().name == "initbench-gpu-slurm4242"
    monkeypatch.setenv("INITBENCH_GPU_LOCKS", "/somewhere")
    assert devices.lock_dir() == Path("/somewhere")


def test_claim_pins_the_gpu_then_falls_back_to_the_cpu_without_cuda(monkeypatch, tmp_path):
    """A fake GPU is claimed and pinned; torch finds no CUDA here, so ``auto`` trains on the CPU."""
    monkeypatch.setenv("INITBENCH_GPUS", "2")
    messages: list[str] = []
    device = devices.claim("auto", locks=tmp_path, log=messages.append)
    assert os.environ["CUDA_VISIBLE_DEVICES"] in ("0", "1")
    assert messages == [f"GPU {os.environ['CUDA_VISIBLE_DEVICES']} (of 2 visible) is this job's, as cuda:0"]
    import torch

    assert device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_variable_overrides_the_config(monkeypatch):
    monkeypatch.setenv("INITBENCH_DEVICE", "cpu")
    assert devices.resolve("auto") == "cpu"
    assert devices.resolve("cuda") == "cpu"
    monkeypatch.setenv("INITBENCH_GPUS", "2")
    assert devices.claim("auto") == "cpu"  # and no GPU is claimed for a CPU job
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_explicit_gpu_index_survives_a_second_resolution(monkeypatch):
    monkeypatch.setenv("INITBENCH_DEVICE", "cuda")
    assert devices.resolve("cuda:1") == "cuda:1"


def test_unknown_device_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid devices are: auto, cpu, cuda, mps"):
        devices.resolve("tpu")
