"""The initializer registry: names, bias policies, measured std against each formula, lab faithfulness."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initbench import inits, names, registry, theory
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
    "gaussian(1.5)": math.sqrt(1.5 / FAN_IN),  # N(0, sigma_w2 / fan_in)
    "orthogonal(1.5)": math.sqrt(1.5 / FAN_IN),  # the same variance, for a non-square layer too
}


def test_every_builtin_record_is_complete():
    """One record per init: a docstring with the formula and the bias, a citation, and either a
    variance formula for the theory overlay or the reason it has none."""
    builtins = {n: r for n, r in registry.REGISTRY.items() if r.source == "built-in"}
    assert set(builtins) >= {names.parse_init(s)[0] for s in EXPECTED_STD} | {"lsuv"}
    for name, rec in builtins.items():
        assert "Bias" in rec.doc and len(rec.formula) > 15, (
            f"{name}: docstring must give the formula and the bias"
        )
        assert rec.cite and rec.cite != registry.USER_SUPPLIED, name
        assert rec.weight_variance is not None or rec.no_theory, f"{name}: no variance and no reason"
        assert callable(rec.bias) or rec.bias in registry.BIAS_POLICIES, name


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


@pytest.mark.parametrize(
    "bad",
    [
        "glorot",
        "uniform(1,0)",
        "uniform",
        "he_normal(2)",
        "gaussian",
        "gaussian(-1)",
        "gaussian(1,x)",
        "gaussian(scale=2)",
        "orthogonal(sigma_b2=0.1)",
    ],
)
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


@pytest.mark.parametrize("spec", sorted(EXPECTED_STD))
def test_record_variance_is_the_measured_one(spec, big_layers):
    """The variance each record gives the theory overlay is the one its function draws."""
    rec, args = registry.bind(spec)
    var = rec.variances(FAN_IN, FAN_OUT, args)
    if var is None:
        assert rec.no_theory, spec
        return
    weight, b = big_layers[spec]
    assert weight.var().item() == pytest.approx(var[0], rel=0.04)
    assert b.var().item() == pytest.approx(var[1], rel=0.3, abs=1e-12)


@pytest.mark.parametrize("name", ["gaussian", "orthogonal"])
def test_mean_field_inits_draw_their_own_bias(name):
    """gaussian(sigma_w2, sigma_b2) and orthogonal(sigma_w2, sigma_b2): b ~ N(0, sigma_b2)."""
    (w, b), _ = inits.init_params(f"{name}(1.76,0.05)", [400, 3000, 10], seed=1)
    assert b.std().item() == pytest.approx(math.sqrt(0.05), rel=0.05)
    assert w.var().item() == pytest.approx(1.76 / 400, rel=0.03)
    assert names.bias_policy(f"{name}(1.76,0.05)") == "init"
    with pytest.raises(ValueError, match="belongs to the init"):
        inits.init_params(f"{name}(1.76,0.05)", [4, 3, 2], seed=1, bias="default")


def test_scaled_orthogonal_is_an_orthogonal_matrix_times_its_gain():
    """W = sigma_w sqrt(max(fan_in, fan_out)/fan_in) Q: a wide and a tall layer."""
    for fan_in, fan_out in ((300, 100), (100, 300)):
        (w, b), _ = inits.init_params("orthogonal(2)", [fan_in, fan_out, 3], seed=0)
        gain2 = 2 * max(fan_in, fan_out) / fan_in
        gram = (w @ w.T if fan_out < fan_in else w.T @ w).double() / gain2
        assert torch.allclose(gram, torch.eye(min(fan_in, fan_out), dtype=torch.float64), atol=1e-4)
        assert torch.count_nonzero(b) == 0


def test_bare_orthogonal_is_unchanged():
    """The bare name keeps its meaning: PyTorch's orthogonal_ with gain 1 and a zero bias."""
    g = torch.Generator().manual_seed(3)
    w, b, w2, b2 = torch.empty(20, 30), torch.empty(20), torch.empty(2, 20), torch.empty(2)
    inits.reset_default(w, b, g)
    inits.reset_default(w2, b2, g)  # every layer's default init comes first (init_params, step 2)
    nn.init.orthogonal_(w, gain=1.0, generator=g)
    (ours, ours_b), _ = inits.init_params("orthogonal", [30, 20, 2], seed=3)
    assert torch.equal(ours, w) and torch.count_nonzero(ours_b) == 0


def test_docs_are_written_from_the_records(repo):
    """docs/inits.md is generated (python -m initbench.initdocs); editing a record must regenerate it."""
    from initbench import initdocs

    assert (repo / "docs/inits.md").read_text(encoding="utf-8") == initdocs.markdown(), (
        "docs/inits.md is stale: run python -m initbench.initdocs > docs/inits.md"
    )


def test_a_new_init_is_one_function_and_one_record():
    """The registry alone makes a name valid everywhere: parsing, bias policy, variances, init_params."""
    scratch = dict(registry.REGISTRY)

    @registry.register_init(
        "scaled_normal",
        bias="zero",
        weight_variance=lambda fi, fo, scale=1.0: scale**2 / fi,
        registry=scratch,
    )
    def scaled_normal(weight, bias, generator, scale=1.0):
        """W ~ N(0, scale^2/fan_in), b = 0."""
        weight.normal_(0.0, scale / weight.shape[1] ** 0.5, generator=generator)
        bias.zero_()

    saved = dict(registry.REGISTRY)
    registry.REGISTRY.update(scratch)
    try:
        assert names.parse_init("scaled_normal(scale=0.5)") == ("scaled_normal", (0.5,))
        rec, args = registry.bind("scaled_normal(0.5)")
        assert rec.variances(400, 10, args) == (0.25 / 400, 0.0)
        assert theory.weight_variance("scaled_normal(0.5)", 400, 10) == 0.25 / 400
        (w, b), _ = inits.init_params("scaled_normal(0.5)", [4000, 200, 3], seed=0)
        assert w.std().item() == pytest.approx(0.5 / 4000**0.5, rel=0.02) and torch.count_nonzero(b) == 0
        with pytest.raises(ValueError, match="already a built-in init"):
            registry.register_init("he_normal", source="/tmp/x.py")(scaled_normal)
    finally:
        registry.REGISTRY.clear()
        registry.REGISTRY.update(saved)
