"""The variance recurrence: exact for ReLU, quadrature against Monte Carlo for tanh."""

import math

import numpy as np
import pytest

from initbench import theory


def test_relu_moments_are_exact():
    for q in (0.1, 1.0, 7.0):
        assert theory.second_moment("relu", q) == q / 2
        assert theory.mean("relu", q) == pytest.approx(math.sqrt(q / (2 * math.pi)))
        assert theory.derivative_second_moment("relu", q) == 0.5


def test_he_init_keeps_relu_variance_constant():
    n, depth = 256, 20
    var_w = [theory.weight_variance("he_uniform", n, n)] * (depth - 1)
    q = theory.forward_variances("relu", 1.7, var_w, [0.0] * (depth - 1), [n] * (depth - 1))
    assert q == pytest.approx(np.full(depth, 1.7))
    assert theory.backward_ratios("relu", q, var_w, [n] * (depth - 1)) == pytest.approx(np.ones(depth))


def test_xavier_halves_relu_variance_per_layer():
    # He et al. 2015: Xavier's Var[w] = 1/n is half of 2/n, so q shrinks by 2 per layer
    n = 100
    var_w = [theory.weight_variance("xavier_uniform", n, n)] * 4
    q = theory.forward_variances("relu", 1.0, var_w, [0.0] * 4, [n] * 4)
    assert q == pytest.approx([1, 0.5, 0.25, 0.125, 0.0625])


@pytest.mark.parametrize("q", [0.05, 1.0, 2.9, 6.0, 33.0])  # both Gauss-Hermite and the wide-z rule
def test_tanh_quadrature_matches_monte_carlo(q):
    z = np.random.default_rng(0).normal(0, math.sqrt(q), 2_000_000)
    for exact, samples in (
        (theory.second_moment("tanh", q), np.tanh(z) ** 2),
        (theory.derivative_second_moment("tanh", q), (1 - np.tanh(z) ** 2) ** 2),
    ):
        se = samples.std() / math.sqrt(samples.size)
        assert abs(exact - samples.mean()) < 5 * se


def test_preactivation_variance_inverts_activation_std():
    for act in ("tanh", "relu", "sigmoid"):
        for q in (0.2, 1.0, 3.0):
            assert theory.preactivation_variance(act, theory.activation_std(act, q)) == pytest.approx(
                q, rel=1e-6
            )


def test_weight_variance_of_the_init_formulas():
    assert theory.weight_variance("default", 100, 10) == pytest.approx(1 / 300)  # U(+-1/sqrt(n)): 1/(3n)
    assert theory.weight_variance("xavier_uniform", 100, 300) == pytest.approx(2 / 400)
    assert theory.weight_variance("he_uniform", 50, 10) == pytest.approx(2 / 50)
    assert theory.weight_variance("uniform(-1,1)", 5, 5) == pytest.approx(1 / 3)
    assert theory.weight_variance("uniform(0,1)", 5, 5) is None  # non-zero mean: no zero-mean theory
    assert theory.weight_variance("ones", 5, 5) is None
    assert theory.bias_variance("xavier_uniform", 10) == 0.0
    assert theory.bias_variance("default", 12) == pytest.approx(1 / 36)


def test_lecture_fan_in_example():
    # w = 1, a = 0.5: z = 1 for two inputs, and tanh'(1) = 1 - tanh(1)^2 = 0.41997
    assert theory.fan_in_saturation(2, 1.0, 0.5) == pytest.approx(0.419974, abs=1e-6)
    assert theory.fan_in_saturation(100, 1.0, 0.5) < 1e-40


def test_predict_starts_from_the_measured_first_layer():
    std, grad = theory.predict("tanh", "xavier_uniform", [64] * 6, 0.6)
    assert std[0] == pytest.approx(0.6, rel=1e-6)
    assert grad[-1] == 1.0 and np.all(np.diff(std) < 0)
    assert theory.predict("tanh", "uniform(0,1)", [64] * 3, 0.6) is None
