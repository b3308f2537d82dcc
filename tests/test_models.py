"""MLP specs, the nn.Module builder, and the packed forward/backward against plain autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initbench import names
from initbench.models import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_MODULES,
    MLPSpec,
    build_module,
    hidden_label,
    linear_layers,
    packed_backward,
    packed_correct,
    packed_forward,
    packed_loss,
)


def test_activation_tables_match_names():
    assert tuple(ACTIVATION_FUNCTIONS) == names.ACTIVATIONS
    assert tuple(ACTIVATION_MODULES) == names.ACTIVATIONS
    z = torch.linspace(-3, 3, 101)
    for name, fn in ACTIVATION_FUNCTIONS.items():
        assert torch.allclose(fn(z), ACTIVATION_MODULES[name]()(z)), name


def test_specs_of_the_labs():
    xavier = MLPSpec(784, [100, 10, 100, 10, 100], 10, "tanh")
    assert xavier.sizes == [784, 100, 10, 100, 10, 100, 10]
    assert (xavier.depth, xavier.width) == (5, 100)
    he = MLPSpec(784, (100, 200, 100), 10, "relu")
    assert (he.depth, he.width, hidden_label(he.hidden)) == (3, 200, "100-200-100")
    glorot = MLPSpec.from_depth_width(784, 5, 1000, 10, "softsign")
    assert glorot.hidden == (1000,) * 5


def test_build_module_layers_and_activations():
    toy = build_module(MLPSpec(1, (2,), 1, "sigmoid", output_activation="sigmoid"))
    assert [type(m) for m in toy] == [nn.Linear, nn.Sigmoid, nn.Linear, nn.Sigmoid]
    net = build_module(MLPSpec(784, (100, 10), 10, "tanh"))
    assert [type(m) for m in net] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear, nn.Identity]
    assert [(m.in_features, m.out_features) for m in linear_layers(net)] == [(784, 100), (100, 10), (10, 10)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(in_dim=4, hidden=(), out_dim=2), "at least one hidden"),
        (dict(in_dim=4, hidden=(3, 0), out_dim=2), "integer >= 1"),
        (dict(in_dim=4, hidden=(3,), out_dim=2, activation="swish"), "valid activations are: tanh"),
        (dict(in_dim=0, hidden=(3,), out_dim=2), "in_dim"),
    ],
)
def test_bad_specs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPSpec(**kwargs)


@pytest.mark.parametrize("bad", [(0, 10), (3, 0), (-1, 5)])
def test_bad_depth_width_raise(bad):
    with pytest.raises(ValueError, match="depth|width"):
        MLPSpec.from_depth_width(4, *bad, 2)


def _modules(k, spec, dtype=torch.float64):
    nets = []
    for i in range(k):
        torch.manual_seed(i)
        nets.append(build_module(spec).to(dtype))
    weights = [
        torch.stack([linear_layers(n)[j].weight.detach() for n in nets]) for j in range(len(spec.hidden) + 1)
    ]
    biases = [
        torch.stack([linear_layers(n)[j].bias.detach() for n in nets]) for j in range(len(spec.hidden) + 1)
    ]
    return nets, weights, biases


@pytest.mark.parametrize("activation", names.ACTIVATIONS)
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_packed_forward_and_backward_equal_autograd(activation, groups):
    """Six models in groups that share inputs; outputs and all gradients vs. nn.Module + autograd."""
    k, batch = 6, 9
    spec = MLPSpec(5, (7, 4), 3, activation)
    nets, weights, biases = _modules(k, spec)
    x = torch.randn(groups, batch, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (groups, batch))
    out, pre, post = packed_forward(weights, biases, x, activation, record=True)
    losses, dout = packed_loss(out, y, "cross_entropy", grad=True)
    dw, db, dz = packed_backward(weights, x, pre, post, dout, activation)
    for i, net in enumerate(nets):
        g = i // (k // groups)
        ref = net(x[g])
        assert torch.allclose(out[i], ref, atol=1e-12)
        loss = nn.CrossEntropyLoss()(ref, y[g])
        assert losses[i].item() == pytest.approx(loss.item(), abs=1e-12)
        loss.backward()
        for j, layer in enumerate(linear_layers(net)):
            assert torch.allclose(dw[j][i], layer.weight.grad, atol=1e-12), (i, j)
            assert torch.allclose(db[j][i], layer.bias.grad, atol=1e-12), (i, j)
    assert [t.shape for t in dz] == [(k, batch, 7), (k, batch, 4), (k, batch, 3)]


def test_packed_bce_equals_the_labs_loss():
    """The toy lab: 1 -> 2 sigmoid -> 1 sigmoid, loss -mean(y log p + (1-y) log(1-p))."""
    spec = MLPSpec(1, (2,), 1, "sigmoid", output_activation="sigmoid")
    nets, weights, biases = _modules(3, spec)
    x = torch.linspace(-5, 5, 8, dtype=torch.float64).view(1, 8, 1)
    y = (x[..., 0].abs() < 2).to(torch.float64)
    out, pre, post = packed_forward(weights, biases, x, "sigmoid", "sigmoid", record=True)
    losses, dout = packed_loss(out, y, "bce", grad=True)
    dw, db, _ = packed_backward(weights, x, pre, post, dout, "sigmoid", "sigmoid")
    for i, net in enumerate(nets):
        p = net(x[0])[:, 0]
        loss = -torch.mean(y[0] * torch.log(p) + (1 - y[0]) * torch.log(1 - p))
        loss.backward()
        assert losses[i].item() == pytest.approx(loss.item(), abs=1e-12)
        for j, layer in enumerate(linear_layers(net)):
            assert torch.allclose(dw[j][i], layer.weight.grad, atol=1e-12)
            assert torch.allclose(db[j][i], layer.bias.grad, atol=1e-12)


def test_packed_correct_counts():
    out = torch.tensor([[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]])  # K=1, B=3, C=2
    assert packed_correct(out, torch.tensor([[1, 0, 0]]), "cross_entropy").tolist() == [2]
    p = torch.tensor([[[0.9], [0.2], [0.6]]])
    assert packed_correct(p, torch.tensor([[1.0, 0.0, 0.0]]), "bce").tolist() == [2]


def test_packed_forward_is_differentiable_by_autograd_too():
    spec = MLPSpec(4, (5,), 2, "tanh")
    _, weights, biases = _modules(3, spec)
    weights = [w.clone().requires_grad_() for w in weights]
    x = torch.randn(1, 6, 4, dtype=torch.float64)
    y = torch.randint(0, 2, (1, 6))
    packed_loss(packed_forward(weights, biases, x, "tanh"), y, "cross_entropy").sum().backward()
    with torch.no_grad():
        out, pre, post = packed_forward(weights, biases, x, "tanh", record=True)
        _, dout = packed_loss(out, y, "cross_entropy", grad=True)
        dw, _, _ = packed_backward(weights, x, pre, post, dout, "tanh")
    assert all(torch.allclose(w.grad, g, atol=1e-12) for w, g in zip(weights, dw, strict=True))


def test_a_batch_in_parts_gives_the_whole_batch_gradient():
    """The trainer splits big batches into parts and sums their gradients (``into=``)."""
    spec = MLPSpec(5, (6, 4), 3, "relu")
    _, weights, biases = _modules(4, spec)
    x, y = torch.randn(2, 10, 5, dtype=torch.float64), torch.randint(0, 3, (2, 10))

    def grads(parts):
        acc, total = None, 0
        for xp, yp in zip(x.split(10 // parts, dim=1), y.split(10 // parts, dim=1), strict=True):
            out, pre, post = packed_forward(weights, biases, xp, "relu", record=True)
            loss, dout = packed_loss(out, yp, "cross_entropy", grad=True, total=10)
            acc = packed_backward(weights, xp, pre, post, dout, "relu", keep_dz=False, into=acc)[:2]
            total = total + loss
        return total, acc

    whole, parts = grads(1), grads(5)
    assert torch.allclose(whole[0], parts[0], atol=1e-12)
    for a, b in zip(whole[1][0] + whole[1][1], parts[1][0] + parts[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-12)
