"""The grid: every variant once, packs share an architecture, and the same seeds for every init."""

from __future__ import annotations

import yaml

from conftest import REPO, SCHEMA
from initbench import config as ibconfig
from initbench import grid, names


def _cfg(name="tests/config/tiny.yaml"):
    return ibconfig.load(REPO / name, SCHEMA)


def test_every_variant_lands_in_exactly_one_pack():
    cfg = _cfg()
    ids = [v["variant"] for v in grid.variants(cfg)]
    packed = [v["columns"]["variant"] for p in grid.packs(cfg).values() for v in p["variants"]]
    assert len(ids) == len(set(ids)) == len(packed)
    assert sorted(ids) == sorted(packed)


def test_pack_members_share_architecture_and_each_init_sees_the_same_seeds():
    for (study, _), pack in grid.packs(_cfg()).items():
        cols = [v["columns"] for v in pack["variants"]]
        assert len({(c["dataset"], c["hidden"], c["activation"]) for c in cols}) == 1
        seeds_by_init = {}
        for c in cols:
            seeds_by_init.setdefault(c["init"], set()).add(c["seed"])
        assert len({frozenset(s) for s in seeds_by_init.values()}) == 1, study


def test_pack_size_chunks_and_keeps_every_variant():
    cfg = _cfg()
    cfg["pack_size"] = 4
    packs = grid.packs(cfg)
    assert all(len(p["variants"]) <= 4 for p in packs.values())
    assert sum(len(p["variants"]) for p in packs.values()) == len(grid.variants(cfg))


def test_explicit_hidden_and_depth_width_columns():
    cfg = _cfg()
    vs = grid.variants(cfg)
    lab = next(v for v in vs if v["study"] == "xavier_lab")
    assert lab["hidden"] == "32-10-32" and lab["depth"] == 3 and lab["width"] == 32
    deep = [v for v in vs if v["study"] == "depth"]
    assert {v["depth"] for v in deep} == {1, 6} and {v["width"] for v in deep} == {16}


def test_bias_policy_is_recorded():
    vs = {v["init"]: v["bias_policy"] for v in grid.variants(_cfg())}
    assert vs["uniform(0,1)"] == "default" and vs["xavier_uniform"] == "zero" and vs["ones"] == "zero"


def test_grid_import_does_not_import_torch():
    import subprocess
    import sys

    # everything workflow/rules/common.smk imports when Snakemake builds the DAG
    mods = "initbench.grid, initbench.config, initbench.figures, initbench.locks, initbench.schema, initbench.theory"
    mods += ", initbench.spectra"  # workflow/rules/spectra.smk
    code = f"import {mods}, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# Studies whose claim is tested over cells of a grid, not over seeds (a binomial test of the phase diagram's
# cells): seeds there only average within a cell, so the default run may spend its minutes on cells instead.
CELL_STUDIES = {"criticality"}


def test_shipped_configs_are_valid():
    for name in ("config/config.yaml", "config/offline.yaml", "config/paper.yaml"):
        cfg = _cfg(name)
        assert grid.packs(cfg)
        for sname, study in cfg["studies"].items():
            if sname not in CELL_STUDIES:
                assert len(grid.seeds_of(study)) >= 5, f"{name}: compare inits over at least 5 seeds"


def test_the_full_labs_overlay_restores_the_published_schedules_of_the_default_labs():
    """config/full-labs.yaml, merged over the default as Snakemake merges config files (nested keys
    update), gives the labs paper.yaml's epochs and changes nothing else."""
    from snakemake.utils import update_config

    merged = yaml.safe_load((REPO / "config/config.yaml").read_text())
    update_config(merged, yaml.safe_load((REPO / "config/full-labs.yaml").read_text()))
    full = ibconfig.validate(merged, SCHEMA)
    default, paper = _cfg("config/config.yaml"), _cfg("config/paper.yaml")
    for lab in ("xavier_lab", "he_lab"):
        assert full["studies"][lab]["training"]["epochs"] == paper["studies"][lab]["training"]["epochs"]
        assert default["studies"][lab]["training"]["epochs"] < paper["studies"][lab]["training"]["epochs"]
        full["studies"][lab]["training"]["epochs"] = default["studies"][lab]["training"]["epochs"]
    assert full == default


def test_parse_init():
    assert names.parse_init("uniform(-0.05, 0.05)") == ("uniform", (-0.05, 0.05))
    assert names.parse_init("xavier_uniform") == ("xavier_uniform", ())
    for bad in ("uniform", "uniform(1,0)", "he(1)", "xavier_uniform(2)"):
        try:
            names.parse_init(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} should be refused")
    assert yaml  # keep the import honest


def test_the_10k_scale_grid_packs_into_a_few_hundred_jobs():
    """tests/config/scale-10k.yaml (``make bench-dag`` times its dry run): 10,000 variants, and
    on a machine without a GPU (budget 4000 MB) 208 packs, each within the budget."""
    from initbench import packsize

    cfg = _cfg("tests/config/scale-10k.yaml")
    assert len(grid.variants(cfg)) == 10_000
    packs = grid.packs(cfg, gpu_mb=None)
    assert len(packs) == 208
    data = packsize.data_of("mnist1d", cfg["datasets"]["mnist1d"])
    assert all(packsize.pack_bytes(p, data) <= packsize.CPU_BUDGET_MB * 2**20 for p in packs.values())


def test_an_init_range_expands_to_canonical_specs_in_parameter_order():
    study = {
        "init": [
            "orthogonal",
            {"gaussian": {"sigma_b2": 0.05, "sigma_w2": {"from": 1, "to": 2, "num": 5}}},
            {"orthogonal": {"sigma_w2": [1, 2], "sigma_b2": [0, 0.05]}},
            {"gaussian": {"sigma_w2": {"from": 0.5, "to": 8, "num": 5, "spacing": "log"}}},
        ]
    }
    assert grid.init_specs(study) == [
        "orthogonal",
        *[f"gaussian({w:g},0.05)" for w in (1, 1.25, 1.5, 1.75, 2)],
        "orthogonal(1)", "orthogonal(1,0.05)", "orthogonal(2)", "orthogonal(2,0.05)",
        *[f"gaussian({w:g})" for w in (0.5, 1, 2, 4, 8)],
    ]  # fmt: skip


def test_the_same_init_written_twice_is_an_error():
    cfg = _cfg()
    cfg["studies"]["depth"]["init"] = ["gaussian(2)", {"gaussian": {"sigma_w2": [1, 2]}}]
    try:
        grid.check(cfg)
    except grid.GridError as err:
        assert "studies.depth.init: gaussian(2) is listed twice" in str(err)
    else:
        raise AssertionError("a repeated init must be an error")
