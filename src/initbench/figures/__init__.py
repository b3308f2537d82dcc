"""The report's figures: which ones a set of studies gets, their captions, and drawing one to SVG.

This module imports nothing heavy (no matplotlib, no pandas): the Snakefile imports it to build
the DAG. Each figure is declared once, in its section's record (``initbench.report.sections``),
with its module, alt text and the studies it needs. It is drawn by one function named after it,
``fig_<name>(tables, config) -> Figure``, in ``labs.py`` (the course labs) or ``depth.py``
(Glorot & Bengio, He et al., depth sweeps). Its caption is ``report/captions/<name>.rst``, which
Snakemake's ``report()`` shows too.

    python -c "from initbench import figures; print(figures.catalog(['xavier_lab']))"
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

from initbench.report import sections

CAPTIONS_DIR = Path(__file__).resolve().parents[3] / "report" / "captions"
# In report order; each declared in the record of the section that places it.
FIGURES: dict[str, sections.Figure] = sections.figures()


def _caption(name: str) -> str:
    path = CAPTIONS_DIR / f"{name}.rst"
    if not path.exists():
        raise FileNotFoundError(f"figure {name!r} has no caption file {path}")
    return " ".join(path.read_text(encoding="utf-8").split())


CAPTIONS: dict[str, str] = {name: _caption(name) for name in FIGURES}


def catalog(study_names: Iterable[str]) -> list[str]:
    """The figures to draw for these studies, in report order."""
    studies = set(study_names)
    return [name for name, f in FIGURES.items() if not f.needs or studies.intersection(f.needs)]


def figure_function(name: str):
    """The ``fig_<name>`` function that draws figure ``name``."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known figures: {', '.join(FIGURES)}")
    return getattr(importlib.import_module(f"initbench.figures.{FIGURES[name].module}"), name)


def draw_all(
    outputs: dict[str, Path], metrics_dir: Path, summary_csv: Path, config: dict, workers: int = 1
) -> None:
    """Draw each figure into its path, over ``workers`` processes forked once the heavy modules are
    imported (so each figure costs its drawing, not an interpreter's start). A figure that fails
    ends the call with its name and the error."""
    import multiprocessing

    from initbench.figures import data, style  # noqa: F401  pandas and matplotlib, before the fork

    jobs = [(name, str(metrics_dir), str(summary_csv), str(path), config) for name, path in outputs.items()]
    if workers <= 1 or len(jobs) <= 1:
        failures = [f for f in map(_draw_job, jobs) if f]
    else:
        with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
            failures = [f for f in pool.imap(_draw_job, jobs) if f]
    if failures:
        raise RuntimeError("\n".join(failures))


def _draw_job(job) -> str:
    """``draw`` one figure; its failure as text (a worker's exception would lose the figure's name)."""
    name, metrics_dir, summary_csv, out_svg, config = job
    try:
        draw(name, Path(metrics_dir), Path(summary_csv), Path(out_svg), config)
    except Exception:
        import traceback

        return f"figure {name} failed:\n{traceback.format_exc()}"
    return ""


def draw(name: str, metrics_dir: Path, summary_csv: Path, out_svg: Path, config: dict) -> None:
    """Draw figure ``name`` from the aggregate tables into ``out_svg`` (same inputs, same bytes)."""
    from initbench.figures.data import Tables
    from initbench.figures.style import save_svg

    fig = figure_function(name)(Tables(metrics_dir, summary_csv), config)
    Path(out_svg).parent.mkdir(parents=True, exist_ok=True)
    save_svg(fig, out_svg)
