"""``make bench-paper`` on the CPU: a tiny grid measured in a few steps, and the projection's arithmetic."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import REPO, SCHEMA
from initbench import config as ibconfig
from initbench import paperbench, placement


def test_splits_follow_the_dataset_options():
    assert paperbench.splits("mnist", {"validation": "test"}) == (60_000, 10_000, 10_000)
    assert paperbench.splits("fashion_mnist", {"validation": "test", "train_subset": 10_000}) == (
        10_000,
        10_000,
        10_000,
    )
    assert paperbench.splits("mnist1d", {"n_samples": 3000, "validation": "test"}) == (2400, 600, 600)
    assert paperbench.splits("shapeset", {"n_samples": 60_000, "validation": 0.1}) == (43_200, 4800, 12_000)
    assert paperbench.splits("toy1d", {}) == (40, 40, 40)


def test_interpolation_is_exact_at_the_measured_depths_and_linear_between():
    points = {1: {"step_s": 1.0}, 10: {"step_s": 10.0}, 30: {"step_s": 20.0}}
    assert paperbench.interpolate(points, 10) == {"step_s": 10.0}
    assert paperbench.interpolate(points, 20) == {"step_s": 15.0}
    assert paperbench.interpolate(points, 5) == {"step_s": 5.0}


def test_a_projection_adds_up_each_pack_and_shares_the_gpu():
    """Two GPU packs and one CPU pack with made-up costs: the serial sum and the slotted wall time."""
    cfg = ibconfig.load(REPO / "tests/config/tiny.yaml", SCHEMA)
    packs, _ = paperbench.packs_of(cfg, None)
    toy = next(p for p in packs if p["study"] == "same_weights")
    table = [p | {"_lane": "cuda"} for p in packs if p["study"] == "table1"][:2]
    costs = {"step_s": 0.01, "eval_sample_s": 1e-5, "epoch_end_s": 0.1, "finish_s": 0.5}
    measured = {(p["_lane"], *paperbench.arch_key(p, p["_kind"])): {len(p["hidden"]): {"setup_s": 2.0, "fp32": costs}}
                for p in [toy, *table]}  # fmt: skip
    start = {"cuda": 5.0, "cpu": 3.0}
    rates = {"fp32": 1e30}  # no matmul bound

    def alone(p):
        n_train, n_val, n_test = p["_splits"]
        steps = -(-n_train // p["batch_size"])
        epoch = steps * 0.01 + 0.1 + n_val * 1e-5
        return start[p["_lane"]] + 2.0 + n_val * 1e-5 + p["epochs"] * epoch + 0.5 + n_test * 1e-5

    got = paperbench.project([toy, *table], measured, "fp32", start, n_slots=2, rates=rates, cpu_lanes=1)
    assert got["serial_s"] == pytest.approx(sum(alone(p) for p in [toy, *table]))
    gpu = sum(alone(p) for p in table) / 2
    assert got["projected_s"] == pytest.approx(max(gpu, alone(toy), *map(alone, table)))
    slow = paperbench.project(table, measured, "fp32", start, n_slots=2, rates={"fp32": 1e6}, cpu_lanes=1)
    flops = sum(p["epochs"] * len(p["variants"]) * placement.matmul_flops(
        [40, *p["hidden"], 10], p["_splits"][0]) for p in table)  # fmt: skip
    assert slow["projected_s"] == pytest.approx(flops / 1e6)  # the GPU's matmul rate bounds it


def test_bench_paper_runs_a_tiny_grid_on_the_cpu(tmp_path, capsys):
    cfg = yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text())
    cfg["studies"] = {"same_weights": cfg["studies"]["same_weights"], "depth": cfg["studies"]["depth"],
                      "wide_new": {**cfg["studies"]["table1"], "hidden": [24, 24]}}  # fmt: skip
    cfg["studies"]["depth"] |= {"depth": [1, 3, 6], "activation": ["tanh"], "init": ["default"]}
    path, out = tmp_path / "config.yaml", tmp_path / "bench" / "paper.json"
    path.write_text(yaml.safe_dump(cfg))
    result = paperbench.main(["--configfile", str(path), "--steps", "1", "--eval-samples", "8",
                              "--precisions", "fp32", "bf16", "--out", str(out)])  # fmt: skip
    assert json.loads(out.read_text()) == json.loads(json.dumps(result, default=str))
    assert result["new_studies"] == ["wide_new"]
    fp32 = {s: result["studies"][s]["fp32"] for s in ("same_weights", "depth", "wide_new")}
    assert all(row["projected_s"] > 0 and row["serial_s"] >= row["projected_s"] for row in fp32.values())
    assert fp32["depth"]["jobs"] == 3
    # the paper grid's total leaves the new study out; "all studies" has it
    assert result["totals"]["paper grid"]["fp32"]["jobs"] == 4
    assert result["totals"]["all studies"]["fp32"]["jobs"] == 7  # 3 activations: 3 packs
    depth_points = [m["depths"] for m in result["measured"] if "16" in m["key"]]
    assert depth_points and set(depth_points[0]) == {1, 3, 6}
    text = capsys.readouterr().out
    lines = {line.split()[0] for line in text.splitlines() if line[:1].isalpha()}
    assert {"same_weights", "depth", "paper", "wide_new", "all"} <= lines
    assert "wide_new (new)" in text


def test_paper_offline_is_the_paper_grid_on_offline_data():
    """Same studies, architectures, inits, seeds and training; every dataset offline, of the same
    input size, except CIFAR-10's stand-in (Shapeset: 1024 inputs for 3072), said in its comment."""
    paper = ibconfig.load(REPO / "config/paper.yaml", SCHEMA)
    offline = ibconfig.load(REPO / "tests/config/paper-offline.yaml", SCHEMA)
    assert offline["pack_size"] == paper["pack_size"] and offline["threads"] == paper["threads"]
    stand_in = {"mnist": "mnist_stand_in", "cifar10": "cifar10_stand_in"}
    for name, study in paper["studies"].items():
        ds = study["dataset"]
        renamed = [stand_in.get(d, d) for d in ([ds] if isinstance(ds, str) else ds)]
        mine = offline["studies"][name]
        assert mine == {**study, "dataset": renamed if isinstance(ds, list) else renamed[0]}
    kinds = {name: opts.get("kind") or name for name, opts in offline["datasets"].items()}
    assert set(kinds.values()) <= {"fashion_mnist", "shapeset", "mnist1d", "toy1d"}  # no download
    assert kinds["mnist_stand_in"] == "fashion_mnist" and kinds["cifar10_stand_in"] == "shapeset"
    assert "cifar10_stand_in: Shapeset" in (REPO / "tests/config/paper-offline.yaml").read_text()
    assert len(placement.plan(offline, None)[0]) == len(placement.plan(paper, None)[0])
