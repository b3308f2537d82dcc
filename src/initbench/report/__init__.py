"""The paper-style report: tables + config -> each section's context -> Jinja2 -> HTML -> PDF.

    initbench.report.render(metrics_dir=..., summary_csv=..., jobs_json=..., benchmarks=[...],
                            dataset_meta=[...], figures={name: svg_path}, config=cfg,
                            out_html=Path("report.html"), out_pdf=Path("report.pdf"))

The modules, one idea each:

- ``sections``: the outline, one ``Section`` record per section with its figures; numbers, anchors
  and the figure catalog follow from it. Light: the Snakefile imports it (through ``figures``).
- ``context/``: each section's numbers, computed from the tables and config (``overview``,
  ``labs``, ``depth``, ``table1``; ``text`` formats them); ``claims`` and ``appendix`` likewise.
- ``placement``: figures inlined as SVG and numbered; ``document``: the context of the whole
  report, the templates (``report/templates/``), the HTML and the PDF; ``provenance``: where a
  report came from.

Importing this package is cheap; ``render`` imports the heavy parts when called.
"""

from __future__ import annotations

from initbench.report.sections import SECTION_IDS, SECTIONS, TITLE, Figure, Section, headings

__all__ = ["SECTIONS", "SECTION_IDS", "TITLE", "Figure", "Section", "headings", "render"]


def render(**kwargs) -> None:
    """Write the report's HTML and PDF (and the verdicts CSV): ``initbench.report.document.render``."""
    from initbench.report import document

    document.render(**kwargs)
