"""Broken plugin files through the real snakemake CLI: one line each, before any job that uses them,
and what was trained before is kept."""

from __future__ import annotations

import pytest
import yaml

import plugin_files
from conftest import snakemake

CLEAN_ENV = {"INITBENCH_DEVICE": "cpu"}
TOY = {
    "device": "cpu",
    "threads": 1,
    "datasets": {"toy1d": {"kind": "toy1d"}},
}


def _study(init: str) -> dict:
    return {
        "dataset": "toy1d",
        "hidden": [2],
        "activation": ["sigmoid"],
        "init": [init],
        "seeds": 1,
        "training": {"lr": 0.1, "batch_size": 40, "epochs": 2, "loss": "bce", "output_activation": "sigmoid"},
        "stats": {"samples": 40, "histograms": False},
    }


def _run(work, config: dict, *args):
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return snakemake(*args, "--cores", "2", "--configfile", str(path), cwd=work, timeout=600, env=CLEAN_ENV)


@pytest.mark.slow
def test_a_file_the_dag_cannot_read_stops_before_any_job(tmp_path):
    text, _, message = plugin_files.BROKEN_AT_DAG["default that is not a literal"]
    path = plugin_files.write(tmp_path, "broken", text)
    proc = _run(tmp_path, {**TOY, "plugins": [path], "studies": {"s": _study("bad_default")}})
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("initbench:")]
    assert len(lines) == 1 and f"plugin {path}, init bad_default" in lines[0] and message in lines[0], (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_each_broken_init_stops_its_jobs_with_one_line_and_keeps_what_was_trained(tmp_path):
    # the studies are not the report's, so the targets stop at the tables
    done = _run(tmp_path, {**TOY, "studies": {"kept": _study("default")}}, "results/summary.csv")
    assert done.returncode == 0, done.stderr[-3000:]
    kept = tmp_path / "results/runs/kept/toy1d-h2-sigmoid/variants.csv"
    before = kept.read_bytes(), kept.stat().st_mtime_ns

    config = {**TOY, "plugins": [], "studies": {"kept": _study("default")}}
    for case, (text, init, _) in plugin_files.BROKEN_AT_CHECK.items():
        name = case.replace(" ", "_").replace("-", "_")
        config["plugins"].append(plugin_files.write(tmp_path, name, text))
        config["studies"][name] = _study(init)
    proc = _run(tmp_path, config, "results/summary.csv", "--keep-going")  # every check runs and fails
    assert proc.returncode != 0
    out = proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("initbench: plugin")]
    for case, (_, init, message) in plugin_files.BROKEN_AT_CHECK.items():
        path = f"plugins/{case.replace(' ', '_').replace('-', '_')}.py"
        # printed by the job, and again by Snakemake from the job's log: one distinct line
        ours = sorted({line for line in lines if line.startswith(f"initbench: plugin {path}")})
        assert len(ours) == 1 and message in ours[0], f"{case}:\n{out[-4000:]}"
        assert case == "does not import" or f", init {init}: " in ours[0], ours[0]
        log = (tmp_path / f"results/logs/plugins/{path[8:-3]}.log").read_text()
        assert log.strip() == ours[0], log
    assert "Traceback" not in out
    assert [p.name for p in (tmp_path / "results/runs").iterdir()] == ["kept"], "a plugin's pack trained"
    assert (kept.read_bytes(), kept.stat().st_mtime_ns) == before, "a trained pack was touched"
