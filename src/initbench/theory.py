"""Mean-field theory of signal propagation at initialisation, numpy only.

For a fully connected layer z_l = W_l h_{l-1} + b_l with h = f(z), i.i.d. zero-mean weights and
wide layers, the pre-activations are Gaussian and their variance obeys

    q_l = Var[z_l] = n_{l-1} Var[w_l] E[f(z_{l-1})^2] + Var[b_l],    z_{l-1} ~ N(0, q_{l-1})

(He et al. 2015, eq. 7 without the bias; Poole et al. 2016, eq. 3). Going backwards, the
gradient with respect to the pre-activations, g_l = dL/dz_l, obeys

    Var[g_l] = n_{l+1} Var[w_{l+1}] E[f'(z_l)^2] Var[g_{l+1}]      (He et al. 2015, eq. 13).

For ReLU the expectations are exact: E[relu(z)^2] = q/2 and E[relu'(z)^2] = 1/2. For any other
activation they are computed by Gauss-Hermite quadrature, E[g(z)] = pi^-1/2 sum_i w_i g(sqrt(2q) x_i)
(a fine trapezoid rule where z is so wide that the nodes miss the activation's curved part; composite
Gauss-Legendre split at z = 0 for softsign, whose derivative has a kink there).
``initbench.meanfield`` builds the order-to-chaos quantities (q*, c*, chi_1, xi_c) on these helpers.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from initbench import registry

QUADRATURE_POINTS = (
    101  # Gauss-Hermite nodes: relative error < 1e-4 for q <= WIDE_Q (checked against scipy.quad)
)
WIDE_Q = 3.0  # above this pre-activation variance, the trapezoid rule (see gaussian_rule)
WIDE_STEP = 0.01
PANEL_NODES = 10  # Gauss-Legendre nodes per panel of kinked_gaussian_rule: ~1e-10 for tanh and softsign


def _sech2(z):
    """tanh'(z) = sech^2(z) = 4 e^{-2|z|} / (1 + e^{-2|z|})^2, accurate where 1 - tanh^2 rounds to 0."""
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


