"""The order-to-chaos theory: exact points, an independent scipy check, and Monte Carlo through wide random nets."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from initbench import meanfield, theory

WIDTH, NETS, DEPTH, BATCH = 1000, 8, 4, 8  # Monte Carlo nets: width >= 1000, as the theory is for wide layers


def test_tanh_without_bias_is_critical_at_unit_weight_variance():
    # Poole et al. 2016: for odd f with f'(0) = 1 and var_b = 0, q* = 0 and chi_1 = var_w for var_w <= 1
    assert meanfield.critical_weight_variance("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)
    assert meanfield.critical_weight_variance("softsign", 0.0) == pytest.approx(1.0, abs=1e-6)
    at = meanfield.fixed_point("tanh", 1.0, 0.0)
    assert (at.q_star, at.c_star, at.chi1, at.chi_c, at.xi_c) == (0.0, 1.0, 1.0, 1.0, math.inf)
    below = meanfield.fixed_point("tanh", 0.8, 0.0)  # q* = 0: the limits q -> 0 (module docstring)
    assert (
        below.q_star == 0.0
        and below.chi1 == pytest.approx(0.8)
        and below.xi_c == pytest.approx(-1 / math.log(0.8))
    )
    above = meanfield.fixed_point("tanh", 1.2, 0.0)
    assert (
        above.q_star > 0 and above.chi1 > 1 and above.c_star == 0.0
    )  # odd f, no bias: inputs decorrelate fully


def test_he_init_is_exactly_critical_for_relu():
    assert meanfield.critical_weight_variance("relu", 0.0) == 2.0  # He et al. 2015's var_w = 2
    he = meanfield.fixed_point("relu", 2.0, 0.0)
    assert (he.chi1, he.c_star, he.xi_c) == (1.0, 1.0, math.inf)
    assert he.q_star == 1.0 and meanfield.fixed_point_q("relu", 2.0, 0.0, q0=3.0) == 3.0  # every q is fixed
    ordered = meanfield.fixed_point("relu", 1.5, 0.1)
    assert ordered.q_star == pytest.approx(0.1 / (1 - 0.75)) and ordered.chi1 == ordered.chi_c == 0.75
    for var_w, var_b in ((2.5, 0.0), (2.0, 0.1)):  # q grows without bound: no finite q*
        p = meanfield.fixed_point("relu", var_w, var_b)
        assert p.q_star == math.inf and p.chi1 == var_w / 2 and p.xi_c == p.xi_q == math.inf
    assert meanfield.fixed_point_q("identity", 0.5, 0.2) == pytest.approx(0.4)
    assert meanfield.fixed_point_q("identity", 1.5, 0.0) == math.inf


def _independent_critical_weight_variance(var_b):
    """The same edge of chaos with scipy's adaptive quadrature and brentq, for tanh."""

    def expect(g, q):
        pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        return integrate.quad(lambda z: g(math.sqrt(q) * z) * pdf(z), -12, 12, epsabs=1e-13, epsrel=1e-12)[0]

    def chi1(var_w):
        q = optimize.brentq(
            lambda q: var_w * expect(lambda u: math.tanh(u) ** 2, q) + var_b - q, 1e-9, var_w + var_b
        )
        return var_w * expect(lambda u: math.cosh(u) ** -4, q)

    return optimize.brentq(lambda v: chi1(v) - 1, 1.0, 4.0, xtol=1e-10)


def test_critical_weight_variance_of_schoenholz_setup():
    crit = meanfield.critical_weight_variance("tanh", 0.05)  # Schoenholz et al. 2017: tanh, var_b = 0.05
    print(f"critical sigma_w^2 for tanh at sigma_b^2 = 0.05: {crit:.3f}")
    assert meanfield.fixed_point("tanh", crit, 0.05).chi1 == pytest.approx(1.0, abs=1e-9)
    assert crit == pytest.approx(_independent_critical_weight_variance(0.05), abs=1e-6)


