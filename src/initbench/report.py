"""The paper-style report: tables + config -> context -> Jinja2 -> one self-contained HTML -> PDF.

The HTML embeds every figure as inline SVG, so it opens offline; the PDF is WeasyPrint's rendering
of the same HTML. Same inputs give the same bytes: no timestamps, stable SVG ids, and PDF dates
taken from the code's commit date.

    initbench.report.render(metrics_dir=..., summary_csv=..., jobs_json=..., benchmarks=[...],
                            dataset_meta=[...], figures={name: svg_path}, config=cfg,
                            out_html=Path("report.html"), out_pdf=Path("report.pdf"))
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from initbench import figures as figs
from initbench import provenance, report_appendix, report_claims, report_context, stats
from initbench.figures.data import REPORT_DIR, Tables, published
from initbench.figures.labs import LAB_INITS

TEMPLATES = REPORT_DIR / "templates"
TITLE = "initbench: does weight initialisation matter as the lecture, the labs and the papers say?"
# (id, title) in order; the appendix's subsections follow it
SECTIONS = (
    ("abstract", "Abstract"),
    ("setup", "1 Setup"),
    ("same-weights", "2 Same weights"),
    ("range", "3 The range of a uniform init"),
    ("xavier-lab", "4 Uniform vs Default vs Xavier, tanh"),
    ("he-lab", "5 Uniform vs Default vs He, ReLU"),
    ("glorot", "6 Activations and gradients at initialisation"),
    ("signal-propagation", "7 Signal propagation vs depth"),
    ("depth", "8 Deep networks: Xavier vs He, and depth x init"),
    ("claims", "9 Claims"),
    ("table1", "10 Glorot and Bengio's Table 1"),
    ("references", "References"),
    ("appendix", "Appendix"),
    ("appendix-config", "A.1 Config as run"),
    ("appendix-provenance", "A.2 Provenance"),
    ("appendix-runtime", "A.3 Runtime per job"),
    ("appendix-datasets", "A.4 Datasets and checksums"),
    ("appendix-divergence", "A.5 Divergence"),
)
SECTION_IDS = tuple(s for s, _ in SECTIONS)
REPO = Path(__file__).resolve().parents[2]


def inline_svg(svg_text: str, name: str, alt: str) -> Markup:
    """An SVG file's text made fit to sit inline in HTML, with alt text.

    Drops the XML prolog and metadata, prefixes every id (and every reference to it) with the
    figure's name so that several figures can share one page, and adds ``role="img"``, an
    ``aria-label`` and a ``<title>``.
    """
    text = svg_text[svg_text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = re.sub(
        r'(url\(#|href="#)([^")]+)',
        lambda m: f"{m.group(1)}{name}-{m.group(2)}" if m.group(2) in ids else m.group(0),
        text,
    )
    head_end = text.index(">") + 1
    head = text[:head_end].replace(
        "<svg ", f'<svg role="img" aria-label="{escape(alt)}" class="figure-svg" ', 1
    )
    return Markup(f"{head}\n <title>{escape(alt)}</title>{text[head_end:]}")


def _figures(paths: dict[str, Path]) -> dict[str, dict]:
    out = {}
    for name in [n for n in figs.FIGURES if n in paths]:
        out[name] = {
            "number": len(out) + 1,
            "caption": figs.CAPTIONS[name],
            "alt": figs.ALT[name],
            "svg": inline_svg(Path(paths[name]).read_text(encoding="utf-8"), name, figs.ALT[name]),
        }
    return out


def build_context(
    *,
    tables: Tables,
    jobs: list[dict],
    benchmarks,
    dataset_meta,
    figures: dict[str, Path],
    config: dict,
    prov: dict,
) -> dict:
    """Everything the templates print, as plain values; ``claims`` holds the raw verdict rows too."""
    claims = report_claims.evaluate(tables)
    verdicts = [r["verdict"] for r in claims]
    cfg_text, cfg_hash = report_appendix.config_text(config)
    pub = published()
    return {
        "title": TITLE,
        "sections": dict(SECTIONS),
        "date": prov.get("git_commit_date") or "",
        "figures": _figures(figures),
        "setup": report_context.setup(tables, config, jobs),
        "same_weights": report_context.same_weights(tables),
        "range": report_context.lecture_range(tables, config),
        "xavier": report_context.lab(tables, config, "xavier_lab", LAB_INITS["xavier_lab"], "xavier_lab"),
        "he": report_context.lab(tables, config, "he_lab", LAB_INITS["he_lab"], "he_lab"),
        "glorot": report_context.glorot(tables),
        "signal": report_context.signal(tables),
        "depth": report_context.depth_study(tables),
        "claims": claims,
        "claim_counts": {
            v: str(verdicts.count(v)) for v in (stats.REPRODUCED, stats.NOT_REPRODUCED, stats.INCONCLUSIVE)
        },
        "n_claims": str(len(claims)),
        "method": {
            "rule": stats.VERDICT_RULE,
            "alpha": f"{stats.ALPHA:g}",
            "confidence": f"{stats.CONFIDENCE:.0%}",
            "min_seeds": str(stats.MIN_SEEDS),
        },
        "table1": report_context.table1(tables, config),
        "sources": [{"key": k, **v} for k, v in pub["sources"].items()],
        "config_yaml": cfg_text,
        "config_sha256": cfg_hash,
        "training_provenance": report_appendix.training_provenance(jobs),
        "report_provenance": report_appendix.report_provenance(prov),
        "runtime": report_appendix.runtimes(benchmarks, jobs),
        "datasets": report_appendix.datasets(dataset_meta),
        "divergence": report_appendix.divergence(tables),
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
    jobs = json.loads(jobs_path.read_text(encoding="utf-8")) if jobs_path.exists() else []
    context = build_context(
        tables=Tables(metrics_dir, summary_csv),
        jobs=jobs,
        benchmarks=list(benchmarks),
        dataset_meta=list(dataset_meta),
        figures=dict(figures),
        config=config,
        prov=provenance.collect(REPO),
    )
    html = render_html(context)
    for out in (out_html, out_pdf):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out_html).write_text(html, encoding="utf-8")
    write_pdf(html, Path(out_pdf))
    if verdicts_csv is not None:
        report_claims.write_csv(context["claims"], Path(verdicts_csv))
