"""Figures of the edge of chaos: the chi_1 map with measured chi_1 beside it, and the trainability phase diagram.

Each function takes the aggregate tables and the config and returns a matplotlib Figure; the theory is
``initbench.meanfield``'s, the selections ``critdata``'s.
"""

from __future__ import annotations

import matplotlib.colors as mcolors
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.lines import Line2D

from initbench import meanfield, stats
from initbench.figures import critdata
from initbench.figures.data import Tables, percent
from initbench.figures.style import empty_figure, subplots

ACT_COLORS = {"tanh": "#0072B2", "relu": "#D55E00"}  # Okabe & Ito blue and vermillion
THEORY = {"color": "#222222", "linewidth": 1.2}


def _uniform_widths(tables: Tables) -> list[int]:
    """The widths of the run's nets whose hidden layers all have one width (where a square layer's
    sigma_w^2 and sigma_b^2 are the ones the theory uses)."""
    s = tables.get("summary")
    if s.empty:
        return []
    uniform = s["hidden"].astype(str) == [
        ("-".join([str(w)] * d)) for w, d in zip(s["width"], s["depth"], strict=True)
    ]
    return sorted(int(w) for w in s.loc[uniform, "width"].unique())


def _chi1_panel(ax, activation: str, marks: list[tuple[str, list[tuple[float, float]]]]):
    """One activation's chi_1 map; ``marks``: (label, [(sigma_w^2, sigma_b^2), ...]) drawn as points, labelled once."""
    sw = np.linspace(0.05, 3.0, 60)  # sigma_w and sigma_b, the axes of Poole et al. 2016's Fig. 2
    sb = np.linspace(0.0, 1.0, 31)
    chi = meanfield.chi1_map(activation, sw[None, :] ** 2, sb[:, None] ** 2)
    norm = mcolors.TwoSlopeNorm(vmin=-3, vcenter=0.0, vmax=3)
    log_chi = np.log2(np.clip(chi, 2**-3, 2**3))
    # rasterized: as vectors its 2 x 1860 cells were 4,000 of the report's 10,000 SVG shapes, and
    # the PDF renderer (WeasyPrint) draws each one
    mesh = ax.pcolormesh(sw, sb, log_chi, cmap="RdBu_r", norm=norm, shading="nearest", rasterized=True)
    ax.contour(sw, sb, chi, levels=[1.0], colors="#111111", linewidths=1.3)
    for label, points in marks:
        w, b = np.sqrt(np.array(points, dtype=float).T)
        ax.plot(
            w, b, marker="o", markersize=4.5, color="#111111", markerfacecolor="#ffffff", linestyle="none"
        )
        ax.annotate(label, (w[-1], b.max()), xytext=(4, 4), textcoords="offset points", fontsize=6.5)
    ax.set(xlabel="σw", ylabel="σb", title=f"{activation}: χ₁ (black line: χ₁ = 1)")
    ax.grid(False)
    return mesh


def fig_chi1_map(tables: Tables, config: dict):
    """Poole et al. 2016's Fig. 2 for tanh and ReLU, each with its inits, and chi_1 measured on real nets."""
    fig, axes = subplots(3, height=2.5)
    widths = _uniform_widths(tables) or [100]
    tanh_marks = [
        ("Xavier", [(1.0, 0.0)]),  # 2 n / (n + n) on a square layer, zero bias
        (f"default, N = {', '.join(map(str, widths))}", [critdata.init_sigmas("default", n) for n in widths]),
    ]
    cells = critdata.phase_cells(tables)
    if len(cells):
        w2, b2 = cells["sigma_w2"], cells["sigma_b2"]
        axes[0].plot(
            np.sqrt([w2.min(), w2.max()]), np.sqrt([b2.min(), b2.max()]), color="#111111", linewidth=2.2
        )
        axes[0].annotate(
            "phase diagram",
            (np.sqrt(w2.max()), np.sqrt(b2.max())),
            xytext=(-50, 5),
            textcoords="offset points",
            fontsize=6.5,
        )
    _chi1_panel(axes[0], "tanh", tanh_marks)
    mesh = _chi1_panel(axes[1], "relu", [("He", [(2.0, 0.0)])])
    cbar = fig.colorbar(mesh, ax=axes[:2], location="bottom", shrink=0.6, aspect=30)
    cbar.set_label("log₂ χ₁ (red: chaos, gradients grow; blue: order, they vanish)")
    ax = axes[2]
    chi = critdata.measured_chi1(tables)
    if chi.empty:
        ax.text(
            0.5,
            0.5,
            "no net of 4 or more\nequal hidden layers",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    else:
        for act, g in chi.groupby("activation"):
            summ = stats.summarise(g, ["init", "width", "chi1_theory"], "chi1_measured", log=True)
            ax.errorbar(
                summ["chi1_theory"], summ["mean"],
                yerr=[summ["mean"] - summ["lo"].fillna(summ["mean"]), summ["hi"].fillna(summ["mean"]) - summ["mean"]],
                fmt="o", markersize=3.5, color=ACT_COLORS.get(act, "#555555"), label=act, linewidth=0.8,
            )  # fmt: skip
        lo = min(chi["chi1_theory"].min(), chi["chi1_measured"].min()) / 1.5
        hi = max(chi["chi1_theory"].max(), chi["chi1_measured"].max()) * 1.5
        ax.plot([lo, hi], [lo, hi], linestyle="--", **THEORY, label="measured = theory")
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi))
        for axis in (ax.xaxis, ax.yaxis):  # a range under a decade labels every minor tick, overlapping
            axis.set_minor_formatter(mticker.NullFormatter())
        ax.legend(loc="upper left")
    ax.set(xlabel="χ₁ predicted (mean field)", ylabel="χ₁ measured at init", title="χ₁ of real nets")
    return fig


