"""One look for every figure: the init colours, the rcParams, and stable SVG output.

The colour of an init is fixed here, once, and every figure takes it from ``init_color``. The
palette is Okabe & Ito's (2008), chosen to stay distinguishable under the common colour-vision
deficiencies.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib

matplotlib.use("svg")  # the figures are SVG only; no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402

from initbench.names import parse_init  # noqa: E402
from initbench.registry import canonical  # noqa: E402

INIT_COLORS = {
    "default": "#0072B2",  # blue
    "xavier_uniform": "#009E73",  # bluish green
    "he_uniform": "#D55E00",  # vermillion
    "uniform(0,1)": "#E69F00",  # orange
    "uniform(-1,1)": "#CC79A7",  # reddish purple
    "uniform(-0.05,0.05)": "#56B4E9",  # sky blue
    "fan_in_uniform": "#000000",  # black
    "ones": "#999999",  # grey
}
# inits outside the map (he_normal, lsuv, ...) get one of these, always the same for a given name
EXTRA_COLORS = ("#882255", "#44AA99", "#DDCC77", "#332288", "#117733", "#AA4499")

INIT_LABELS = {
    "default": "Default",
    "xavier_uniform": "Xavier",
    "he_uniform": "He",
    "ones": "Ones",
    "fan_in_uniform": "U(-1/n_in, 1/n_in)",
}

TEXT_WIDTH_IN = 6.5  # A4 minus the report's margins
RC = {
    "svg.hashsalt": "initbench",  # stable ids in the SVG: same data, same bytes
    "svg.fonttype": "none",  # text as <text>: small files, selectable text; DejaVu Sans is installed
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.4,
    "figure.dpi": 100,
}
BAND_ALPHA = 0.22
plt.rcParams.update(RC)  # this module is imported only where figures are drawn


def canonical_init(spec: str) -> str:
    """The init spec without spaces or float noise: ``uniform(0, 1.0)`` -> ``uniform(0,1)``."""
    return canonical(spec)


def init_color(spec: str) -> str:
    key = canonical_init(spec)
    if key in INIT_COLORS:
        return INIT_COLORS[key]
    return EXTRA_COLORS[zlib.crc32(key.encode()) % len(EXTRA_COLORS)]


def init_label(spec: str) -> str:
    key = canonical_init(spec)
    if key in INIT_LABELS:
        return INIT_LABELS[key]
    name, args = parse_init(key)
    return f"U({args[0]:g}, {args[1]:g})" if name == "uniform" else key


def init_order(specs) -> list[str]:
    """Inits in the fixed order of ``INIT_COLORS``, then the others alphabetically."""
    known = list(INIT_COLORS)
    return sorted(
        set(specs),
        key=lambda s: (known.index(canonical_init(s)) if canonical_init(s) in known else len(known), s),
    )


def subplots(ncols: int = 2, nrows: int = 1, height: float = 2.4, **kw):
    return plt.subplots(nrows, ncols, figsize=(TEXT_WIDTH_IN, height * nrows), layout="constrained", **kw)


def save_svg(fig, path: str | Path) -> None:
    """Write ``fig`` as an SVG whose bytes depend only on its content, then close it."""
    plt.rcParams["svg.hashsalt"] = RC["svg.hashsalt"]
    fig.savefig(path, format="svg", metadata={"Date": None}, dpi=200)  # dpi: rasterized artists only
    plt.close(fig)


def plot_band(ax, summ, x: str, init: str, scale: float = 1.0, label: str | None = None, **kw) -> None:
    """Mean line and confidence band of one init from a ``stats.summarise`` frame."""
    s = summ[summ["init"] == init]
    if s.empty:
        return
    color = init_color(init)
    ax.plot(s[x], s["mean"] * scale, color=color, label=label or init_label(init), **kw)
    if s["lo"].notna().any():
        ax.fill_between(s[x], s["lo"] * scale, s["hi"] * scale, color=color, alpha=BAND_ALPHA, linewidth=0)


def empty_figure(message: str):
    """A figure that says why it has no data, so the report still shows where it would be."""
    fig, ax = subplots(1, height=1.2)
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, color="#555555", wrap=True)
    return fig
