"""The criticality studies' selections, shared by their figures, report sections and claims.

- ``phase_cells``: the phase diagram (study ``criticality``): per (init, depth, width) cell, the accuracy
  after training, whether the cell trains (``stats.did_not_train``'s rule on the mean over seeds), and
  whether the theory predicts it trains: depth <= 6 xi_c (Schoenholz et al. 2017).
- ``measured_chi1``: chi_1 of real nets at initialisation, from their back-propagated gradients.
- ``spread``: the spread of each Jacobian spectrum (``spectra`` table) with its prediction.
- ``init_sigmas`` / ``arm_label``: an init's (sigma_w^2, sigma_b^2) on an N -> N layer, and its name in words.

An init's sigma_w^2 is fan_in Var W and its sigma_b^2 is Var b (``theory.layer_variances``): for
``gaussian(1.5,0.05)`` its arguments, for Xavier 2 fan_in / (fan_in + fan_out), for nn.Linear's default
1/3 and 1 / (3 fan_in): such points depend on the width, so they are taken at the run's widths.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from initbench import meanfield, stats, theory
from initbench.figures.data import Tables, published
from initbench.names import parse_init

PHASE_STUDY = "criticality"
ISOMETRY_STUDIES = ("isometry", "isometry_relu")


def depth_factor() -> float:
    """Deep tanh nets train iff depth <= this x xi_c (Schoenholz et al. 2017): ``published.yaml``."""
    return float(published()["numbers"]["criticality"]["depth_factor"])


def init_sigmas(init: str, width: int) -> tuple[float, float] | None:
    """(sigma_w^2, sigma_b^2) of ``init`` on a width x width layer; None where the theory has no variance."""
    var = theory.layer_variances(init, int(width), int(width))
    return None if var is None else (float(width) * var[0], float(var[1]))


def weights_kind(init: str) -> str:
    """``orthogonal`` for orthogonal weights, else ``gaussian``: i.i.d. weights share the Marchenko-Pastur law."""
    return "orthogonal" if parse_init(init)[0] == "orthogonal" else "gaussian"


NAMES = {
    "gaussian": "Gaussian",
    "he_normal": "He (Gaussian)",
    "he_uniform": "He (uniform)",
    "xavier_uniform": "Xavier",
    "xavier_normal": "Xavier (Gaussian)",
}


def arm_label(activation: str, init: str, width: int) -> str:
    """``tanh, orthogonal, σw² = 1.76, σb² = 0.05``: the init by name, then its variances on this width."""
    sig = init_sigmas(init, width)
    name = parse_init(init)[0]
    if sig is None:
        return f"{activation}, {init}"
    return f"{activation}, {NAMES.get(name, name)}, σw² = {sig[0]:.3g}, σb² = {sig[1]:.2g}"


def n_classes(tables: Tables, study: str) -> int:
    """Classes of a study's task: the units of its nets' output layer (``layers`` table)."""
    lay = tables.get("layers", study)
    last = lay[lay["layer"] == lay["depth"] + 1]
    return int(last["units"].iloc[0]) if len(last) else 10


def phase_cells(tables: Tables) -> pd.DataFrame:
    """One row per (init, depth, width) of study ``criticality``: accuracy, trains, predicted, agrees.

    Seeds combine by their mean accuracy, a diverged seed counting as chance (it learned nothing); the
    cell trains when that mean is at least chance + ``stats.TRAINED_MARGIN``. Predicted to train:
    depth <= ``depth_factor()`` x xi_c at the init's (sigma_w^2, sigma_b^2).
    """
    s = tables.get("summary", PHASE_STUDY)
    cols = [
        "init",
        "depth",
        "width",
        "sigma_w2",
        "sigma_b2",
        "accuracy",
        "seeds",
        "xi_c",
        "trains",
        "predicted",
    ]
    if s.empty:
        return pd.DataFrame(columns=[*cols, "agrees"])
    classes = n_classes(tables, PHASE_STUDY)
    chance = stats.chance_accuracy(classes)
    acc = s["final_val_accuracy"].where(s["final_val_accuracy"].notna(), chance)
    g = (
        s.assign(acc=acc)
        .groupby(["init", "depth", "width"], as_index=False)
        .agg(accuracy=("acc", "mean"), seeds=("seed", "nunique"))
    )
    sig = [init_sigmas(i, w) or (math.nan, math.nan) for i, w in zip(g["init"], g["width"], strict=True)]
    g["sigma_w2"], g["sigma_b2"] = [x[0] for x in sig], [x[1] for x in sig]
    g["xi_c"] = [
        meanfield.fixed_point("tanh", w, b).xi_c if np.isfinite(w) else math.nan
        for w, b in zip(g["sigma_w2"], g["sigma_b2"], strict=True)
    ]
    g["trains"] = ~stats.did_not_train(g["accuracy"].to_numpy(), classes)
    g["predicted"] = g["depth"] <= depth_factor() * g["xi_c"]
    g["agrees"] = g["trains"] == g["predicted"]
    return g[[*cols, "agrees"]].sort_values(["width", "depth", "sigma_w2"], ignore_index=True)


def measured_chi1(tables: Tables, studies=("criticality", "depth", *ISOMETRY_STUDIES)) -> pd.DataFrame:
    """chi_1 of every net of ``studies`` with at least 4 equal hidden layers, at initialisation.

    chi_1 is the factor by which the squared back-propagated gradient grows per layer (Poole et al.
    2016; He et al. 2015, eq. 13): Var g_l = chi_1 Var g_{l+1} between hidden layers of equal width.
    Measured as the geometric mean of (grad_std_l / grad_std_{l+1})^2 over the hidden layers l from a
    quarter of the depth on (the first layers have not yet reached q*), up to the last pair of hidden
    layers. Only inits whose variances the theory knows; the prediction is ``meanfield.chi1``.
    """
    rows = []
    for study in studies:
        lay = tables.get("layers", study)
        lay = lay[(lay["epoch"] == 0) & (lay["depth"] >= 4) & lay["activation"].isin(["tanh", "relu"])]
        for (act, init, depth, width, seed), g in lay.groupby(
            ["activation", "init", "depth", "width", "seed"], sort=True
        ):
            sig = init_sigmas(init, width)
            if sig is None or not (g.loc[g["layer"] <= depth, "units"] == width).all():
                continue
            grad = g.set_index("layer")["grad_std"]
            first = max(1, math.ceil(depth / 4))
            ratios = [(grad[k] / grad[k + 1]) ** 2 for k in range(first, int(depth))]
            ratios = np.asarray([r for r in ratios if np.isfinite(r) and r > 0])
            if ratios.size == 0:
                continue
            rows.append(
                {
                    "study": study,
                    "activation": act,
                    "init": init,
                    "depth": int(depth),
                    "width": int(width),
                    "seed": int(seed),
                    "sigma_w2": sig[0],
                    "sigma_b2": sig[1],
                    "chi1_measured": float(np.exp(np.log(ratios).mean())),
                    "chi1_theory": meanfield.chi1(act, sig[0], sig[1]),
                }
            )
    return pd.DataFrame(rows)


def spread(tables: Tables) -> pd.DataFrame:
    """The spread of every Jacobian spectrum, with its free-probability prediction.

    spread = Var(lambda) / E(lambda)^2 over the N squared singular values lambda of dh_l/dh_1, the
    normalised variance of J J^T's spectrum, averaged over the probe inputs: 0 when every singular value
    is equal (isometry), at most N - 1 (one non-zero value). Predicted (Pennington et al. 2017) for
    l - 1 layers at q*: ``meanfield.jacobian_spectrum_moments``' var / mean^2.
    One row per (variant, layer) with ``spread``, ``mean_sq`` (mean lambda), ``zero_share`` (share of
    singular values below 1e-6 of the largest) and ``spread_theory``.
    """
    sp = tables.get("spectra")
    cols = ["study", "activation", "init", "width", "seed", "variant", "layer"]
    if sp.empty:
        return pd.DataFrame(columns=[*cols, "spread", "mean_sq", "zero_share", "spread_theory"])
    sp = sp.assign(sq=sp["singular_value"].astype(float) ** 2)
    per_input = sp.groupby([*cols, "input"], sort=True).agg(
        mean_sq=("sq", "mean"),
        var_sq=("sq", lambda x: float(np.var(x))),
        top=("singular_value", "max"),
        zero=("singular_value", lambda x: float(np.mean(x < 1e-6 * np.max(x)))),
    )
    per_input["spread"] = per_input["var_sq"] / per_input["mean_sq"] ** 2
    out = per_input.groupby(cols, sort=True).agg(
        spread=("spread", "mean"), mean_sq=("mean_sq", "mean"), zero_share=("zero", "mean")
    )
    out = out.reset_index()
    out["spread_theory"] = [
        _spread_theory(a, i, w, layer)
        for a, i, w, layer in zip(out["activation"], out["init"], out["width"], out["layer"], strict=True)
    ]
    return out


def _spread_theory(activation: str, init: str, width: int, layer: int) -> float:
    sig = init_sigmas(init, width)
    if sig is None or layer < 2:
        return 0.0 if sig is not None else math.nan
    mean, var = meanfield.jacobian_spectrum_moments(
        activation, sig[0], sig[1], int(layer) - 1, weights_kind(init)
    )
    return var / mean**2 if mean > 0 else math.nan


def spread_growth(spreads: pd.DataFrame) -> pd.DataFrame:
    """Per variant, the spread gained per layer between its shallowest and deepest Jacobian (``growth``).

    Free probability predicts spread = (l - 1)(mu_2 / mu_1^2 - 1 + s) at criticality (Pennington et al.
    2017): a constant gain per layer, 2 for ReLU with Gaussian weights and (mu_2 / mu_1^2 - 1) for
    orthogonal tanh, which goes to 0 with q*.
    """
    keys = ["study", "activation", "init", "width", "seed", "variant"]
    rows = []
    for key, g in spreads.groupby(keys, sort=True):
        g = g.sort_values("layer")
        if len(g) < 2:
            continue
        lo, hi = g.iloc[0], g.iloc[-1]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "growth": (hi["spread"] - lo["spread"]) / (hi["layer"] - lo["layer"]),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "growth"])
