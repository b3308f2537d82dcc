"""The report's figures: which ones a set of studies gets, their captions, and drawing one to SVG.

This module imports nothing heavy (no matplotlib, no pandas): the Snakefile imports it to build
the DAG. Each figure is one function named after it, ``fig_<name>(tables, config) -> Figure``,
in ``labs.py`` (the course labs) or ``depth.py`` (Glorot & Bengio, He et al., depth sweeps).
Its caption is ``report/captions/<name>.rst``, which Snakemake's ``report()`` shows too.

    python -c "from initbench import figures; print(figures.catalog(['xavier_lab']))"
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

CAPTIONS_DIR = Path(__file__).resolve().parents[3] / "report" / "captions"


class _Figure:
    def __init__(self, module: str, needs: tuple[str, ...], category: str, alt: str):
        self.module, self.needs, self.category, self.alt = module, needs, category, alt


# In report order. ``needs``: the figure is drawn if any of these studies ran; () means always.
FIGURES: dict[str, _Figure] = {
    "fig_same_weights_loss": _Figure(
        "labs",
        ("same_weights",),
        "Same weights",
        "Line chart, log scale: training loss summed over the training points against epoch, for the all-ones and "
        "the default init, with the published final losses as dotted lines.",
    ),
    "fig_same_weights_hidden": _Figure(
        "labs",
        ("same_weights",),
        "Same weights",
        "Two scatter plots of hidden unit 1 against hidden unit 2 after training, one point per training input, "
        "marked by class: on the diagonal for the all-ones init, spread out for the default init.",
    ),
    "fig_same_weights_symmetry": _Figure(
        "labs",
        ("same_weights",),
        "Same weights",
        "Line chart: the largest distance between two neurons of the hidden layer against epoch, for the all-ones "
        "and the default init.",
    ),
    "fig_range_tanh_derivative": _Figure(
        "labs",
        (),
        "Range of the uniform init",
        "Two line charts: tanh and its derivative against z with the lecture's points marked, and tanh'(z) at "
        "z = 0.5 n_in against the fan-in n_in, for weights 1 and for weights 1/n_in.",
    ),
    "fig_range_curves": _Figure(
        "labs",
        ("xavier_lab",),
        "Range of the uniform init",
        "Two line charts with confidence bands: training loss per iteration and validation accuracy per epoch for "
        "U(-1,1), U(-0.05,0.05), U(-1/n_in,1/n_in) and the default init.",
    ),
    "fig_lab_xavier_tanh": _Figure(
        "labs",
        ("xavier_lab",),
        "Xavier lab",
        "Two line charts with confidence bands: training loss per iteration and validation accuracy per epoch for "
        "U(0,1), default and Xavier init in the tanh network, published accuracies marked as stars.",
    ),
    "fig_lab_he_relu": _Figure(
        "labs",
        ("he_lab",),
        "He lab",
        "Two line charts with confidence bands: training loss per iteration on a log scale and validation accuracy "
        "per epoch for U(0,1), default and He init in the ReLU network, published accuracies marked as stars.",
    ),
    "fig_glorot_histograms": _Figure(
        "depth",
        ("depth", "xavier_lab"),
        "Glorot and Bengio",
        "Four panels of per-layer histograms at initialisation, tanh: activations (top) and back-propagated "
        "gradients (bottom), for the default (standard) and the Xavier (normalized) init, one line per layer.",
    ),
    "fig_signal_propagation": _Figure(
        "depth",
        ("depth",),
        "Signal propagation",
        "Log-scale line charts, one row per activation: activation standard deviation and gradient standard "
        "deviation against layer at initialisation for each init, measured as markers, theory as dashed lines.",
    ),
    "fig_deep_relu": _Figure(
        "depth",
        ("depth",),
        "Depth",
        "Two line charts with confidence bands for the deepest ReLU network: validation error and training loss "
        "against epoch for each init.",
    ),
    "fig_depth_heatmap": _Figure(
        "depth",
        ("depth",),
        "Depth",
        "Heat maps, one per activation: final validation accuracy for each init (rows) and depth (columns).",
    ),
}


def _caption(name: str) -> str:
    path = CAPTIONS_DIR / f"{name}.rst"
    if not path.exists():
        raise FileNotFoundError(f"figure {name!r} has no caption file {path}")
    return " ".join(path.read_text(encoding="utf-8").split())


CAPTIONS: dict[str, str] = {name: _caption(name) for name in FIGURES}
CATEGORY: dict[str, str] = {name: f.category for name, f in FIGURES.items()}
ALT: dict[str, str] = {name: f.alt for name, f in FIGURES.items()}


def catalog(study_names: Iterable[str]) -> list[str]:
    """The figures to draw for these studies, in report order."""
    studies = set(study_names)
    return [name for name, f in FIGURES.items() if not f.needs or studies.intersection(f.needs)]


def figure_function(name: str):
    """The ``fig_<name>`` function that draws figure ``name``."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known figures: {', '.join(FIGURES)}")
    return getattr(importlib.import_module(f"initbench.figures.{FIGURES[name].module}"), name)


def draw(name: str, metrics_dir: Path, summary_csv: Path, out_svg: Path, config: dict) -> None:
    """Draw figure ``name`` from the aggregate tables into ``out_svg`` (same inputs, same bytes)."""
    from initbench.figures.data import Tables
    from initbench.figures.style import save_svg

    fig = figure_function(name)(Tables(metrics_dir, summary_csv), config)
    Path(out_svg).parent.mkdir(parents=True, exist_ok=True)
    save_svg(fig, out_svg)
