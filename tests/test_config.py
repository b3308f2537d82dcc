"""Bad configs stop before any job runs, with one readable message naming the key path."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO, SCHEMA, snakemake
from initbench import config as ibconfig

TINY = yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text())


def _bad(mutate):
    cfg = copy.deepcopy(TINY)
    mutate(cfg)
    return cfg


CASES = {
    "unknown top-level key": (lambda c: c.update(pack_sise=3), "pack_sise"),
    "misspelled study field": (
        lambda c: c["studies"]["he_lab"].update(trainig=c["studies"]["he_lab"].pop("training")),
        "studies.he_lab.trainig",
    ),
    "unknown init": (
        lambda c: c["studies"]["xavier_lab"]["init"].append("xavier_unifrom"),
        "studies.xavier_lab.init[6]",
    ),
    "unknown activation": (
        lambda c: c["studies"]["depth"]["activation"].append("tahn"),
        "studies.depth.activation[2]",
    ),
    "width below 1": (lambda c: c["studies"]["depth"].update(width=[0]), "studies.depth.width.0"),
    "empty seed list": (lambda c: c["studies"]["he_lab"].update(seeds=[]), "studies.he_lab.seeds"),
    "unknown dataset": (lambda c: c["studies"]["he_lab"].update(dataset="mnist2d"), "studies.he_lab.dataset"),
    "pack size neither a number nor auto": (lambda c: c.update(pack_size="big"), "pack_size"),
    "init parameter not a number": (
        lambda c: c["studies"]["xavier_lab"]["init"].append("gaussian(1.5,big)"),
        "studies.xavier_lab.init[6]",
    ),
    "unknown parameter in an init range": (
        lambda c: c["studies"]["depth"]["init"].append({"gaussian": {"sigma_w": [1, 2]}}),
        "studies.depth.init[3]",
    ),
    "a range that is not from-to-num": (
        lambda c: c["studies"]["depth"]["init"].append({"gaussian": {"sigma_w2": {"from": 1, "num": 3}}}),
        "studies.depth.init",
    ),
    "study bias overriding an init's own bias law": (
        lambda c: c["studies"]["xavier_lab"]["init"].append("gaussian(1,0.05)"),
        "studies.xavier_lab.bias",
    ),
    "lr not positive": (
        lambda c: c["studies"]["he_lab"]["training"].update(lr=0),
        "studies.he_lab.training.lr",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_names_the_key_path(case):
    mutate, path = CASES[case]
    with pytest.raises(ValueError) as err:
        ibconfig.validate(_bad(mutate), SCHEMA)
    assert path in str(err.value), str(err.value)


def test_defaults_are_filled_and_the_tiny_config_is_valid():
    cfg = ibconfig.validate(TINY, SCHEMA)
    assert cfg["pack_size"] == "auto" and cfg["pack_memory_mb"] is None
    assert cfg["studies"]["he_lab"]["training"]["momentum"] == 0.0
    assert cfg["datasets"]["mnist1d"]["normalize"] == "none"


def test_unknown_init_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid inits are: .*xavier_uniform"):
        ibconfig.validate(_bad(CASES["unknown init"][0]), SCHEMA)


def test_every_schema_key_is_documented_in_config_readme():
    schema = yaml.safe_load(SCHEMA.read_text())
    doc = (REPO / "config/README.md").read_text()
    missing = []

    def walk(node):
        for key, sub in node.get("properties", {}).items():
            if not any(s in doc for s in (f"`{key}`", f".{key}`", f"`{key}.")):
                missing.append(key)
            assert "description" in sub, f"schema key {key} has no description"
            walk(sub)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"])
        if node.get("type") == "object":
            assert node.get("additionalProperties") is not True, "every object must forbid unknown keys"

    walk(schema)
    assert not missing, f"keys missing from config/README.md: {missing}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_stops_before_any_job_with_one_readable_line(case, tmp_path):
    mutate, path = CASES[case]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(_bad(mutate)))
    proc = snakemake("--cores", "1", "--configfile", str(cfg), cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    assert "initbench: config error:" in proc.stderr and path in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists(), "no job may run on a bad config"
