"""The report's outline: one ``Section`` record per section, in report order, with its figures.

Everything else follows from this list: the section numbers ("1 Setup", "A.1 Config as run"), the
anchors the browser test expects (``SECTION_IDS``), which sections say "not run", which figures
the workflow draws (``initbench.figures.catalog``) and their numbers. Nothing is numbered by hand.

Adding a section is one record here plus its template ``report/templates/sections/<id>.html.j2``:

    Section("leaderboard", "Leaderboard", None, "context.leaderboard:build",
            figures=(Figure("fig_leaderboard", "leaderboard", "Dot plot: mean normalised rank ..."),))

- ``study``: the study the section needs. None: always shown. If the study did not run, the
  section prints one "not run" line instead of its template, and ``build`` is not called.
- ``build``: ``"module:function"`` under ``initbench.report``, called with a ``Run``; what it
  returns is ``c`` in the section's template (every other section's is ``ctx[id]``). A string, so
  that this module stays free of pandas and torch: the Snakefile reads the figure list from here.
- ``figures``: drawn by ``fig_<name>`` in ``initbench.figures.<module>``, captioned by
  ``report/captions/<name>.rst``; drawn when one of ``needs`` ran (default: the section's study;
  ``()`` means always). Figures are numbered in the order they appear here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from initbench.figures.data import Tables

TITLE = "initbench: does weight initialisation matter as the lecture, the labs and the papers say?"
# "abstract" and "back" are unnumbered; "body" is numbered 1, 2, ...; "appendix" A.1, A.2, ...
# under an "Appendix" heading that opens before its first section
PARTS = ("abstract", "body", "back", "appendix")
APPENDIX_ID, APPENDIX_TITLE = "appendix", "Appendix"


@dataclass(frozen=True)
class Figure:
    name: str  # fig_<...>: the function's name, the caption file's stem, the SVG's stem
    module: str  # the module of initbench.figures that holds the function
    alt: str  # alt text: what the figure shows, for a reader who cannot see it
    needs: tuple[str, ...] | None = None  # drawn if any of these studies ran; None: the section's study


@dataclass(frozen=True)
class Section:
    id: str  # the HTML anchor and the template's name
    title: str  # the heading without its number
    study: str | None  # the study it needs; None: always shown
    build: str | None  # "module:function" under initbench.report; None: the template reads other sections
    part: str = "body"
    figures: tuple[Figure, ...] = field(default=())


@dataclass(frozen=True)
class Run:
    """What a section's ``build`` gets: one run's tables and config, and the workflow's records."""

    tables: Tables
    config: dict
    jobs: list[dict]  # one record per training job (results/metrics/jobs.json)
    benchmarks: list[Path]  # Snakemake benchmark TSV of each training job
    dataset_meta: list[Path]  # results/data/<dataset>.json
    provenance: dict  # initbench.report.provenance.collect()