def test_xi_c_diverges_at_the_edge_of_chaos():
    crit = meanfield.critical_weight_variance("tanh", 0.05)
    for side in (-1, 1):  # ordered side (chi_c = chi_1 -> 1) and chaotic side (c* -> 1, chi_c -> 1)
        xi = [meanfield.fixed_point("tanh", crit + side * d, 0.05).xi_c for d in (0.3, 0.03, 0.003)]
        assert xi[0] < xi[1] < xi[2] and xi[2] > 100
        assert xi[2] / xi[1] > 5  # ~1/|var_w - crit|: a tenth of the distance, ~10x the depth scale


def test_ordered_phase_has_c_star_one_and_chaotic_phase_below():
    for act, var_w, var_b in (
        ("tanh", 1.2, 0.05),
        ("sigmoid", 4.0, 0.1),
        ("softsign", 2.0, 0.05),
        ("relu", 1.0, 0.2),
    ):
        p = meanfield.fixed_point(act, var_w, var_b)
        assert p.chi1 < 1 and p.c_star == 1.0 and p.chi_c == p.chi1
        slope = (
            1 - meanfield.correlation_map(act, 1 - 1e-5, var_w, var_b)
        ) / 1e-5  # the map's slope at c = 1
        assert slope == pytest.approx(p.chi1, rel=1e-3)
    for act, var_w, var_b in (
        ("tanh", 3.0, 0.05),
        ("softsign", 5.0, 0.05),
    ):  # sigmoid: chaotic only for var_w > 100
        p = meanfield.fixed_point(act, var_w, var_b)
        assert p.chi1 > 1 and 0 < p.c_star < 1 and p.chi_c < 1 and math.isfinite(p.xi_c)
        assert meanfield.correlation_map(act, p.c_star, var_w, var_b) == pytest.approx(p.c_star, abs=1e-9)
        h = 1e-4  # chi_c is the correlation map's slope at c* (Schoenholz et al. 2017)
        up, down = (meanfield.correlation_map(act, p.c_star + s * h, var_w, var_b) for s in (1, -1))
        assert (up - down) / (2 * h) == pytest.approx(p.chi_c, rel=1e-5)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softsign"])
def test_q_star_attracts_from_any_start(act):
    for var_w, var_b in ((0.5, 0.3), (2.5, 0.05), (4.0, 0.5)):
        q_star = meanfield.fixed_point_q(act, var_w, var_b)
        for q in (1e-3, 1.0, 30.0):
            for _ in range(400):
                q = meanfield.length_map(act, q, var_w, var_b)
            assert q == pytest.approx(q_star, rel=1e-8)


def test_bivariate_expectation_matches_closed_forms():
    for q in (0.01, 1.0, 3.0, 12.0):  # narrow and wide, where Gauss-Hermite would miss the curvature
        for c in (-0.95, 0.0, 0.6, 0.999, 1.0):
            erf = meanfield.bivariate_expectation(special.erf, special.erf, q, c)  # Williams 1997
            assert erf == pytest.approx(2 / math.pi * math.asin(2 * q * c / (1 + 2 * q)), abs=1e-12)
            relu = meanfield.bivariate_expectation(
                lambda u: np.maximum(u, 0), lambda u: np.maximum(u, 0), q, c
            )
            kernel = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / (2 * math.pi)  # Cho & Saul 2009
            assert relu == pytest.approx(q * kernel, rel=1e-6)


def test_softsign_moments_match_monte_carlo():
    # Gauss-Hermite had E[softsign'(z)^2] 6-28% off (its kink at 0); theory now splits the rule there
    z = np.random.default_rng(1).normal(0, 1, 2_000_000)
    for q in (0.5, 2.0, 6.0):
        d = 1 / (1 + np.abs(math.sqrt(q) * z)) ** 4
        assert abs(theory.derivative_second_moment("softsign", q) - d.mean()) < 5 * d.std() / math.sqrt(
            z.size
        )


@pytest.mark.parametrize("act", theory.ACTIVATIONS)
def test_no_nan_on_the_grid(act):
    for var_w in (0.1, 1.0, 2.0, 2.5, 5.0):
        for var_b in (0.0, 0.05, 0.5):
            p = meanfield.fixed_point(act, var_w, var_b)
            assert not any(math.isnan(v) for v in p), (act, var_w, var_b, p)
            assert p.chi1 > 0 and 0 <= p.c_star <= 1 and p.xi_c >= 0 and p.xi_q >= 0
            assert math.isfinite(p.q_star) or act in ("relu", "identity")
    assert not np.isnan(
        meanfield.chi1_map(act, np.linspace(0.1, 5, 4)[None, :], np.array([0.0, 0.5])[:, None])
    ).any()


