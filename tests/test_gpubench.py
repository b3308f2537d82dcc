"""``make bench-gpu`` on the CPU: its sampler with a fake ``nvidia-smi`` (and none), its pack path, its rows.

The H200 run crashed in ``Utilisation.stop()`` (``self._stop`` hid ``Thread._stop``, which
``join`` calls) before it printed a row; nothing had started the sampler on a CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, SCHEMA
from initbench import config as ibconfig
from initbench import gpubench, packsize, placement

FAKE_SMI = "#!/bin/sh\necho 37\n"


@pytest.fixture
def fake_smi(tmp_path, monkeypatch):
    """A fake ``nvidia-smi`` first on PATH, and one fake GPU."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("INITBENCH_GPUS", "1")
    return smi


@pytest.fixture
def no_smi(tmp_path, monkeypatch):
    """No ``nvidia-smi`` anywhere on PATH, and one fake GPU."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("INITBENCH_GPUS", "1")


def test_the_sampler_starts_samples_and_stops(fake_smi):
    sampler = gpubench.Utilisation(period_s=0.01)
    sampler.start()
    time.sleep(0.3)
    util = sampler.stop()
    assert not sampler.is_alive()
    assert util["util_samples"] >= 2 and util["util_mean"] == util["util_max"] == 37.0
    assert util["util_note"] is None


def test_the_sampler_without_nvidia_smi_records_nothing_and_says_why(no_smi):
    sampler = gpubench.Utilisation(period_s=0.01)
    sampler.start()
    util = sampler.stop()
    assert util["util_samples"] == 0 and util["util_mean"] is None
    assert "nvidia-smi" in util["util_note"]


def _tiny_pack(seeds=1, epochs=1):
    cfg = ibconfig.load(REPO / "tests/config/tiny.yaml", SCHEMA)
    return gpubench.lab_pack(cfg, "xavier_lab", seeds=seeds, epochs=epochs)


@pytest.mark.parametrize("smi", ["fake_smi", "no_smi"])
def test_the_pack_path_gives_a_full_row(smi, request):
    """run_pack on the CPU, the sampler running beside it: every column of the table is filled."""
    request.getfixturevalue(smi)
    spec, data = _tiny_pack(seeds=2, epochs=2)
    rates = {"fp32": 1e11, "tf32": 1e11, "bf16": 1e11}
    row = gpubench.run_pack(spec, data, "cpu", rates)
    assert row["k"] == 12 and row["epochs"] == 2 and row["precision"] == "fp32"
    assert row["model_epochs_per_s"] == pytest.approx(12 * 2 / row["seconds"])
    n_train = data.samples - data.samples // 7
    sizes = packsize.sizes_of("mnist1d", spec["hidden"])
    assert row["flops_per_model_epoch"] == 6 * n_train * sum(
        a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )
    assert row["share_of_matmul"] == pytest.approx(
        row["model_epochs_per_s"] * row["flops_per_model_epoch"] / 1e11
    )
    assert (row["util_mean"] == 37.0) == (smi == "fake_smi")
    assert "GRAPHS" not in json.dumps(row) and gpubench.GRAPHS_VAR not in os.environ
    line = gpubench.format_row(row)
    assert line.split()[:4] == ["xavier_lab", "12", "fp32", "off"]


def test_matmul_rates_and_precisions_on_the_cpu():
    rates = gpubench.matmul_rates("cpu", n=64, repeats=2, warmups=1)
    assert set(rates) == {"fp32", "tf32", "bf16"} and all(r > 0 for r in rates.values())
    spec, _ = _tiny_pack()
    assert gpubench.with_precision(spec, "fp32") is not None
    # bf16 and tf32 need the engine's precision key; without it the row is skipped, not mislabelled
    for precision in ("tf32", "bf16"):
        shaped = gpubench.with_precision(spec, precision)
        assert shaped is None or shaped["precision"] == precision


def test_rows_parse_and_the_depth_row_is_the_papers_deepest_relu_pack():
    assert gpubench.parse_row("depth:5:fp32:graphs") == ("depth", 5, "fp32", True)
    with pytest.raises(ValueError, match="STUDY:SEEDS:PRECISION"):
        gpubench.parse_row("xavier_lab:10:fp16")
    cfg = ibconfig.load(REPO / "config/paper.yaml", SCHEMA)
    spec, data = gpubench.lab_pack(cfg, "depth", seeds=5, epochs=1)
    assert spec["hidden"] == [400] * 30 and spec["activation"] == "relu" and spec["batch_size"] == 128
    assert len(spec["variants"]) == 40 and data.kind == "mnist"
    xavier, _ = gpubench.lab_pack(cfg, "xavier_lab", seeds=200, epochs=2)
    assert len(xavier["variants"]) >= 1000  # the K >= 1000 rows
    assert {gpubench.parse_row(r)[2] for r in gpubench.ROWS if r.startswith("xavier_lab:200")} == {
        "fp32",
        "tf32",
        "bf16",
    }
    sizes = packsize.sizes_of("mnist", xavier["hidden"])
    assert placement.matmul_flops(sizes, 60_000) == pytest.approx(30e9, rel=0.01)  # gpu-h200.md's 30 GFLOP


def test_the_lab_packs_have_the_papers_shapes():
    cfg = ibconfig.load(REPO / "config/paper.yaml", SCHEMA)
    spec, data = gpubench.lab_pack(cfg, "he_lab", seeds=100, epochs=2)
    assert len(spec["variants"]) == 300 and spec["epochs"] == 2 and spec["hidden"] == [100, 200, 100]
    shapes = {k: tuple(v.shape) for k, v in gpubench.noise_data(data, "cpu").items()}
    assert shapes["x_train"] == (60_000, 784) and shapes["x_test"] == (10_000, 784)


def test_without_cuda_it_stops_with_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    env = {**os.environ, "INITBENCH_GPUS": "0", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "initbench.gpubench", "--out", str(tmp_path / "gpu.json")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == "gpubench: no CUDA device here; it measures GPU throughput only"
