"""The report end to end on synthetic tables: in a real browser, as a PDF, byte-identical, verdicts."""

import csv
import time
from pathlib import Path

import pytest

import synthetic
from browser import assert_html_ok, assert_pdf_ok
from initbench import report, stats
from initbench.figures.data import Tables
from initbench.report.claims import evaluate


def _render(out: Path, studies=synthetic.STUDIES) -> dict[str, Path]:
    inputs, figs = synthetic.drawn(tuple(studies))
    paths = {"html": out / "report.html", "pdf": out / "report.pdf", "csv": out / "verdicts.csv"}
    start = time.perf_counter()
    report.render(
        **inputs.render_kwargs(figs), out_html=paths["html"], out_pdf=paths["pdf"], verdicts_csv=paths["csv"]
    )
    paths["seconds"] = time.perf_counter() - start
    return paths


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("report"))


def test_html_is_self_contained_with_every_section_and_figure(rendered):
    html = rendered["html"].read_text()
    for sid in report.SECTION_IDS:
        assert f'id="{sid}"' in html
    assert "<img" not in html and 'src="http' not in html and "<link" not in html
    assert html.count('role="img"') == len(synthetic.drawn()[1])
    assert "was not run" not in html.split('id="table1"')[0]  # every study ran


@pytest.mark.browser
def test_html_in_a_real_browser(rendered):
    r = assert_html_ok(rendered["html"], report.SECTION_IDS, min_figures=len(synthetic.drawn()[1]))
    assert r["title"] == report.TITLE


def test_pdf_pages_and_figures(rendered):
    from initbench import figures

    texts = []
    for i, name in enumerate(synthetic.drawn()[1], start=1):
        texts += [f"Figure {i}.", figures.CAPTIONS[name][:60]]
    n = assert_pdf_ok(rendered["pdf"], 8, 30, texts + list(report.headings().values()))
    print(f"synthetic report: {n} pages, rendered in {rendered['seconds']:.1f} s")


def test_same_inputs_give_the_same_bytes(rendered, tmp_path):
    again = _render(tmp_path)
    for kind in ("html", "pdf", "csv"):
        assert again[kind].read_bytes() == rendered[kind].read_bytes(), kind


def test_verdicts_csv(rendered):
    rows = {r["id"]: r for r in csv.DictReader(rendered["csv"].open())}
    assert rows["xavier_vs_uniform"]["verdict"] == stats.REPRODUCED
    assert rows["he_vs_default"]["verdict"] == stats.REPRODUCED
    assert rows["glorot_gradients"]["verdict"] == stats.REPRODUCED
    # the synthetic U(-1/n_in, 1/n_in) trains worse than U(-1, 1): the claim must fail
    assert rows["range_fan_in"]["verdict"] == stats.NOT_REPRODUCED
    # the synthetic phase diagram trains exactly where depth <= 6 xi_c; orthogonal beats Gaussian; ReLU spreads
    for claim in ("depth_scale", "isometry_orthogonal", "isometry_spread"):
        assert rows[claim]["verdict"] == stats.REPRODUCED, claim
    assert rows["depth_scale"]["test"] == "binomial test"
    assert int(rows["depth_scale"]["n"]) == 28  # 7 x 4 cells
    assert all(int(r["n"]) == 4 for r in rows.values() if r["test"] == "paired t-test")


def _verdicts(tmp_path, quality, seeds=4) -> dict[str, str]:
    inputs = synthetic.write_inputs(tmp_path, synthetic.config(["xavier_lab"], seeds=seeds), quality)
    return {r["id"]: r["verdict"] for r in evaluate(Tables(inputs.metrics_dir, inputs.summary_csv))}


def test_verdicts_can_come_out_either_way(tmp_path):
    clear = _verdicts(tmp_path / "a", {})
    assert clear["xavier_vs_uniform"] == stats.REPRODUCED
    same = _verdicts(tmp_path / "b", {("xavier_lab", "xavier_uniform"): 0.11})
    assert same["xavier_vs_uniform"] in (stats.NOT_REPRODUCED, stats.INCONCLUSIVE)
    worse = _verdicts(tmp_path / "c", {("xavier_lab", "xavier_uniform"): 0.05})
    assert worse["xavier_vs_default"] == stats.NOT_REPRODUCED
    few = _verdicts(tmp_path / "d", {}, seeds=2)
    assert few["xavier_vs_uniform"] == stats.INCONCLUSIVE  # n < 3
    assert clear["he_vs_uniform"] == stats.INCONCLUSIVE  # he_lab not run: n = 0


def test_absent_studies_get_one_line(tmp_path):
    paths = _render(tmp_path, ("same_weights",))
    html = paths["html"].read_text()
    for study in ("xavier_lab", "he_lab", "depth", "table1"):
        assert f"Study <code>{study}</code> was not run" in html
    assert_pdf_ok(paths["pdf"], 3, 15)


@pytest.mark.browser
def test_browser_check_catches_broken_pages(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<html><body><section id="a"><img src="missing.png"></section></body></html>')
    with pytest.raises(AssertionError, match="broken images"):
        assert_html_ok(page, ["a"], min_figures=0)
    page.write_text('<html><body><section id="a"></section></body></html>')
    with pytest.raises(AssertionError, match="sections missing"):
        assert_html_ok(page, ["a", "b"], min_figures=0)