def test_maps_over_grids_agree_with_the_pointwise_values():
    var_w, var_b = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.1])
    grid = meanfield.chi1_map("tanh", var_w[None, :], var_b[:, None])
    assert grid.shape == (2, 3) and grid[1, 2] == meanfield.fixed_point("tanh", 3.0, 0.1).chi1
    assert meanfield.chi1_map("relu", var_w, 0.3) == pytest.approx(var_w / 2)
    xi = meanfield.xi_c_curve("tanh", var_w, 0.05)
    assert xi.shape == (3,) and xi[1] == meanfield.fixed_point("tanh", 2.0, 0.05).xi_c


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="known: tanh"):
        meanfield.fixed_point("swish", 1.0, 0.0)
    with pytest.raises(ValueError, match="variances must be >= 0"):
        meanfield.fixed_point("tanh", -1.0, 0.0)
    with pytest.raises(ValueError, match="gaussian, orthogonal"):
        meanfield.jacobian_spectrum_moments("tanh", 1.0, 0.0, 3, "uniform")


@pytest.fixture(scope="module")
def gaussians():
    """Standard normal weight matrices, shared by the Monte Carlo tests (each scales them to its var_w)."""
    rng = np.random.default_rng(2017)
    return rng.standard_normal((NETS, DEPTH, WIDTH, WIDTH), dtype=np.float32), rng


def _inputs(rng, batch, mean_square, c0):
    """batch inputs of exactly this mean square and pairwise correlation c0 (orthonormal parts)."""
    e = np.linalg.qr(rng.standard_normal((WIDTH, batch + 1)))[0].T * math.sqrt(WIDTH)
    return (math.sqrt(c0) * e[0] + math.sqrt(1 - c0) * e[1:]) * math.sqrt(mean_square)


