"""The report's outline: numbers, anchors, templates, builders and figures all follow the Section records."""

import subprocess
import sys
from pathlib import Path

import pytest

import synthetic
from initbench import figures, report
from initbench.report import sections
from initbench.report.sections import Figure, Section

TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates" / "sections"


def test_sections_number_themselves():
    h = report.headings()
    assert h["abstract"] == "Abstract" and h["setup"] == "1 Setup" and h["references"] == "References"
    assert h["appendix"] == "Appendix" and h["appendix-config"] == "A.1 Config as run"
    body = [s for s in report.SECTIONS if s.part == "body"]
    assert [h[s.id] for s in body] == [f"{i} {s.title}" for i, s in enumerate(body, start=1)]
    assert report.SECTION_IDS == tuple(h)
    assert report.SECTION_IDS.index("appendix") + 1 == report.SECTION_IDS.index("appendix-config")


def test_a_new_section_renumbers_the_ones_after_it():
    new = Section("ranking", "Ranking", None, "claims:build")
    at = report.SECTION_IDS.index("claims")
    outline = (*report.SECTIONS[:at], new, *report.SECTIONS[at:])
    h = sections.headings(outline)
    old = report.headings()
    assert h["ranking"] == old["claims"].replace("Claims", "Ranking")
    assert h["claims"].split()[0] == str(int(old["claims"].split()[0]) + 1)
    assert h["setup"] == old["setup"] and h["appendix-config"] == old["appendix-config"]


def test_bad_outlines_are_refused_with_the_reason():
    setup = report.SECTIONS[1]
    with pytest.raises(ValueError, match="two sections have the id 'setup'"):
        sections.headings((setup, setup))
    with pytest.raises(ValueError, match="part 'middle' is not one of"):
        sections.headings((Section("x", "X", None, None, part="middle"),))
    fig = Figure("fig_x", "labs", "alt")
    with pytest.raises(ValueError, match="figure 'fig_x' is declared twice"):
        sections.figures(
            (Section("a", "A", None, None, figures=(fig,)), Section("b", "B", None, None, figures=(fig,)))
        )
    with pytest.raises(ValueError, match="build 'claims:nope' names no function"):
        sections.builder(Section("x", "X", None, "claims:nope"))


def test_every_section_has_its_template_and_every_template_a_section():
    ids = {s.id for s in report.SECTIONS}
    files = {
        p.name.removesuffix(".html.j2") for p in TEMPLATES.glob("*.html.j2") if not p.name.startswith("_")
    }
    assert files == ids


def test_every_build_resolves_to_a_function():
    for s in report.SECTIONS:
        assert s.build is None or callable(sections.builder(s)), s.id


def test_figures_are_declared_in_their_sections_and_need_their_study():
    declared = [f.name for s in report.SECTIONS for f in s.figures]
    assert list(figures.FIGURES) == declared
    he = figures.FIGURES["fig_lab_he_relu"]
    assert he.needs == ("he_lab",) and he.module == "labs"  # the section's study by default
    assert figures.FIGURES["fig_range_tanh_derivative"].needs == ()  # section without a study: always
    for s in report.SECTIONS:  # every figure is placed by its own section's template
        text = (TEMPLATES / f"{s.id}.html.j2").read_text()
        for f in s.figures:
            assert f'"{f.name}"' in text, f"{s.id}.html.j2 does not place {f.name}"


def test_importing_the_outline_is_light():
    # the Snakefile imports initbench.figures, which reads its figures from initbench.report.sections
    code = (
        "import sys, initbench.report, initbench.figures; "
        "print(sorted(m for m in ('torch', 'pandas', 'jinja2', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_section_whose_study_did_not_run_is_not_built(tmp_path, monkeypatch):
    from initbench.figures.data import Tables
    from initbench.report import document
    from initbench.report.context import labs

    called = []
    monkeypatch.setattr(labs, "he_lab", lambda run: called.append("he_lab"))
    inputs = synthetic.write_inputs(tmp_path, synthetic.config(["xavier_lab"], seeds=2))
    run = sections.Run(Tables(inputs.metrics_dir, inputs.summary_csv), inputs.config, [], [], [], {})
    ctx = document.build_context(run, {})
    assert called == [] and "he-lab" not in ctx["ctx"]
    shown = {s["id"]: s["shown"] for s in ctx["sections"]}
    assert shown["xavier-lab"] and not shown["he-lab"] and shown["range"]
    assert ctx["not_run"] == ["same_weights", "he_lab", "depth", "criticality", "isometry", "table1"]
