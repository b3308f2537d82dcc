"""The order-to-chaos theory of deep random networks: q*, c*, chi_1, chi_c and the depth scales, numpy only.

A fully connected net z^l = W^l f(z^{l-1}) + b^l with W_ij ~ N(0, var_w / fan_in) and b_i ~ N(0, var_b), at
infinite width; ``var_w`` is sigma_w^2 and ``var_b`` is sigma_b^2 throughout. u ~ N(0, q) and z ~ N(0, 1).

- Length map (Poole et al. 2016, eq. 3): q^l = var_w E[f(sqrt(q^{l-1}) z)^2] + var_b. Its attracting fixed
  point is q*.
- Correlation map (Poole et al. 2016): two inputs of equal length q with correlation c go to
  c^l = (var_w E[f(u1) f(u2)] + var_b) / q^l, with u1, u2 ~ N(0, q) of correlation c. Its stable fixed point
  is c*; c = 1 is always fixed.
- chi_1 = var_w E[f'(sqrt(q*) z)^2] (Poole et al. 2016): the correlation map's slope at c = 1 and the
  per-layer factor of the squared gradient (He et al. 2015, eq. 13). chi_1 < 1 is the ordered phase (c* = 1),
  chi_1 > 1 the chaotic one (c* < 1), chi_1 = 1 the edge of chaos.
- chi_c = var_w E[f'(u1) f'(u2)] at (q*, c*) (Schoenholz et al. 2017), the map's slope at c*; chi_c = chi_1
  wherever c* = 1. chi_q = chi_1 + var_w E[f f''] is the length map's slope at q* (Schoenholz et al. 2017),
  computed here as var_w E[u f(u) f'(u)] / q* (Stein's lemma, so f'' is never needed).
- Depth scales (Schoenholz et al. 2017): |c^l - c*| ~ exp(-l / xi_c) with xi_c = -1 / ln chi_c, and
  |q^l - q*| ~ exp(-l / xi_q) with xi_q = -1 / ln chi_q. xi_c diverges at the edge of chaos.

Conventions where the maps have no finite attracting fixed point (never a NaN):
- relu and identity: the length map is q -> s q + var_b with s = var_w / 2 (relu) or var_w (identity), so
  q* = var_b / (1 - s) for s < 1; q* = math.inf for s > 1, and for s = 1 with var_b > 0 (q grows without
  bound); for s = 1 and var_b = 0 every q is fixed, and q* is the starting length ``q0``. chi_1 = s at any q.
  Where q* = inf: c* = 1, chi_c = chi_1, xi_q = xi_c = inf (the limiting correlation map, c -> c for
  identity and the arc-cosine map for relu, has slope 1 at c = 1: correlations converge, if at all, more
  slowly than any exponential).
- tanh and softsign with var_b = 0 and var_w <= 1 (var_w f'(0)^2 <= 1): q* = 0, the signal dies out. All
  quantities take their q -> 0 limits: chi_1 = chi_c = chi_q = var_w, c* = 1. (At q = 0 the correlation map
  itself is 0/0; its limit is c -> c, as the net is linear for small signals: chi_c then measures how fast
  the signal's length, not its direction, decays.) tanh at var_b = 0 is critical at var_w = 1 exactly.
- A depth scale is math.inf where its chi >= 1 (at and beyond criticality when c* = 1) and 0 where chi = 0.
- The critical var_w (chi_1 = 1) is 2 for relu and 1 for identity whatever var_b, although no finite q*
  exists there for var_b > 0 (Pennington et al. 2017: relu's only critical point is (2, 0)); math.inf
  where chi_1 < 1 for every var_w.

Numerics: the 1-D expectations are initbench.theory's (Gauss-Hermite, a trapezoid rule for wide q, exact
ReLU moments, split Gauss-Legendre for softsign); the 2-D ones go through ``bivariate_expectation``.
Fixed points come from bracketed root finds (Illinois), not iteration, so they converge at criticality too.

Usage::

    from initbench import meanfield
    p = meanfield.fixed_point("tanh", 1.5, 0.05)      # p.q_star, p.c_star, p.chi1, p.chi_c, p.xi_q, p.xi_c
    meanfield.critical_weight_variance("tanh", 0.05)   # var_w on the edge of chaos
    meanfield.chi1_map("tanh", var_w[None, :], var_b[:, None])   # Poole et al. 2016, Fig. 2
    meanfield.xi_c_curve("tanh", np.linspace(1, 4, 61), 0.05)    # Schoenholz et al. 2017's 6 xi_c line
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from initbench import theory

ACTIVATIONS = theory.ACTIVATIONS
_SLOPE = {"relu": 0.5, "identity": 1.0}  # linear length maps: q -> var_w * slope * q + var_b
_XTOL = 1e-13


class FixedPoint(NamedTuple):
    """The mean-field state of one (activation, var_w, var_b); see the module docstring for conventions."""

    q_star: float
    c_star: float
    chi1: float
    chi_c: float
    xi_q: float
    xi_c: float


def bivariate_expectation(g1, g2, q: float, c: float) -> float:
    """E[g1(u1) g2(u2)] for u1, u2 ~ N(0, q) with correlation c, g1 and g2 smooth but for kinks at 0.

    u2 = c u1 + v with v ~ N(0, q (1 - c^2)) independent of u1 (Poole et al. 2016's z1, z2 parameterisation).
    Both integrals use composite Gauss-Legendre panels that end at the kinks (u1 = 0, and u2 = 0, i.e.
    v = -c u1), so relu-like and softsign-like integrands converge as fast as smooth ones, at any q.
    """
    u1, w1 = theory.kinked_gaussian_rule(q)
    v, wv = theory.kinked_gaussian_rule(q * max(1.0 - c * c, 0.0), -c * u1)
    inner = np.sum(wv * g2(c * u1[:, None] + v), axis=1)
    return float(np.sum(w1 * g1(u1) * inner))


def _arccos_kernel(c: float) -> float:
    """E[relu(u1) relu(u2)] / q = (sqrt(1 - c^2) + (pi - arccos c) c) / (2 pi) (Cho & Saul 2009)."""
    c = min(max(c, -1.0), 1.0)
    return (math.sqrt(1.0 - c * c) + (math.pi - math.acos(c)) * c) / (2.0 * math.pi)


# cached: the correlation map's normaliser, _cross(q, 1), recurs in every step of c*'s root find
@functools.lru_cache(maxsize=4096)
def _cross(activation: str, q: float, c: float) -> float:
    """E[f(u1) f(u2)]: exact for relu and identity."""
    if activation == "relu":
        return q * _arccos_kernel(c)
    if activation == "identity":
        return q * c
    f, _ = theory.activation_functions(activation)
    return bivariate_expectation(f, f, q, c)


def _cross_derivative(activation: str, q: float, c: float) -> float:
    """E[f'(u1) f'(u2)]: exact for relu (P(u1 > 0, u2 > 0) = (pi - arccos c) / (2 pi)) and identity."""
    if activation == "relu":
        return (math.pi - math.acos(min(max(c, -1.0), 1.0))) / (2.0 * math.pi)
    if activation == "identity":
        return 1.0
    _, df = theory.activation_functions(activation)
    return bivariate_expectation(df, df, q, c)


def length_map(activation: str, q: float, var_w: float, var_b: float) -> float:
    """q^l from q^{l-1} (Poole et al. 2016, eq. 3): var_w E[f(sqrt(q) z)^2] + var_b."""
    return var_w * theory.second_moment(activation, q) + var_b


def length_map_slope(activation: str, q: float, var_w: float) -> float:
    """d q^l / d q^{l-1} at q: var_w E[u f(u) f'(u)] / q (Stein's lemma), var_w f'(0)^2 (+ 0) at q = 0 for odd f."""
    theory.activation_functions(activation)  # checks the name
    if activation in _SLOPE:
        return var_w * _SLOPE[activation]
    f, df = theory.activation_functions(activation)
    if q <= 0.0:  # the limit var_w (f'(0)^2 + f(0) f''(0)); f(0) = 0 wherever q* = 0 can occur
        return var_w * float(df(np.zeros(1))[0] ** 2)
    kinked = activation in theory.KINKED
    return var_w * theory.gaussian_expectation(lambda u: u * f(u) * df(u), q, kinked=kinked) / q


def correlation_map(activation: str, c: float, var_w: float, var_b: float, q: float | None = None) -> float:
    """c^l from c^{l-1} for two inputs of length q (default q*), normalised by the new length q^l.

    The new length is evaluated by the same quadrature as the cross term, so c = 1 maps to 1 to rounding.
    Where q^l = 0 (odd f, var_b = 0, q = 0) the q -> 0 limit: c (the net is linear) or relu's arc-cosine
    map; q = inf (relu, identity beyond criticality) gives the same limits.
    """
    if q is None:
        q = fixed_point_q(activation, var_w, var_b)
    limit = 2.0 * _arccos_kernel(c) if activation == "relu" else c
    if math.isinf(q):
        if activation not in _SLOPE:
            raise ValueError(f"q must be finite for {activation}, got {q}")
        return limit
    new = var_w * _cross(activation, q, 1.0) + var_b
    if new == 0.0:
        return limit
    return (var_w * _cross(activation, q, c) + var_b) / new


def _root(f, a: float, b: float, xtol: float = _XTOL) -> float:
    """A root of f in [a, b], where f(a) and f(b) differ in sign: the Illinois variant of regula falsi."""
    fa, fb = f(a), f(b)
    if fa == 0.0 or fb == 0.0:
        return a if fa == 0.0 else b
    if (fa > 0) == (fb > 0):
        raise ValueError(f"no sign change of f on [{a}, {b}]")
    for _ in range(200):
        x = b - fb * (b - a) / (fb - fa)
        fx = f(x)
        if fx == 0.0:
            return x
        if (fx > 0) != (fb > 0):
            a, fa = b, fb
        else:
            fa *= 0.5  # the retained end's value is halved, so it cannot stall (the Illinois step)
        b, fb = x, fx
        if abs(b - a) <= xtol * (1.0 + abs(b)):
            break
    return b


def fixed_point_q(activation: str, var_w: float, var_b: float, q0: float = 1.0) -> float:
    """q*, the fixed point the length map reaches from q^0 = ``q0`` (the same from every q0 > 0 but in the
    marginal relu (2, 0) and identity (1, 0) cases); 0 or math.inf where it has no positive finite one."""
    theory.activation_functions(activation)  # checks the name
    if activation in _SLOPE:
        s = var_w * _SLOPE[activation]
        if s < 1.0:
            return var_b / (1.0 - s)
        return float(q0) if s == 1.0 and var_b == 0.0 else math.inf

    def excess(q):
        return length_map(activation, q, var_w, var_b) - q

    # f is bounded by 1, so V(q) <= var_w + var_b = hi, and V is increasing: a single attracting root in [0, hi]
    hi = var_w + var_b
    if excess(0.0) > 0.0:
        return _root(excess, 0.0, hi)
    if length_map_slope(activation, 0.0, var_w) <= 1.0:
        return 0.0  # q = 0 is attracting (Poole et al. 2016: tanh with var_b = 0 and var_w <= 1)
    lo = hi
    while excess(lo) <= 0.0:  # q = 0 repels: some small q > 0 grows
        lo *= 0.5
        if lo < 1e-300:
            return 0.0
    return _root(excess, lo, hi)


def _fixed_point_c(activation: str, var_w: float, var_b: float, q: float, chi1: float) -> float:
    """c*: 1 where chi_1 <= 1 or q* = inf; else the root of C(c) - c in [0, 1).

    C(0) - 0 = (var_w E[f]^2 + var_b) / q* >= 0, and C(c) - c < 0 just below c = 1 where the slope chi_1 > 1.
    """
    if chi1 <= 1.0 or math.isinf(q) or q == 0.0:
        return 1.0

    @functools.cache  # the bracket search and the root find revisit their end points
    def excess(c):
        return correlation_map(activation, c, var_w, var_b, q) - c

    delta = 0.5
    while excess(1.0 - delta) >= 0.0:
        delta *= 0.5
        if delta < 1e-12:
            return 1.0  # chi_1 - 1 below what the quadrature resolves: critical to rounding
    if excess(0.0) <= 1e-14:  # odd f, var_b = 0: C(0) = 0 exactly, quadrature gives ~1e-17
        return 0.0
    return _root(excess, 0.0, 1.0 - delta)


def _depth_scale(chi: float) -> float:
    """-1 / ln chi (Schoenholz et al. 2017); inf for chi >= 1, 0 for chi <= 0."""
    if chi >= 1.0:
        return math.inf
    return 0.0 if chi <= 0.0 else -1.0 / math.log(chi)


def chi1(activation: str, var_w: float, var_b: float, q0: float = 1.0) -> float:
    """chi_1 = var_w E[f'(sqrt(q*) z)^2] (Poole et al. 2016); var_w / 2 for relu and var_w for identity at any q."""
    if activation in _SLOPE:
        theory.activation_functions(activation)  # checks the name
        return var_w * _SLOPE[activation]
    q = fixed_point_q(activation, var_w, var_b, q0)
    return var_w * theory.derivative_second_moment(activation, q)


@functools.lru_cache(maxsize=65536)
def fixed_point(activation: str, var_w: float, var_b: float, q0: float = 1.0) -> FixedPoint:
    """q*, c*, chi_1, chi_c, xi_q and xi_c of one (activation, var_w, var_b); conventions in the module docstring."""
    if var_w < 0.0 or var_b < 0.0:
        raise ValueError(f"variances must be >= 0, got var_w={var_w}, var_b={var_b}")
    q = fixed_point_q(activation, var_w, var_b, q0)
    x1 = chi1(activation, var_w, var_b, q0)
    c = _fixed_point_c(activation, var_w, var_b, q, x1)
    xc = x1 if c == 1.0 else var_w * _cross_derivative(activation, q, c)  # Schoenholz et al. 2017
    xq = 1.0 if math.isinf(q) else length_map_slope(activation, q, var_w)
    return FixedPoint(q, c, x1, xc, _depth_scale(xq), _depth_scale(xc))


def critical_weight_variance(activation: str, var_b: float) -> float:
    """The var_w with chi_1 = 1 at this var_b: the edge of chaos (Poole et al. 2016; Schoenholz et al. 2017).

    chi_1 grows with var_w; a bracket is doubled upwards from where chi_1 <= var_w max f'^2 < 1, then a root find.
    """
    theory.activation_functions(activation)  # checks the name
    if activation in _SLOPE:
        return 1.0 / _SLOPE[activation]
    _, df = theory.activation_functions(activation)
    lo = 0.5 / float(df(np.zeros(1))[0] ** 2)  # f' peaks at 0 for tanh, sigmoid and softsign

    def excess(var_w):
        return chi1(activation, var_w, var_b) - 1.0

    hi = 2.0 * lo
    while excess(hi) <= 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            return math.inf
    return _root(excess, lo, hi, xtol=1e-12)


def chi1_map(activation: str, var_w, var_b) -> np.ndarray:
    """chi_1 over broadcast arrays of var_w and var_b, without c* (Poole et al. 2016, Fig. 2: pass sigma_w**2)."""
    vw, vb = np.broadcast_arrays(np.asarray(var_w, dtype=float), np.asarray(var_b, dtype=float))
    flat = [chi1(activation, float(w), float(b)) for w, b in zip(vw.ravel(), vb.ravel(), strict=True)]
    return np.array(flat).reshape(vw.shape)


def xi_c_curve(activation: str, var_w, var_b: float) -> np.ndarray:
    """xi_c over an array of var_w at one var_b (Schoenholz et al. 2017 draw 6 xi_c on their depth x var_w map)."""
    vw = np.asarray(var_w, dtype=float)
    return np.array([fixed_point(activation, float(w), float(var_b)).xi_c for w in vw.ravel()]).reshape(
        vw.shape
    )


def jacobian_spectrum_moments(
    activation: str, var_w: float, var_b: float, depth: int, weights: str
) -> tuple[float, float]:
    """Mean and variance of the eigenvalues of J J^T (the squared singular values of J), J = prod_l D_l W_l over
    ``depth`` square layers at q* (D_l = diag f'(z^l)), by free probability (Pennington et al. 2017).

    The mean is chi_1^depth for any weights. Free factors add their normalised variances m2 / m1^2 - 1:
    mu_2 / mu_1^2 - 1 for each D_l^2, with mu_k = E[f'(sqrt(q*) z)^(2k)], and 1 for each Gaussian W W^T
    (Marchenko-Pastur, square) or 0 for an orthogonal one. So var = mean^2 depth (mu_2 / mu_1^2 - 1 + s),
    s = 1 (gaussian) or 0 (orthogonal); at chi_1 = 1 this is Pennington et al.'s
    sigma^2 = L (mu_2 / mu_1^2 - 1 - s_1), with s_1 = -1 for Gaussian and 0 for orthogonal weights.
    """
    spread = {"gaussian": 1.0, "orthogonal": 0.0}
    if weights not in spread:
        raise ValueError(f"weights must be one of {', '.join(spread)}, got {weights!r}")
    p = fixed_point(activation, float(var_w), float(var_b))
    if activation == "relu":
        ratio = 2.0  # f'^2 is 0 or 1 with probability 1/2 each: mu_1 = mu_2 = 1/2
    elif activation == "identity":
        ratio = 1.0
    else:
        _, df = theory.activation_functions(activation)
        kinked = activation in theory.KINKED
        mu1 = theory.gaussian_expectation(lambda u: df(u) ** 2, p.q_star, kinked=kinked)
        mu2 = theory.gaussian_expectation(lambda u: df(u) ** 4, p.q_star, kinked=kinked)
        ratio = mu2 / mu1**2
    mean = p.chi1**depth
    return mean, mean**2 * depth * (ratio - 1.0 + spread[weights])