SECTIONS: tuple[Section, ...] = (
    Section("abstract", "Abstract", None, None, part="abstract"),
    Section("setup", "Setup", None, "context.overview:setup"),
    Section(
        "same-weights",
        "Same weights",
        "same_weights",
        "context.labs:same_weights",
        figures=(
            Figure(
                "fig_same_weights_loss",
                "labs",
                "Line chart, log scale: training loss summed over the training points against epoch, for the "
                "all-ones and the default init, with the published final losses as dotted lines.",
            ),
            Figure(
                "fig_same_weights_hidden",
                "labs",
                "Two scatter plots of hidden unit 1 against hidden unit 2 after training, one point per training "
                "input, marked by class: on the diagonal for the all-ones init, spread out for the default init.",
            ),
            Figure(
                "fig_same_weights_symmetry",
                "labs",
                "Line chart: the largest distance between two neurons of the hidden layer against epoch, for the "
                "all-ones and the default init.",
            ),
        ),
    ),
    Section(
        "range",
        "The range of a uniform init",
        None,
        "context.labs:lecture_range",
        figures=(
            Figure(
                "fig_range_tanh_derivative",
                "labs",
                "Two line charts: tanh and its derivative against z with the lecture's points marked, and "
                "tanh'(z) at z = 0.5 n_in against the fan-in n_in, for weights 1 and for weights 1/n_in.",
            ),
            Figure(
                "fig_range_curves",
                "labs",
                "Two line charts with confidence bands: training loss per iteration and validation accuracy per "
                "epoch for U(-1,1), U(-0.05,0.05), U(-1/n_in,1/n_in) and the default init.",
                needs=("xavier_lab",),
            ),
        ),
    ),
    Section(
        "xavier-lab",
        "Uniform vs Default vs Xavier, tanh",
        "xavier_lab",
        "context.labs:xavier_lab",
        figures=(
            Figure(
                "fig_lab_xavier_tanh",
                "labs",
                "Two line charts with confidence bands: training loss per iteration and validation accuracy per "
                "epoch for U(0,1), default and Xavier init in the tanh network, published accuracies marked as "
                "stars.",
            ),
        ),
    ),
    Section(
        "he-lab",
        "Uniform vs Default vs He, ReLU",
        "he_lab",
        "context.labs:he_lab",
        figures=(
            Figure(
                "fig_lab_he_relu",
                "labs",
                "Two line charts with confidence bands: training loss per iteration on a log scale and validation "
                "accuracy per epoch for U(0,1), default and He init in the ReLU network, published accuracies "
                "marked as stars.",
            ),
        ),
    ),
    # no study of its own: the depth study's histograms, else the Xavier lab's (figures.data.glorot_selection)
    Section(
        "glorot",
        "Activations and gradients at initialisation",
        None,
        "context.depth:glorot",
        figures=(
            Figure(
                "fig_glorot_histograms",
                "depth",
                "Four panels of per-layer histograms at initialisation, tanh: activations (top) and "
                "back-propagated gradients (bottom), for the default (standard) and the Xavier (normalized) "
                "init, one line per layer.",
                needs=("depth", "xavier_lab"),
            ),
        ),
    ),
    Section(
        "signal-propagation",
        "Signal propagation vs depth",
        "depth",
        "context.depth:signal",
        figures=(
            Figure(
                "fig_signal_propagation",
                "depth",
                "Log-scale line charts, one row per activation: activation standard deviation and gradient "
                "standard deviation against layer at initialisation for each init, measured as markers, theory "
                "as dashed lines.",
            ),
        ),
    ),
    Section(
        "depth",
        "Deep networks: Xavier vs He, and depth x init",
        "depth",
        "context.depth:depth",
        figures=(
            Figure(
                "fig_deep_relu",
                "depth",
                "Two line charts with confidence bands for the deepest ReLU network: validation error and "
                "training loss against epoch for each init.",
            ),
            Figure(
                "fig_depth_heatmap",
                "depth",
                "Heat maps, one per activation: final validation accuracy for each init (rows) and depth "
                "(columns).",
            ),
        ),
    ),
    Section(
        "criticality",
        "The edge of chaos: trainability against depth",
        "criticality",
        "context.criticality:criticality",
        figures=(
            Figure(
                "fig_chi1_map",
                "criticality",
                "Two colour maps of chi_1 over sigma_w (x) and sigma_b (y), for tanh and ReLU, with the chi_1 = 1 line "
                "and the inits marked as points, and a log-log scatter of chi_1 measured on real nets against its "
                "prediction, with the diagonal.",
            ),
            Figure(
                "fig_phase_diagram",
                "criticality",
                "Heat map of validation accuracy over sigma_w^2 (x) and depth (y, log scale) for tanh nets, with the "
                "curves xi_c and 6 xi_c overlaid and crosses on the cells where training disagrees with the prediction.",
            ),
        ),
    ),
    Section(
        "isometry",
        "Dynamical isometry",
        "isometry",
        "context.criticality:isometry",
        figures=(
            Figure(
                "fig_jacobian_spectra",
                "isometry",
                "Grid of density plots, tanh on top and ReLU below, one column per depth: the distribution of log10 "
                "of the squared singular values of the Jacobian at initialisation, one line per init.",
            ),
            Figure(
                "fig_jacobian_spread",
                "isometry",
                "Log-log chart: the spread of the Jacobian's spectrum against the number of layers, measured as "
                "markers with bands and predicted as lines, one colour per init, with the largest possible spread.",
            ),
            Figure(
                "fig_isometry_curves",
                "isometry",
                "Line chart of training loss against SGD step with confidence bands, one line per init, and a dot "
                "plot of the final validation accuracy per init with confidence intervals.",
            ),
        ),
    ),
    Section("claims", "Claims", None, "claims:build"),
    Section("table1", "Glorot and Bengio's Table 1", "table1", "context.table1:table1"),
    Section("leaderboard", "Leaderboard: every init in every cell", None, "context.leaderboard:build"),
    Section("references", "References", None, "context.overview:references", part="back"),
    Section("appendix-config", "Config as run", None, "appendix:config", part="appendix"),
    Section("appendix-provenance", "Provenance", None, "appendix:provenance", part="appendix"),
    Section("appendix-runtime", "Runtime per job", None, "appendix:runtime", part="appendix"),
    Section("appendix-datasets", "Datasets and checksums", None, "appendix:datasets", part="appendix"),
    Section("appendix-divergence", "Divergence", None, "appendix:divergence", part="appendix"),
)


def headings(sections: tuple[Section, ...] = SECTIONS) -> dict[str, str]:
    """Each section's id -> its numbered heading, in report order, the appendix's own heading included."""
    out, body, appendix = {}, 0, 0
    for s in sections:
        if s.part not in PARTS:
            raise ValueError(f"section {s.id!r}: part {s.part!r} is not one of {', '.join(PARTS)}")
        if s.id in out:
            raise ValueError(f"two sections have the id {s.id!r}")
        if s.part == "body":
            body += 1
            out[s.id] = f"{body} {s.title}"
        elif s.part == "appendix":
            if not appendix:
                out[APPENDIX_ID] = APPENDIX_TITLE
            appendix += 1
            out[s.id] = f"A.{appendix} {s.title}"
        else:
            out[s.id] = s.title
    return out


SECTION_IDS: tuple[str, ...] = tuple(headings())


def figures(sections: tuple[Section, ...] = SECTIONS) -> dict[str, Figure]:
    """Every figure by name, in report order, with ``needs`` filled in from its section."""
    out = {}
    for s in sections:
        for f in s.figures:
            if f.name in out:
                raise ValueError(f"figure {f.name!r} is declared twice")
            needs = f.needs if f.needs is not None else ((s.study,) if s.study else ())
            out[f.name] = replace(f, needs=needs)
    return out


def builder(section: Section) -> Callable[[Run], object] | None:
    """The function named by ``section.build``, imported now (it may need pandas)."""
    if section.build is None:
        return None
    module, _, name = section.build.partition(":")
    fn = getattr(importlib.import_module(f"initbench.report.{module}"), name, None)
    if not callable(fn):
        raise ValueError(f"section {section.id!r}: build {section.build!r} names no function")
    return fn
