"""How the report writes numbers and lists: ``mean ± half-width (n = k)``, "a, b and c", init rows,
and the "did not train in this budget" flag."""

from __future__ import annotations

import numpy as np

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
    """``a``, ``a and b``, ``a, b and c``; "" for none."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def with_kind(config: dict, dataset: str) -> str:
    """A dataset's name, with its kind in brackets where the two differ."""
    kind = dataset_kind(config, dataset)
    return dataset if kind == dataset else f"{dataset} ({kind})"


DID_NOT_TRAIN = "did not train in this budget"


def untrained_rule(classes: dict[str, int]) -> str:
    """The flag's rule in words, with the chance level of each number of classes in ``classes``."""
    chance = join(sorted({f"{100 * stats.chance_accuracy(k):g} % for {k} classes" for k in classes.values()}))
    return (
        f"“{DID_NOT_TRAIN}” marks runs whose final accuracy stayed below chance + "
        f"{100 * stats.TRAINED_MARGIN:g} points (chance is {chance})"
    )


def flag_untrained(text: str, failed, keep_value: bool = True) -> tuple[str, bool]:
    """``text`` flagged when runs of its cell did not train (``failed``: one bool per run).

    Every run failed: the flag, then ``text`` if ``keep_value`` (where a stalled run is itself the
    published finding, such as U(0, 1) in the labs); some failed: ``text`` and how many did not.
    Returns the text and whether it was flagged.
    """
    failed = np.asarray(failed, dtype=bool)
    n, k = failed.size, int(failed.sum())
    if n and k == n:
        return (f"{DID_NOT_TRAIN}: {text}" if keep_value else DID_NOT_TRAIN), True
    if k:
        return f"{text} ({k} of {n} runs {DID_NOT_TRAIN})", True
    return text, False