def fig_phase_diagram(tables: Tables, config: dict):
    """Schoenholz et al. 2017's trainability map: accuracy over (sigma_w^2, depth), with xi_c and 6 xi_c."""
    cells = critdata.phase_cells(tables)
    if cells.empty:
        return empty_figure(f"No rows for study '{critdata.PHASE_STUDY}' in the summary.")
    width = int(cells["width"].max())
    cells = cells[cells["width"] == width]
    w2 = np.sort(cells["sigma_w2"].unique())
    depths = np.sort(cells["depth"].unique())
    grid = cells.pivot_table(index="depth", columns="sigma_w2", values="accuracy").reindex(
        index=depths, columns=w2
    )
    x_edges = _edges(w2, log=False)
    y_edges = _edges(depths.astype(float), log=True)
    fig, ax = subplots(1, height=3.2)
    mesh = ax.pcolormesh(x_edges, y_edges, percent(grid.to_numpy()), cmap="viridis", vmin=0, vmax=100)
    fig.colorbar(mesh, ax=ax, label="validation accuracy after training (%)")
    var_b = float(np.median(cells["sigma_b2"]))
    crit = meanfield.critical_weight_variance("tanh", var_b)
    # xi_c costs a root find of c* per point in the chaotic phase: 61 points, plus the critical one where it diverges
    fine = np.union1d(np.linspace(x_edges[0], x_edges[-1], 61), [crit])
    xi = meanfield.xi_c_curve("tanh", fine, var_b)
    factor = critdata.depth_factor()
    ax.plot(fine, xi, color="#ffffff", linestyle=":", linewidth=1.6)
    ax.plot(fine, factor * xi, color="#ffffff", linestyle="--", linewidth=1.8)
    ax.axvline(crit, color="#ffffff", linewidth=0.8, alpha=0.7)
    bad = cells[~cells["agrees"]]
    ax.scatter(bad["sigma_w2"], bad["depth"], marker="x", s=22, color="#E69F00", linewidths=1.4, zorder=3)
    ax.set(
        yscale="log", ylim=(y_edges[0], y_edges[-1]), xlim=(x_edges[0], x_edges[-1]),
        xlabel="σw²", ylabel="hidden layers (depth)",
        title=f"tanh, σb² = {var_b:g}, width {width}; edge of chaos (thin line) at σw² = {crit:.3f}",
    )  # fmt: skip
    ax.set_yticks(depths, [str(d) for d in depths])
    ax.minorticks_off()
    ax.grid(False)
    # the lines are white on the map; their legend, outside it on white paper, draws them dark
    handles = [
        Line2D([], [], color="#333333", linestyle=":", linewidth=1.6, label="ξ_c (white on the map)"),
        Line2D(
            [],
            [],
            color="#333333",
            linestyle="--",
            linewidth=1.8,
            label=f"{factor:g} ξ_c, the predicted limit",
        ),
        Line2D([], [], color="#E69F00", marker="x", linestyle="none", label="trains ≠ prediction"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges halfway between the centres (geometrically on a log axis), the outer ones mirrored."""
    c = np.log(centres) if log else np.asarray(centres, dtype=float)
    if len(c) == 1:
        mid = np.array([c[0] - 0.5, c[0] + 0.5])
    else:
        inner = (c[1:] + c[:-1]) / 2
        mid = np.concatenate([[c[0] - (inner[0] - c[0])], inner, [c[-1] + (c[-1] - inner[-1])]])
    return np.exp(mid) if log else mid
