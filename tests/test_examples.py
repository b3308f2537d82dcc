"""The worked example (docs/plugins.md): the sparse-init plugin, the spirals .npz, and
config/examples/plugin.yaml through the real workflow, into the report and the leaderboard."""

from __future__ import annotations

import copy
import csv

import pytest
import torch
import yaml

from conftest import REPO, SCHEMA, snakemake
from initbench import config as ibconfig
from initbench import grid, inits, plugincheck, plugins, registry, theory
from initbench.datasets import tensorfile

EXAMPLE = REPO / "config/examples/plugin.yaml"
PLUGIN = "examples/plugins/sparse_init.py"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory like the repository's: the examples, and data/spirals.npz written."""
    from examples.plugins import make_spirals  # noqa: F401  (importable as a module, too)

    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    saved = dict(registry.REGISTRY)
    make_spirals.main(["--out", str(tmp_path / "data/spirals.npz")])
    yield tmp_path
    registry.REGISTRY.clear()
    registry.REGISTRY.update(saved)


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))


def test_the_spirals_file_is_a_valid_tensors_dataset_and_the_same_every_time(workdir):
    info = tensorfile.inspect("spirals", "data/spirals.npz")
    assert info.input_shape == (2,) and info.classes == 3
    assert info.sizes == {"train": 3000, "val": 600, "test": 600}
    first = (workdir / "data/spirals.npz").read_bytes()
    from examples.plugins import make_spirals

    make_spirals.main(["--out", str(workdir / "again.npz")])
    assert (workdir / "again.npz").read_bytes() == first


def test_the_sparse_init_passes_the_check_and_matches_its_formula(workdir):
    record = plugincheck.check_file(PLUGIN, ["sparse(k=5)"])
    assert record["tried"] == ["sparse", "sparse(5)"] and record["inits"][0]["theory"]
    assert "Martens" in registry.REGISTRY["sparse"].cite
    (w, b), _ = inits.init_params("sparse(5)", [400, 300, 3], seed=0)
    nonzero = (w != 0).sum(dim=1)
    assert nonzero.eq(5).all() and torch.count_nonzero(b) == 0  # 5 inputs per unit, zero bias
    assert w[w != 0].std().item() == pytest.approx(1.0, rel=0.05)
    assert w.var().item() == pytest.approx(theory.weight_variance("sparse(5)", 400, 300), rel=0.1)
    (small, _), _ = inits.init_params("sparse", [4, 8, 3], seed=0)
    assert torch.count_nonzero(small) == 32  # fan_in 4 <= k: dense
    with pytest.raises(ValueError, match="k must be a whole number >= 1, got 2.5"):
        registry.bind("sparse(2.5)")


def test_the_example_config_is_valid_and_uses_the_plugin_in_the_labs_and_the_depth_study(workdir):
    cfg = ibconfig.load(EXAMPLE, SCHEMA)
    assert cfg["plugins"] == [PLUGIN] and cfg["datasets"]["spirals"]["kind"] == "tensors"
    uses = {v["study"] for v in grid.variants(cfg) if registry.bind(v["init"])[0].source == PLUGIN}
    assert uses == {"xavier_lab", "he_lab", "depth"}
    assert plugins.used_by(grid.specs_used(cfg)) == [PLUGIN]


@pytest.mark.slow
def test_the_example_shrunk_runs_into_the_report_and_the_leaderboard(workdir):
    """config/examples/plugin.yaml with fewer seeds, epochs and layers: the same path, in a minute."""
    cfg = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    for study in cfg["studies"].values():
        study["seeds"] = 2
        study["training"]["epochs"] = min(study["training"]["epochs"], 2)
    cfg["studies"]["depth"].update(depth=[2], width=[16], activation=["tanh"])
    cfg["studies"]["xavier_lab"]["hidden"] = [16, 4, 16]
    cfg["studies"]["he_lab"]["hidden"] = [16, 32]
    path = workdir / "small.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(
        "--cores", "2", "--configfile", str(path), cwd=workdir, timeout=900, env={"INITBENCH_DEVICE": "cpu"}
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {r["init"]: r for r in csv.DictReader((workdir / "results/report/leaderboard.csv").open())}
    assert rows["sparse"]["source"] == PLUGIN and "Martens" in rows["sparse"]["cite"]
    assert rows["sparse(k=5)"]["cells"] == "1" and rows["default"]["source"] == "built-in"
    assert "sparse" in (workdir / "results/report/report.html").read_text()
    record = yaml.safe_load((workdir / "results/plugins/sparse_init.json").read_text())
    assert record["sha256"] == plugins.sha256(PLUGIN)
    import json

    metas = [json.loads(p.read_text()) for p in (workdir / "results/runs").glob("*/*/meta.json")]
    assert {tuple(m["plugins"]) for m in metas} == {(), (PLUGIN,)}
    spirals = json.loads((workdir / "results/data/spirals.json").read_text())
    assert (
        spirals["source"]["sha256"]
        == json.loads((workdir / "data/manifests/spirals.json").read_text())["source"]["sha256"]
    )
