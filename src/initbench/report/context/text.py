"""How the report writes numbers and lists: ``mean ± half-width (n = k)``, "a, b and c", init rows."""

from __future__ import annotations

from initbench import stats
from initbench.figures.data import dataset_kind
from initbench.figures.style import init_color, init_label


def ci_text(values, digits: int = 1, unit: str = "") -> str:
    """``mean ± half-width unit (n = k)`` of the finite values, or ``n/a``."""
    m, lo, hi, n = stats.mean_ci(values)
    if n == 0:
        return "n/a"
    half = f" ± {(hi - lo) / 2:.{digits}f}" if n > 1 else ""
    return f"{m:.{digits}f}{half}{unit} (n = {n})"


def init_row(init: str, **cols) -> dict:
    """A table row about one init: its label and colour (as in the figures), then ``cols``."""
    return {"init": init, "label": init_label(init), "color": init_color(init), **cols}


def join(items) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def with_kind(config: dict, dataset: str) -> str:
    """A dataset's name, with its kind in brackets where the two differ."""
    kind = dataset_kind(config, dataset)
    return dataset if kind == dataset else f"{dataset} ({kind})"
