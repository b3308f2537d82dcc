"""Per-layer statistics against direct computations on plain nn.Modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initbench import inits, layerstats
from initbench.models import MLPSpec, build_module, linear_layers


def test_symmetry_is_the_largest_row_distance():
    w = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]]])
    b = torch.zeros(1, 3)
    assert layerstats.symmetry(w, b).item() == pytest.approx(5.0)
    b = torch.tensor([[0.0, 0.0, 12.0]])  # the bias is part of a neuron's incoming vector
    # rows (0,0,0), (3,4,0), (1,1,12): the farthest pair is the last two, |(2,3,-12)|
    assert layerstats.symmetry(w, b).item() == pytest.approx(157**0.5)


def test_identical_neurons_have_symmetry_exactly_zero():
    layers = inits.init_params("ones", [50, 300, 20], seed=0)
    for w, b in layers:
        w = (w * 0.123456789).unsqueeze(0)  # an awkward value: still exactly zero
        assert layerstats.symmetry(w, b.unsqueeze(0)).item() == 0.0
    w, b = inits.init_params("default", [50, 300, 20], seed=0)[0]
    assert layerstats.symmetry(w.unsqueeze(0), b.unsqueeze(0)).item() > 0.1


def test_saturation_definitions():
    a = torch.tensor([[[-1.0, -0.995, 0.0, 0.5, 0.999]]])
    assert layerstats.saturation(a, "tanh").item() == pytest.approx(3 / 5)
    assert layerstats.saturation(torch.tensor([[[0.005, 0.5, 0.995, 0.2]]]), "sigmoid").item() == 0.5
    assert layerstats.saturation(torch.tensor([[[0.0, 0.0, 1.0, 2.0]]]), "relu").item() == 0.5
    assert layerstats.saturation(torch.tensor([[[-0.95, 0.5]]]), "softsign").item() == 0.5
    assert layerstats.saturation(a, "identity").item() == 0.0


def test_histogram_counts_and_edges():
    v = torch.stack([torch.arange(100.0), torch.full((100,), 3.0)])  # a ramp, and a constant
    v[0, 5] = float("nan")
    left, right, counts = layerstats.histogram(v, bins=10)
    assert counts[0].sum() == 99 and counts[1].sum() == 100
    assert left[0, 0] == 0 and right[0, -1] == 99
    assert torch.allclose(right[:, :-1], left[:, 1:])
    assert left[1, 0] == 2.5 and right[1, -1] == 3.5  # constant input: a unit range around it
    _, right2, counts2 = layerstats.histogram(v, bins=10, scale=4.0)
    assert torch.equal(counts2, counts) and right2[0, -1] == 4 * 99


def test_probe_matches_a_plain_module():
    """act stats, per-sample back-propagated gradient std and weight-gradient std vs. autograd."""
    spec = MLPSpec(6, (8, 5), 3, "tanh")
    torch.manual_seed(0)
    nets = [build_module(spec).double() for _ in range(2)]
    weights = [torch.stack([linear_layers(n)[j].weight.detach() for n in nets]) for j in range(3)]
    biases = [torch.stack([linear_layers(n)[j].bias.detach() for n in nets]) for j in range(3)]
    x, y = torch.randn(40, 6, dtype=torch.float64), torch.randint(0, 3, (40,))
    rows, hist = layerstats.probe(
        weights, biases, x, y, activation="tanh", output_activation="identity", loss="cross_entropy",
        variant_ids=torch.tensor([7, 9]), histograms=True,
    )  # fmt: skip
    assert rows["variant"].tolist() == [7, 7, 7, 9, 9, 9]
    assert rows["layer"].tolist() == [1, 2, 3] * 2 and rows["units"].tolist() == [8, 5, 3] * 2
    for i, net in enumerate(nets):
        zs, acts = [], []
        h = x
        for j, layer in enumerate(linear_layers(net)):
            z = layer(h)
            z.retain_grad()
            h = torch.tanh(z) if j < 2 else z
            zs.append(z), acts.append(h)
        nn.CrossEntropyLoss(reduction="sum")(h, y).backward()  # per-sample gradients of dC/dz
        for j in range(3):
            r = i * 3 + j
            assert rows["act_mean"][r].item() == pytest.approx(acts[j].mean().item(), abs=1e-10)
            assert rows["act_std"][r].item() == pytest.approx(acts[j].std(unbiased=False).item(), abs=1e-10)
            assert rows["grad_std"][r].item() == pytest.approx(
                zs[j].grad.std(unbiased=False).item(), rel=1e-8
            )
            weight_grad = linear_layers(net)[j].weight.grad / len(x)  # of the mean loss
            assert rows["weight_grad_std"][r].item() == pytest.approx(
                weight_grad.std(unbiased=False).item(), rel=1e-8
            )
            assert rows["weight_std"][r].item() == pytest.approx(weights[j][i].std(unbiased=False).item())
    n_rows = 2 * 3 * 2 * layerstats.HISTOGRAM_BINS  # models x layers x quantities x bins
    assert len(hist["count"]) == n_rows and len(hist["quantity"]) == n_rows
    first = slice(0, layerstats.HISTOGRAM_BINS)  # layer 1, activation, model 7
    assert hist["count"][first].sum() == 40 * 8 and hist["variant"][0] == 7


def test_hidden_rows_are_first_layer_activations():
    w = torch.tensor([[[2.0], [-1.0]]])  # K=1, 2 units, 1 input
    b = torch.tensor([[0.0, 1.0]])
    x, y = torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([0, 1, 0])
    rows = layerstats.hidden_rows(w, b, x, y, "identity", torch.tensor([4]))
    assert rows["sample"].tolist() == [0, 0, 1, 1, 2, 2]
    assert rows["unit"].tolist() == [1, 2] * 3
    assert rows["x"].tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    assert rows["value"].tolist() == [0.0, 1.0, 2.0, 0.0, 4.0, -1.0]
    assert rows["label"].tolist() == [0, 0, 1, 1, 0, 0] and rows["variant"].tolist() == [4] * 6


def test_probing_a_few_models_at_a_time_changes_nothing(monkeypatch):
    weights = [torch.randn(5, 8, 6), torch.randn(5, 3, 8)]
    biases = [torch.randn(5, 8), torch.randn(5, 3)]
    x, y = torch.randn(30, 6), torch.randint(0, 3, (30,))
    kwargs = dict(activation="relu", output_activation="identity", loss="cross_entropy", histograms=True)
    whole = layerstats.probe(weights, biases, x, y, variant_ids=torch.arange(5), **kwargs)
    monkeypatch.setattr(layerstats, "PROBE_ELEMENTS", 3 * 30 * 11 * 2)  # two models per part
    parts = layerstats.probe(weights, biases, x, y, variant_ids=torch.arange(5), **kwargs)
    for a, b in zip(whole, parts, strict=True):  # the same rows of each variant, in the same order
        assert a.keys() == b.keys()
        for v in range(5):
            rows_a, rows_b = (a["variant"] == v).nonzero().flatten(), (b["variant"] == v).nonzero().flatten()
            for key in a:
                if key == "quantity":
                    assert [a[key][i] for i in rows_a] == [b[key][i] for i in rows_b]
                else:
                    assert torch.allclose(a[key][rows_a].double(), b[key][rows_b].double(), atol=1e-6), key