@pytest.mark.parametrize(
    "act, var_w, var_b",
    [
        ("tanh", 2.5, 0.05),
        ("tanh", 1.3, 0.05),
        ("softsign", 4.0, 0.05),
        ("sigmoid", 4.0, 0.1),
        ("relu", 1.6, 0.1),
    ],
)
def test_monte_carlo_through_wide_random_nets(gaussians, act, var_w, var_b):
    """q^l, the correlation map and chi_1 measured in NETS random nets of width 1000 against the theory.

    Tolerance: 6 standard errors of the mean over the NETS independent nets (t with 7 dof: p ~ 5e-4). The
    sampling error at this width is what sets it: one net's q^l is a mean of 1000 squared Gaussians, relative
    sd sqrt(2/1000) = 4.5% (plus what earlier layers pass on), its correlation has sd ~ (1 - c^2)/sqrt(1000),
    and its gradient ratio ~ sqrt(2 mu_2 / mu_1^2 / 1000). Averaging BATCH inputs helps where they decorrelate;
    relu's q is the noisiest (E[relu^4] / E[relu^2]^2 = 6: 7% a layer, ~5% SE after 4 layers). We check the
    standard errors are that small (< 6% + 0.01), so the test keeps its power. Finite-width bias is O(1/1000).
    """
    weights, rng = gaussians
    f, df = theory.activation_functions(act)
    p = meanfield.fixed_point(act, var_w, var_b)
    start, c0 = (
        2.0,
        0.5,
    )  # away from q* and c*, so the maps' trajectories are tested, not just their fixed points
    x = np.vstack([_inputs(rng, BATCH, start, c0), _inputs(rng, BATCH, (p.q_star - var_b) / var_w, 0.0)])
    pair = np.triu_indices(BATCH, 1)
    q_hat, c_hat, chi_hat = [], [], []
    for net in weights:  # float32, as in training: its rounding (1e-7) is far below the sampling error
        h, zs, ws = x.astype(np.float32), [], []
        for g in net:
            w = g * np.float32(math.sqrt(var_w / WIDTH))
            z = h @ w + rng.normal(0, math.sqrt(var_b), WIDTH).astype(np.float32)
            zs, ws, h = zs + [z], ws + [w], f(z)
        zz = np.array([z[:BATCH] @ z[:BATCH].T for z in zs], dtype=float) / WIDTH  # (layer, input, input)
        q = np.diagonal(zz, axis1=1, axis2=2)
        q_hat.append(q.mean(axis=1))
        c_hat.append((zz[:, pair[0], pair[1]] / np.sqrt(q[:, pair[0]] * q[:, pair[1]])).mean(axis=1))
        grad = rng.standard_normal((BATCH, WIDTH), dtype=np.float32)  # dL/dz at the last layer, inputs at q*
        ratios = []
        for z, w in zip(
            zs[-2::-1], ws[:0:-1], strict=True
        ):  # He et al. 2015, eq. 13: g^l = f'(z^l) * (W^{l+1} g^{l+1})
            new = df(z[BATCH:]) * (grad @ w.T)
            ratios.append((new.astype(float) ** 2).sum(axis=1) / (grad.astype(float) ** 2).sum(axis=1))
            grad = new
        chi_hat.append(np.mean(ratios))
    q_th, c_th = [var_w * start + var_b], [(var_w * start * c0 + var_b) / (var_w * start + var_b)]
    for _ in range(DEPTH - 1):
        c_th.append(meanfield.correlation_map(act, c_th[-1], var_w, var_b, q_th[-1]))
        q_th.append(meanfield.length_map(act, q_th[-1], var_w, var_b))
    for measured, theory_value, name in ((q_hat, q_th, "q"), (c_hat, c_th, "c"), (chi_hat, p.chi1, "chi_1")):
        measured = np.asarray(measured)
        mean, se = measured.mean(axis=0), measured.std(axis=0, ddof=1) / math.sqrt(NETS)
        print(act, var_w, var_b, name, np.round(mean, 4), np.round(theory_value, 4), "se", np.round(se, 4))
        assert np.all(se < 0.06 * np.abs(theory_value) + 0.01), name
        assert np.all(np.abs(mean - theory_value) < 6 * se), name


@pytest.mark.parametrize("act, var_b", [("tanh", 0.05), ("relu", 0.0)])
def test_jacobian_spectrum_at_criticality(act, var_b):
    """Pennington et al. 2017: at chi_1 = 1 the mean squared singular value is 1 for both weight laws; the
    spread (normalised variance) is depth (mu_2/mu_1^2 - 1 + 1) for Gaussian and depth (mu_2/mu_1^2 - 1)
    for orthogonal weights. One 400 x 400 Jacobian: over 8 seeds its m1 had sd 4-7% and its normalised
    variance 2-4% (and a bias of up to 3%: free independence holds up to O(1/400)); we allow 25% and 15%."""
    n, depth, rng = 400, 4, np.random.default_rng(3)
    f, df = theory.activation_functions(act)
    var_w = meanfield.critical_weight_variance(act, var_b)
    q_star = meanfield.fixed_point_q(act, var_w, var_b)
    for law in ("gaussian", "orthogonal"):
        mean, var = meanfield.jacobian_spectrum_moments(act, var_w, var_b, depth, law)
        h = rng.standard_normal(n) * math.sqrt(q_star)  # pre-activations of layer 0 at q*
        jac = np.eye(n)
        for _ in range(depth):
            g = rng.standard_normal((n, n))
            w = np.linalg.qr(g)[0] * math.sqrt(var_w) if law == "orthogonal" else g * math.sqrt(var_w / n)
            h = w @ f(h) + rng.normal(0, math.sqrt(var_b), n)
            jac = df(h)[:, None] * (w @ jac)
        jjt = jac @ jac.T  # the eigenvalues' moments are traces: m1 = tr(JJ^T)/n, m2 = tr((JJ^T)^2)/n
        m1, m2 = np.trace(jjt) / n, np.sum(jjt * jjt) / n
        assert mean == pytest.approx(1.0, abs=1e-9)
        assert m1 == pytest.approx(mean, rel=0.25)
        assert m2 / m1**2 - 1 == pytest.approx(var / mean**2, rel=0.15)