_F = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),  # = 1 / (1 + e^-z), without overflow
    "softsign": lambda z: z / (1.0 + np.abs(z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
}
_DF = {
    "tanh": _sech2,
    "sigmoid": lambda z: _F["sigmoid"](z) * (1.0 - _F["sigmoid"](z)),
    "softsign": lambda z: 1.0 / (1.0 + np.abs(z)) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "identity": lambda z: np.ones_like(z),
}
ACTIVATIONS = tuple(_F)
# f' jumps at z = 0: polynomial rules converge slowly there (Gauss-Hermite had E[softsign'(z)^2] 6-28% off
# for q in [0.5, 3]), so these activations' expectations use kinked_gaussian_rule, whose panels end at 0.
KINKED = ("softsign",)


def _check(activation: str) -> None:
    if activation not in _F:
        raise ValueError(f"no theory for activation {activation!r}; known: {', '.join(ACTIVATIONS)}")


@functools.cache
def _hermgauss(points: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.hermite.hermgauss(points)


@functools.cache
def _leggauss(points: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(points)


def gaussian_rule(
    q: float, points: int = QUADRATURE_POINTS, step: float = WIDE_STEP
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z_i and weights w_i with E[g(z)] ~= sum_i w_i g(z_i) for z ~ N(0, q).

    Gauss-Hermite, E[g(z)] = pi^-1/2 sum_i w_i g(sqrt(2q) x_i), for q <= ``WIDE_Q``. Above it too few
    nodes fall where tanh' lives (|z| < ~3): E[tanh'(z)^2] would be off by a third at q = 33. There a
    trapezoid rule on a grid of ``step`` in z over +-10 sd takes over; it converges geometrically for
    smooth integrands. q = 0 gives the single node z = 0.
    """
    q = max(float(q), 0.0)
    if q <= WIDE_Q:
        x, w = _hermgauss(points)
        return math.sqrt(2.0 * q) * x, w / math.sqrt(math.pi)
    half = 10.0 * math.sqrt(q)
    z = np.linspace(-half, half, int(2 * half / step) + 1)
    w = np.exp(-0.5 * z * z / q) * ((z[1] - z[0]) / math.sqrt(2.0 * math.pi * q))
    w[[0, -1]] *= 0.5  # the trapezoid rule's end points
    return z, w


def kinked_gaussian_rule(q: float, kink=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for z ~ N(0, q) and an integrand smooth everywhere but at z = ``kink``.

    Composite Gauss-Legendre over +-10 sd, in panels that end at the kink (so each panel sees a smooth
    integrand and converges geometrically), each at most 2 min(1, sd) wide: the activations bend on a
    scale of 1 in z, the density on one of sd. ``kink`` may be an array; the rules then stack along the
    leading axes, one row of nodes per kink. q = 0 gives the single node z = 0.
    """
    kink = np.asarray(kink, dtype=float)[..., None]
    sd = math.sqrt(max(float(q), 0.0))
    if sd == 0.0:
        return np.zeros(kink.shape), np.ones(kink.shape)
    half = 10.0 * sd
    panels = math.ceil(10.0 * sd / min(1.0, sd))  # per side: a side spans at most 20 sd
    x, w = _leggauss(PANEL_NODES)
    frac = ((np.arange(panels)[:, None] + 0.5 * (x + 1.0)) / panels).ravel()  # nodes on [0, 1]
    wfrac = np.tile(w / (2.0 * panels), panels)
    t = np.clip(kink, -half, half)
    z = np.concatenate([-half + (t + half) * frac, t + (half - t) * frac], axis=-1)
    wz = np.concatenate([(t + half) * wfrac, (half - t) * wfrac], axis=-1)
    return z, wz * np.exp(-0.5 * z * z / q) / math.sqrt(2.0 * math.pi * q)


def gaussian_expectation(g, q: float, points: int = QUADRATURE_POINTS, kinked: bool = False) -> float:
    """E[g(z)] for z ~ N(0, q): ``gaussian_rule``, or ``kinked_gaussian_rule`` where g has a kink at 0."""
    z, w = kinked_gaussian_rule(q) if kinked else gaussian_rule(q, points)
    return float(np.sum(w * g(z)))


def activation_functions(activation: str):
    """The activation f and its derivative f' as numpy functions, for the names in ``ACTIVATIONS``."""
    _check(activation)
    return _F[activation], _DF[activation]


def second_moment(activation: str, q: float) -> float:
    """E[f(z)^2] for z ~ N(0, q); exact for ReLU (q/2) and identity (q)."""
    _check(activation)
    if activation == "relu":
        return q / 2.0
    if activation == "identity":
        return q
    f = _F[activation]
    return gaussian_expectation(lambda z: f(z) ** 2, q, kinked=activation in KINKED)


def mean(activation: str, q: float) -> float:
    """E[f(z)] for z ~ N(0, q); exact for ReLU (sqrt(q / 2 pi))."""
    _check(activation)
    if activation == "relu":
        return math.sqrt(max(q, 0.0) / (2.0 * math.pi))
    return gaussian_expectation(_F[activation], q, kinked=activation in KINKED)


def derivative_second_moment(activation: str, q: float) -> float:
    """E[f'(z)^2] for z ~ N(0, q); exact for ReLU (1/2) and identity (1)."""
    _check(activation)
    if activation == "relu":
        return 0.5
    if activation == "identity":
        return 1.0
    df = _DF[activation]
    return gaussian_expectation(lambda z: df(z) ** 2, q, kinked=activation in KINKED)


def activation_std(activation: str, q: float) -> float:
    """Standard deviation of f(z) for z ~ N(0, q)."""
    return math.sqrt(max(second_moment(activation, q) - mean(activation, q) ** 2, 0.0))


def preactivation_variance(activation: str, std: float) -> float:
    """Invert ``activation_std``: the q whose f(z), z ~ N(0, q), has standard deviation ``std``.

    Used to start the recurrence from a measured first layer. Exact for ReLU and identity,
    bisection on log q otherwise (std of f(z) grows monotonically with q for these activations).
    """
    _check(activation)
    if activation == "relu":
        return std**2 / (0.5 - 1.0 / (2.0 * math.pi))
    if activation == "identity":
        return std**2
    lo, hi = -30.0, 30.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if activation_std(activation, math.exp(mid)) < std else (lo, mid)
    return math.exp(0.5 * (lo + hi))


def layer_variances(
    init: str, fan_in: int, fan_out: int, bias: str | None = None
) -> tuple[float, float] | None:
    """(Var W, Var b) of a layer under an init spec, from its record (``registry``); None where the
    theory does not apply: the record gives no variance formula (e.g. ``ones``, ``lsuv``, a
    non-centred ``uniform(a,b)``, or a plugin that declares none; its ``no_theory`` says why).
    ``bias`` is a study's override of the bias policy ("default" or "zero"), if any.
    """
    rec, args = registry.bind(init)
    var = rec.variances(fan_in, fan_out, args)
    if var is None or bias in (None, "scheme"):
        return var
    return var[0], (1.0 / (3.0 * fan_in) if bias == "default" else 0.0)


def weight_variance(init: str, fan_in: int, fan_out: int) -> float | None:
    """Var[w] of an init spec for a layer of the given fans; None where the theory does not apply."""
    var = layer_variances(init, fan_in, fan_out)
    return None if var is None else var[0]


def bias_variance(init: str, fan_in: int, fan_out: int | None = None, bias: str | None = None) -> float:
    """Var[b] under the init's bias policy (or the study's override ``bias``): nn.Linear's
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) gives 1/(3 fan_in), zero gives 0, and an init that draws
    its own bias the variance its record gives (0 if it gives none)."""
    policy = registry.bias_policy(init, bias)
    if policy == "default":
        return 1.0 / (3.0 * fan_in)
    if policy == "zero":
        return 0.0
    rec, args = registry.bind(init)
    var = (
        rec.bias_variance(fan_in, fan_in if fan_out is None else fan_out, *args)
        if rec.bias_variance
        else None
    )
    return 0.0 if var is None else float(var)


def forward_variances(activation: str, q1: float, var_w, var_b, fan_in) -> np.ndarray:
    """Pre-activation variances q_1..q_L of the hidden layers, starting from q_1.

    ``var_w[k]``, ``var_b[k]`` and ``fan_in[k]`` describe hidden layer k + 2 (the layers after the first).
    """
    q = [float(q1)]
    for vw, vb, n in zip(var_w, var_b, fan_in, strict=True):
        q.append(n * vw * second_moment(activation, q[-1]) + vb)
    return np.asarray(q)


def backward_ratios(activation: str, q, var_w, fan_out) -> np.ndarray:
    """Var[g_l] / Var[g_L] for the hidden layers l = 1..L, with g_l = dL/dz_l and L the last hidden layer.

    ``q`` are the layers' pre-activation variances; ``var_w[k]`` and ``fan_out[k]`` describe the
    weights of hidden layer k + 2, which carry the gradient from layer k + 2 back to layer k + 1.
    """
    r = [1.0]
    for ql, vw, n in zip(q[-2::-1], var_w[::-1], fan_out[::-1], strict=True):
        r.append(r[-1] * n * vw * derivative_second_moment(activation, ql))
    return np.asarray(r[::-1])


def fan_in_saturation(n_in, w: float = 1.0, a: float = 0.5) -> np.ndarray:
    """The lecture's example: tanh'(z) at z = n_in * w * a, inputs a and weights w all equal."""
    return _sech2(np.asarray(n_in, dtype=float) * w * a)


def predict(activation: str, init: str, units, first_act_std: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-hidden-layer activation std and gradient std relative to the last hidden layer.

    ``units`` are the hidden layers' widths; the recurrence starts from the measured activation std
    of hidden layer 1 (its fan-in and the data's scale then need not be known). None where the
    theory does not apply (see ``weight_variance``) or the activation has no formula here.
    """
    units = [int(u) for u in units]
    fan_in, fan_out = units[:-1], units[1:]
    var = [layer_variances(init, i, o) for i, o in zip(fan_in, fan_out, strict=True)]
    if activation not in ACTIVATIONS or any(v is None for v in var):
        return None
    var_w, var_b = [v[0] for v in var], [v[1] for v in var]
    q = forward_variances(activation, preactivation_variance(activation, first_act_std), var_w, var_b, fan_in)
    std = np.array([activation_std(activation, qi) for qi in q])
    return std, np.sqrt(backward_ratios(activation, q, var_w, fan_out))
