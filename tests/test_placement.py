"""Where packs train and how many jobs share a GPU (initbench.placement), and a job's out-of-memory exit."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import torch

from conftest import REPO, SCHEMA, snakemake
from initbench import config as ibconfig
from initbench import jobs, packsize, placement

TINY = REPO / "tests/config/tiny.yaml"
SRC = REPO / "src"


@pytest.fixture(autouse=True)
def _no_device_variables(monkeypatch):
    for name in ("INITBENCH_DEVICE", "INITBENCH_GPUS", "INITBENCH_GPU_LOCKS", "CUDA_VISIBLE_DEVICES",
                 "SLURM_JOB_ID", placement.GPU_MEMORY_VAR):  # fmt: skip
        monkeypatch.setenv(name, "")  # so that teardown restores it, even when a job set it
        monkeypatch.delenv(name)


def _packs(name="config/config.yaml", **keys):
    cfg = ibconfig.validate({**ibconfig.load(REPO / name, SCHEMA), **keys}, SCHEMA)
    return cfg, placement.plan(cfg, gpu_mb=None)[0]


def test_the_toy_lab_trains_on_the_cpu_and_the_other_packs_ask_for_a_gpu(monkeypatch):
    monkeypatch.setenv("INITBENCH_GPUS", "1")
    cfg, packs = _packs()
    placed = {key: placement.place(spec, placement.data_of(cfg, spec), "auto") for key, spec in packs.items()}
    tiny = {key for key, p in placed.items() if p["device"] == "cpu"}
    assert {study for study, _ in tiny} == {"same_weights"}  # 10 variants of 1-2-1, batch 1: 240 FLOPs
    assert all(placed[key]["gpu"] == 0 and "gain from a GPU" in placed[key]["reason"] for key in tiny)
    others = [p for key, p in placed.items() if key not in tiny]
    assert others and all(p["gpu"] == 1 and p["step_flops"] >= placement.MIN_GPU_STEP_FLOPS for p in others)
    toy = next(spec for (study, _), spec in packs.items() if study == "same_weights")
    assert placement.step_flops(toy, placement.data_of(cfg, toy)) == 6 * 10 * 1 * (1 * 2 + 2 * 1)
    # an explicit device is obeyed, even for a tiny pack; without a GPU nothing asks for one
    assert placement.place(toy, placement.data_of(cfg, toy), "cuda")["gpu"] == 1
    monkeypatch.setenv("INITBENCH_DEVICE", "cpu")
    assert all(placement.place(s, placement.data_of(cfg, s), "auto")["gpu"] == 0 for s in packs.values())
    # $INITBENCH_DEVICE changes the GPU request, never the params (a change of params reruns a job)
    monkeypatch.setenv("INITBENCH_DEVICE", "cuda")
    forced = placement.place(toy, placement.data_of(cfg, toy), "auto")
    assert forced["gpu"] == 1 and {k: v for k, v in forced.items() if k != "gpu"} == {
        k: v for (key, p) in placed.items() if key[0] == "same_weights" for k, v in p.items() if k != "gpu"
    }


def test_gpu_jobs_auto_fits_the_largest_pack_and_stops_at_the_cap(monkeypatch):
    monkeypatch.setenv("INITBENCH_GPUS", "1")
    cfg, packs = _packs()
    largest = max(
        packsize.pack_bytes(s, placement.data_of(cfg, s)) / 2**20
        for s in packs.values()
        if placement.place(s, placement.data_of(cfg, s), "auto")["gpu"]
    )
    per_job = largest + packsize.GPU_MARGIN_MB
    assert placement.plan(cfg, gpu_mb=143_771)[1] == placement.MAX_GPU_JOBS  # an H200
    for n in (1, 2, 3):  # a GPU that holds exactly n of them
        assert placement.plan(cfg, gpu_mb=int(n * per_job / packsize.GPU_SHARE) + 1)[1] == n
    assert placement.plan(cfg, gpu_mb=int(per_job / 2))[1] == 1  # at least one job runs
    assert placement.plan(cfg, gpu_mb=None)[1] == 1  # no GPU: nothing to share


def test_an_integer_gpu_jobs_cuts_the_packs_to_a_share_of_the_gpu(monkeypatch):
    monkeypatch.setenv("INITBENCH_GPUS", "1")
    cfg, _ = _packs("config/paper.yaml", pack_size="auto")
    whole, n_whole = placement.plan(cfg, gpu_mb=24_000)
    cfg["gpu_jobs"] = 4
    shared, n = placement.plan(cfg, gpu_mb=24_000)
    assert n == 4 and len(shared) > len(whole)
    budget = packsize.budget_mb(cfg, 24_000 // 4)
    for spec in shared.values():
        data = placement.data_of(cfg, spec)
        assert len(spec["variants"]) == 1 or packsize.pack_bytes(spec, data) / 2**20 <= budget


def test_the_devices_cli_prints_the_gpu_resource_without_torch(tmp_path):
    code = (
        "import sys; from initbench import devices; "
        f"print(devices.main(['--configfile', {str(TINY)!r}]), 'torch' in sys.modules)"
    )

    def run(**env):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("INITBENCH_", "CUDA_"))}
        proc = subprocess.run(
            [sys.executable, "-c", code], env={**base, "PYTHONPATH": str(SRC), **env},
            capture_output=True, text=True, cwd=tmp_path, check=True,
        )  # fmt: skip
        return proc.stdout.split()

    assert run(INITBENCH_GPUS="0") == ["0", "False"]
    # tiny.yaml says device: cpu, and the variable overrides it
    assert run(INITBENCH_GPUS="2", INITBENCH_DEVICE="auto", INITBENCH_GPU_MEMORY_MB="140000") == [
        "8",
        "False",
    ]
    assert run(INITBENCH_GPUS="2", INITBENCH_DEVICE="cpu") == ["0", "False"]
    assert run(INITBENCH_GPUS="3") == ["0", "False"]  # tiny.yaml itself trains on the CPU


def test_the_memory_share_is_the_gpus_memory_over_its_slots():
    class FakeCuda:
        @staticmethod
        def get_device_properties(_):
            return type("P", (), {"total_memory": 140 * 2**30})

    fake = type("T", (), {"cuda": FakeCuda, "device": staticmethod(lambda d: d)})
    assert jobs._gpu_share_mb(fake, "cuda", 4) == 140 * 1024 / 4
    assert jobs._gpu_share_mb(fake, "cpu", 4) is None


def test_out_of_memory_ends_the_job_with_one_line_and_keeps_nothing(tmp_path, monkeypatch, capsys):
    """The engine raising CUDA's out-of-memory error (simulated on the CPU) after it wrote a
    checkpoint: one line naming the pack, its estimate and a pack_memory_mb; no checkpoint left."""
    from initbench import datasets
    from initbench import train as trainer

    cfg, packs = _packs("tests/config/tiny.yaml")
    spec = packs[("he_lab", "mnist1d-h32x64x32-relu")]
    placed = placement.place(spec, placement.data_of(cfg, spec), "cpu")
    x, y = torch.rand(50, 40), torch.arange(50) % 10
    loaded = {f"{a}_{s}": t for s in ("train", "val", "test") for a, t in (("x", x), ("y", y))}
    loaded["meta"] = {"kind": "mnist1d"}
    monkeypatch.setattr(datasets, "load", lambda path: loaded)
    ckpt, out = tmp_path / "ckpt.pt", tmp_path / "out"

    def oom(*args, checkpoint=None, **kwargs):
        checkpoint.write_bytes(b"epoch 1")  # what an epoch end leaves
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has ...")

    monkeypatch.setattr(trainer, "train_pack", oom)
    log = tmp_path / "train.log"
    with pytest.raises(SystemExit) as exit_:
        jobs.train(spec, "data.pt", str(out), str(ckpt), threads=1, log=str(log), placement=placed)
    assert exit_.value.code == 1
    lines = [ln for ln in log.read_text().splitlines() if "out of GPU memory" in ln]
    assert len(lines) == 1 and "Traceback" not in log.read_text()
    line = lines[0]
    assert f"pack he_lab/mnist1d-h32x64x32-relu ({len(spec['variants'])} variants)" in line
    estimate = packsize.pack_bytes(spec, packsize.Data("mnist1d", 150)) / 2**20
    assert f"estimated {estimate:.0f} MB" in line
    fit = int(re.search(r"pack_memory_mb: (\d+)", line)[1])
    assert 100 <= fit <= estimate
    assert not ckpt.exists() and not (out.exists() and any(out.iterdir()))


def test_out_of_memory_advice_shrinks_with_how_far_the_estimate_fell_short():
    spec = {"study": "s", "pack": "p", "variants": [{}] * 40}
    err = torch.cuda.OutOfMemoryError("CUDA out of memory.")
    # the estimate fit the share but the pack did not: it needed share/estimate times more at least
    assert "pack_memory_mb: 9000 " in jobs.out_of_memory_line(spec, 10_000, 40_000, err, torch)
    # the estimate was over the share already (gpu_jobs N, or pack_size not auto): the share's 90 %
    assert "pack_memory_mb: 36000 " in jobs.out_of_memory_line(spec, 50_000, 40_000, err, torch)


@pytest.mark.slow
def test_tiny_packs_ask_for_no_gpu_and_the_others_share_fake_gpus(tmp_path):
    """The DAG on 2 fake GPUs with gpu_jobs 2 (--resources gpu=4): the toy lab's pack asks for
    gpu=0 and trains on the CPU without claiming a GPU; the others ask for gpu=1 and claim one."""
    toy, he = "same_weights/toy1d-h2-sigmoid", "he_lab/mnist1d-h32x64x32-relu"
    proc = snakemake(
        f"results/runs/{toy}/meta.json", f"results/runs/{he}/meta.json", "--cores", "2",
        "--resources", "gpu=4", "--configfile", str(TINY), "--config", "device=auto", "gpu_jobs=2",
        cwd=tmp_path, env={"INITBENCH_DEVICE": "", "INITBENCH_GPUS": "2", "INITBENCH_GPU_LOCKS": str(tmp_path / "locks")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    asked = dict(
        re.findall(r"wildcards: study=(\w+), pack=\S+\n\s+resources: .*?gpu=(\d)", proc.stdout + proc.stderr)
    )
    assert asked == {"same_weights": "0", "he_lab": "1"}, proc.stdout + proc.stderr
    import json

    for pack, device, claimed in ((toy, "cpu", False), (he, "auto", True)):
        meta = json.loads((tmp_path / f"results/runs/{pack}/meta.json").read_text())
        assert meta["placement"]["device"] == device and meta["placement"]["gpu_jobs"] == 2
        log = (tmp_path / f"results/logs/train/{pack}.log").read_text()
        assert bool(re.search(r"GPU [01] \(of 2 visible\) is this job's", log)) == claimed, log[-2000:]
        assert "variants on cpu" in log
    # on a machine without GPUs (or with other GPUs) nothing reruns: params do not name the machine
    again = snakemake(
        f"results/runs/{toy}/meta.json", f"results/runs/{he}/meta.json", "-n", "--configfile", str(TINY),
        "--config", "device=auto", "gpu_jobs=2", cwd=tmp_path, env={"INITBENCH_DEVICE": "", "INITBENCH_GPUS": "0"},
    )  # fmt: skip
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


def test_what_the_snakefile_and_make_run_import_stays_torch_free():
    code = "import sys, initbench.placement, initbench.devices; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}).stdout  # fmt: skip
    assert out.strip() == "False"
