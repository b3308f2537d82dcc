"""The initializer registry: names, bias policies, measured std against each formula, lab faithfulness."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initbench import inits, names
from initbench.models import MLPSpec, build_module, linear_layers

# A wide, non-square layer (fan_in 3000 != fan_out 1000) so that e.g. Xavier and He differ.
FAN_IN, FAN_OUT = 3000, 1000
SIZES = [FAN_IN, FAN_OUT, 10]

# The std of W each formula predicts for the (FAN_OUT, FAN_IN) layer.
EXPECTED_STD = {
    "default": 1 / math.sqrt(3 * FAN_IN),  # U(+-1/sqrt(fan_in))
    "uniform(-1,1)": 2 / math.sqrt(12),
    "uniform(0,1)": 1 / math.sqrt(12),
    "uniform(-0.05,0.05)": 0.1 / math.sqrt(12),
    "fan_in_uniform": (2 / FAN_IN) / math.sqrt(12),
    "xavier_uniform": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "xavier_normal": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_uniform": math.sqrt(2 / FAN_IN),
    "he_normal": math.sqrt(2 / FAN_IN),
    "lecun_normal": math.sqrt(1 / FAN_IN),
    "orthogonal": math.sqrt(1 / FAN_IN),  # orthonormal rows of length FAN_IN
}


def test_registry_matches_names():
    assert set(inits.SCHEMES) == set(names.INIT_SCHEMES)
    for name, scheme in inits.SCHEMES.items():
        assert scheme.bias == names.INIT_SCHEMES[name][1], name
        doc = scheme.doc
        assert "Bias" in doc and len(doc) > 60, f"{name}: docstring must give the formula and the bias policy"


@pytest.fixture(scope="module")
def big_layers():
    return {spec: inits.init_params(spec, SIZES, seed=7)[0] for spec in EXPECTED_STD}


@pytest.mark.parametrize("spec", sorted(EXPECTED_STD))
def test_measured_std_matches_formula(spec, big_layers):
    weight, _ = big_layers[spec]
    assert weight.std().item() == pytest.approx(EXPECTED_STD[spec], rel=0.02)
    lo, hi = names.parse_init(spec)[1] if spec.startswith("uniform") else (None, None)
    if lo is not None:
        assert lo <= weight.min() and weight.max() <= hi
        assert weight.mean().item() == pytest.approx((lo + hi) / 2, abs=0.01 * (hi - lo))
    else:
        assert abs(weight.mean().item()) < 0.05 * EXPECTED_STD[spec]


def test_uniform_bounds_match_formulas(big_layers):
    bounds = {
        "default": 1 / math.sqrt(FAN_IN),
        "fan_in_uniform": 1 / FAN_IN,
        "xavier_uniform": math.sqrt(6 / (FAN_IN + FAN_OUT)),
        "he_uniform": math.sqrt(6 / FAN_IN),
    }
    for spec, bound in bounds.items():
        w = big_layers[spec][0]
        assert w.abs().max().item() <= bound
        assert w.abs().max().item() > 0.999 * bound, spec


def test_orthogonal_rows_are_orthonormal(big_layers):
    w = big_layers["orthogonal"][0].double()
    assert torch.allclose(w @ w.T, torch.eye(FAN_OUT, dtype=torch.float64), atol=1e-4)


def test_bias_policy_is_respected():
    sizes = [20, 30, 5]
    default = inits.init_params("default", sizes, seed=3)
    for spec in ["ones", "uniform(-1,1)", "fan_in_uniform", "xavier_uniform", "he_normal", "orthogonal"]:
        layers = inits.init_params(spec, sizes, seed=3, data=torch.randn(50, 20))
        policy = names.bias_policy(spec)
        for (_, b), (_, b_default) in zip(layers, default, strict=True):
            if policy == "zero":
                assert torch.count_nonzero(b) == 0, spec
            else:  # the scheme drew after the default init and left the bias alone
                assert torch.equal(b, b_default), spec


def test_ones_gives_identical_neurons():
    for w, b in inits.init_params("ones", [4, 6, 3], seed=0):
        assert torch.all(w == 1) and torch.all(b == 0)
        assert torch.equal(w, w[:1].expand_as(w))


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_default_equals_nn_linear_after_manual_seed(seed):
    spec = MLPSpec(in_dim=784, hidden=(100, 10, 100), out_dim=10, activation="tanh")
    torch.manual_seed(seed)
    net = build_module(spec)
    ours = inits.init_params("default", spec.sizes, seed)
    for layer, (w, b) in zip(linear_layers(net), ours, strict=True):
        assert torch.equal(layer.weight, w) and torch.equal(layer.bias, b)


def test_uniform_equals_the_labs_code():
    """The lab: torch.manual_seed(s); model = Net(); each layer's weight.uniform_(0, 1)."""
    spec = MLPSpec(in_dim=784, hidden=(100, 200, 100), out_dim=10, activation="relu")
    torch.manual_seed(5)
    net = build_module(spec)
    with torch.no_grad():
        for layer in linear_layers(net):
            layer.weight.uniform_(0, 1)
    ours = inits.init_params("uniform(0,1)", spec.sizes, 5)
    for layer, (w, b) in zip(linear_layers(net), ours, strict=True):
        assert torch.equal(layer.weight, w) and torch.equal(layer.bias, b)


