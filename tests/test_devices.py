"""Device choice: the environment variable wins, but never undoes a GPU a job has claimed."""

from __future__ import annotations

import pytest

from initbench import devices


def test_variable_overrides_the_config(monkeypatch):
    monkeypatch.setenv("INITBENCH_DEVICE", "cpu")
    assert devices.resolve("auto") == "cpu"
    assert devices.resolve("cuda") == "cpu"


def test_claimed_gpu_survives_a_second_resolution(monkeypatch):
    monkeypatch.setenv("INITBENCH_DEVICE", "cuda")
    assert devices.resolve("cuda:1") == "cuda:1"  # jobs.train claims, then train_pack resolves again


def test_unknown_device_names_the_valid_ones(monkeypatch):
    monkeypatch.delenv("INITBENCH_DEVICE", raising=False)
    with pytest.raises(ValueError, match="valid devices are: auto, cpu, cuda, mps"):
        devices.resolve("tpu")
