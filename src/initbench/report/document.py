"""The whole report: every section's context, the templates, one self-contained HTML, and its PDF.

The HTML embeds every figure as inline SVG, so it opens offline; the PDF is WeasyPrint's rendering
of the same HTML. Same inputs give the same bytes: no timestamps, stable SVG ids, and PDF dates
taken from the code's commit date.

``report/templates/report.html.j2`` lays the sections out in the order of ``sections.SECTIONS``:
for each, its anchor and numbered heading, then ``report/templates/sections/<id>.html.j2`` (or one
"not run" line if its study did not run). A section's template sees its own context as ``c``, every
section's as ``ctx[id]``, the headings as ``headings[id]`` (for cross-references), the figures
(``m.figure(figures, name)``, ``m.ref(figures, name)``), ``method`` (the statistics' settings) and
``not_run`` (the studies that sections needed and that did not run).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import jinja2
from markupsafe import Markup

from initbench import stats
from initbench.figures.data import REPORT_DIR, Tables
from initbench.report import claims, placement, provenance
from initbench.report.sections import SECTIONS, TITLE, Run, builder, headings

TEMPLATES = REPORT_DIR / "templates"
REPO = Path(__file__).resolve().parents[3]
METHOD = {
    "rule": stats.VERDICT_RULE,
    "alpha": f"{stats.ALPHA:g}",
    "confidence": f"{stats.CONFIDENCE:.0%}",
    "min_seeds": str(stats.MIN_SEEDS),
}


def build_context(run: Run, figures: dict[str, Path]) -> dict:
    """Everything the templates print, as plain values; ``ctx["claims"]["rows"]`` holds the raw verdicts too.

    ``sections``: each section in order with its heading and whether its study ran; ``ctx``: each
    shown section's context by id; ``not_run``: the studies that sections need and that did not run.
    """
    ran = set(run.tables.studies())
    heads = headings()
    outline, ctx, not_run = [], {}, []
    for i, s in enumerate(SECTIONS):
        shown = s.study is None or s.study in ran
        if shown:
            build = builder(s)
            ctx[s.id] = build(run) if build else None
            # a study that ran but left no rows for this section reads as not run, too
            shown = s.study is None or ctx[s.id] is not None
        elif s.study not in not_run:
            not_run.append(s.study)
        outline.append(
            {
                "id": s.id,
                "heading": heads[s.id],
                "part": s.part,
                "study": s.study,
                "shown": shown,
                "opens_appendix": s.part == "appendix" and (i == 0 or SECTIONS[i - 1].part != "appendix"),
            }
        )
    return {
        "title": TITLE,
        "date": run.provenance.get("git_commit_date") or "",
        "sections": outline,
        "headings": heads,
        "ctx": ctx,
        "not_run": not_run,
        "figures": placement.figures(figures),
        "method": METHOD,
    }


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(context: dict) -> str:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return environment().get_template("report.html.j2").render(**context, css=Markup(css))


def write_pdf(html: str, out_pdf: Path) -> None:
    import weasyprint

    # inline SVG styles that WeasyPrint does not support ("Ignored fill ...") are harmless
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf(out_pdf)


def render(
    *,
    metrics_dir: Path,
    summary_csv: Path,
    jobs_json: Path,
    benchmarks: list[Path],
    dataset_meta: list[Path],
    figures: dict[str, Path],
    config: dict,
    out_html: Path,
    out_pdf: Path,
    verdicts_csv: Path | None = None,
) -> None:
    """Write the report as ``out_html`` (self-contained) and ``out_pdf``; the verdicts to ``verdicts_csv``."""
    jobs_path = Path(jobs_json)
    run = Run(
        tables=Tables(metrics_dir, summary_csv),
        config=config,
        jobs=json.loads(jobs_path.read_text(encoding="utf-8")) if jobs_path.exists() else [],
        benchmarks=list(benchmarks),
        dataset_meta=list(dataset_meta),
        provenance=provenance.collect(REPO),
    )
    context = build_context(run, dict(figures))
    html = render_html(context)
    for out in (out_html, out_pdf):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out_html).write_text(html, encoding="utf-8")
    write_pdf(html, Path(out_pdf))
    if verdicts_csv is not None:
        claims.write_csv(context["ctx"]["claims"]["rows"], Path(verdicts_csv))