def test_he_weights_equal_the_labs_kaiming_uniform():
    spec = MLPSpec(in_dim=50, hidden=(40, 30), out_dim=10, activation="relu")
    torch.manual_seed(2)
    net = build_module(spec)
    for layer in linear_layers(net):
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    ours = inits.init_params("he_uniform", spec.sizes, 2)
    for layer, (w, _) in zip(linear_layers(net), ours, strict=True):
        assert torch.equal(layer.weight, w)


def test_initialize_on_a_module_with_the_global_generator():
    spec = MLPSpec(in_dim=8, hidden=(6,), out_dim=3)
    torch.manual_seed(9)
    net = build_module(spec)
    inits.initialize(
        [(m.weight, m.bias) for m in linear_layers(net)], "xavier_normal", torch.default_generator
    )
    ours = inits.init_params("xavier_normal", spec.sizes, 9)
    for layer, (w, b) in zip(linear_layers(net), ours, strict=True):
        assert torch.equal(layer.weight, w) and torch.equal(layer.bias, b)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lsuv_gives_unit_variance_outputs(activation):
    data = torch.rand(500, 30)
    layers = inits.init_params("lsuv", [30, 40, 40, 5], seed=1, data=data, activation=activation)
    a = data
    for i, (w, b) in enumerate(layers):
        z = a @ w.T + b
        assert z.var(unbiased=False).item() == pytest.approx(1.0, abs=2e-3), f"layer {i + 1}"
        a = torch.tanh(z) if activation == "tanh" else torch.relu(z)


def test_lsuv_needs_data():
    with pytest.raises(ValueError, match="data-dependent"):
        inits.init_params("lsuv", [3, 4, 2], seed=0)


def test_same_seed_same_params_other_seed_other_params():
    a = inits.init_params("he_normal", [10, 8, 2], seed=4)
    b = inits.init_params("he_normal", [10, 8, 2], seed=4)
    c = inits.init_params("he_normal", [10, 8, 2], seed=5)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0][0], c[0][0])


@pytest.mark.parametrize("bad", ["glorot", "uniform(1,0)", "uniform", "he_normal(2)"])
def test_bad_init_names_the_spec(bad):
    with pytest.raises(ValueError, match="init"):
        inits.init_params(bad, [3, 4, 2], seed=0)


def test_study_bias_override_keeps_or_zeros_the_default_bias():
    """The labs initialise the weights only (bias 'default'); Glorot and He zero the bias."""
    sizes = [20, 30, 5]
    plain = inits.init_params("default", sizes, seed=3)
    lab = inits.init_params("xavier_uniform", sizes, seed=3, bias="default")
    paper = inits.init_params("xavier_uniform", sizes, seed=3)
    for (_, b0), (w1, b1), (w2, b2) in zip(plain, lab, paper, strict=True):
        assert torch.equal(b1, b0) and torch.equal(w1, w2)
        assert torch.count_nonzero(b2) == 0
    zeroed = inits.init_params("uniform(0,1)", sizes, seed=3, bias="zero")
    assert all(torch.count_nonzero(b) == 0 for _, b in zeroed)
    with pytest.raises(ValueError, match="bias policy"):
        inits.init_params("default", sizes, seed=3, bias="keep")
