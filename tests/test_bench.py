"""A tiny run of ``python -m initbench.bench``: it writes the JSON the Makefile's ``bench`` promises."""

from __future__ import annotations

import json

from initbench import bench


def test_bench_writes_its_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        bench, "matmul_rate", lambda n=4096, repeats=3: 1e11
    )  # the 4096^3 product takes seconds
    out = tmp_path / "bench" / "bench.json"
    result = bench.main(["--k", "3", "--epochs", "1", "--n", "400", "--out", str(out)])
    written = json.loads(out.read_text())
    keys = {
        "floor_s",
        "engine_s",
        "lab_style_s",
        "ratio_to_floor",
        "speedup_vs_lab",
        "k",
        "peak_rss_mb",
        "device",
    }
    assert keys <= set(written) and written == json.loads(json.dumps(result))
    assert written["k"] == 3 and written["device"] == "cpu"
    assert written["ratio_to_floor"] == written["engine_s"] / written["floor_s"] > 0
    assert "speed-up vs lab" in capsys.readouterr().out
