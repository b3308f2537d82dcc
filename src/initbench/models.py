"""Multilayer perceptrons: their specification, a plain ``nn.Module`` builder, and the packed forward.

A pack is K models with the same layer sizes trained at once. Their parameters are stacked along a
leading dimension, ``W_l`` of shape (K, out, in) and ``b_l`` of shape (K, out), and one batched
matmul per layer (``torch.baddbmm``) runs all K models. Because the K models share no parameters,
the gradient of the summed per-model losses with respect to model k's parameters is exactly the
gradient of model k's own loss, which is what makes packed training equal to separate training.

Usage::

    spec = MLPSpec(in_dim=784, hidden=(100, 10, 100), out_dim=10, activation="tanh")
    torch.manual_seed(0); net = build_module(spec)          # the labs' way, one model
    out = packed_forward(weights, biases, x[None], spec.activation)  # K models, x shared
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from initbench import names
from initbench.precision import FP32

# The element-wise nonlinearities, by the names in ``names.ACTIVATIONS`` (a test checks they agree).
ACTIVATION_FUNCTIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "softsign": F.softsign,  # x / (1 + |x|), Glorot & Bengio 2010's polynomial alternative to tanh
    "gelu": F.gelu,  # the exact erf form, as nn.GELU()
    "identity": lambda z: z,
}
ACTIVATION_MODULES = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "softsign": nn.Softsign,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def hidden_sizes(depth: int, width: int) -> list[int]:
    """``depth`` hidden layers of ``width`` units each; ValueError if either is below 1."""
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
    if int(width) != width or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    return [int(width)] * int(depth)


def hidden_label(hidden) -> str:
    """The exact hidden sizes as one string, e.g. ``"100-10-100"`` (the summary's ``hidden`` column)."""
    return "-".join(str(int(h)) for h in hidden)


def check_hidden(hidden) -> tuple[int, ...]:
    """Return ``hidden`` as a tuple of ints, or raise ValueError if it is empty or holds a width < 1."""
    hidden = tuple(hidden)
    if not hidden:
        raise ValueError("hidden must list at least one hidden layer (depth >= 1), got []")
    for h in hidden:
        if isinstance(h, bool) or int(h) != h or h < 1:
            raise ValueError(f"every hidden width must be an integer >= 1, got {h!r} in {list(hidden)}")
    return tuple(int(h) for h in hidden)


@dataclass(frozen=True)
class MLPSpec:
    """An MLP: ``in_dim -> hidden[0] -> ... -> hidden[-1] -> out_dim``.

    ``activation`` follows every hidden layer; ``output_activation`` follows the last layer
    (``identity`` for classifiers, whose loss takes logits; ``sigmoid`` for the toy lab's
    1 -> 2 -> 1 network with its hand-written binary cross-entropy).
    """

    in_dim: int
    hidden: tuple[int, ...]
    out_dim: int
    activation: str = "tanh"
    output_activation: str = "identity"

    def __post_init__(self):
        object.__setattr__(self, "hidden", check_hidden(self.hidden))
        names.check_activation(self.activation)
        names.check_activation(self.output_activation)
        for label, n in (("in_dim", self.in_dim), ("out_dim", self.out_dim)):
            if int(n) != n or n < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {n!r}")

    @classmethod
    def from_depth_width(cls, in_dim, depth, width, out_dim, activation="tanh", output_activation="identity"):
        """The Glorot & Bengio 2010 family: ``depth`` hidden layers of ``width`` units."""
        return cls(in_dim, tuple(hidden_sizes(depth, width)), out_dim, activation, output_activation)

    @property
    def sizes(self) -> list[int]:
        """All layer widths, input and output included: ``[in_dim, *hidden, out_dim]``."""
        return [int(self.in_dim), *self.hidden, int(self.out_dim)]

    @property
    def depth(self) -> int:
        return len(self.hidden)

    @property
    def width(self) -> int:
        return max(self.hidden)


def build_module(spec: MLPSpec) -> nn.Sequential:
    """A plain ``nn.Sequential`` of Linear and activation modules, built in layer order.

    Built after ``torch.manual_seed(s)`` it holds the same parameters as the labs' ``Net()`` and as
    ``inits.init_params("default", spec.sizes, s)``.
    """
    mods: list[nn.Module] = []
    sizes = spec.sizes
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        mods.append(nn.Linear(n_in, n_out))
        last = i == len(sizes) - 2
        mods.append(ACTIVATION_MODULES[spec.output_activation if last else spec.activation]())
    return nn.Sequential(*mods)


def linear_layers(module: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``module`` in order."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def packed_forward(
    weights, biases, x, activation: str, output_activation: str = "identity", *, record=False, mm=FP32
):
    """Run K stacked MLPs on their inputs; return the output (K, B, out) [and the per-layer tensors].

    ``weights[l]`` is (K, out_l, in_l) and ``biases[l]`` is (K, out_l). ``x`` is (G, B, in) with G
    dividing K: consecutive runs of K/G models share one input batch (G = 1: all models see the
    same batch, as in evaluation; G = K: each model has its own). Sharing lets the first layer,
    which holds most of the FLOPs, run as G large matmuls instead of K thin ones.

    With ``record=True`` return ``(out, pre, post)``: per layer the pre-activation
    z_l = a_(l-1) W_l^T + b_l and the activation a_l = f(z_l) (K, B, out_l), output layer included;
    ``packed_backward`` needs them. ``pre[0]`` alone is a (G, K/G, B, out_1) view of the grouped
    product, to spare a copy. Autograd can differentiate it too (the tests check
    ``packed_backward`` against it), but the fast path writes activations with ``out=`` kernels.
    """
    k_models = weights[0].shape[0]
    groups, batch, n_in = x.shape
    if k_models % groups:
        raise ValueError(f"input has {groups} groups, which does not divide the {k_models} models")
    per, n_out = k_models // groups, weights[0].shape[1]
    # One (B, in) x (in, per*out) product per group, seen as (G, per, B, out); the activation
    # then writes a_1 model-major and contiguous, so no separate copy is needed.
    w0 = weights[0].reshape(groups, per * n_out, n_in)
    z = mm.baddbmm(biases[0].reshape(groups, 1, per * n_out), x, w0.transpose(1, 2))
    z = z.view(groups, batch, per, n_out).permute(0, 2, 1, 3)
    pre, post = [], []
    n_layers = len(weights)
    for layer in range(n_layers):
        name = output_activation if layer == n_layers - 1 else activation
        h = _activate(name, z, torch.empty(z.shape, dtype=z.dtype, device=z.device))
        if layer == 0:
            h = h.reshape(k_models, batch, n_out)  # a view, unless autograd took the plain path
        if record:
            pre.append(z)
            post.append(h)
        if layer + 1 < n_layers:
            z = mm.baddbmm(biases[layer + 1].unsqueeze(1), h, weights[layer + 1].transpose(1, 2))
    return (h, pre, post) if record else h


def _activate(name: str, z, out):
    """f(z) written into ``out`` (whatever its strides); plain f(z) when autograd records z."""
    if z.requires_grad:
        return ACTIVATION_FUNCTIONS[name](z)
    if name == "tanh":
        if z.device.type == "cpu" and z.dtype in (torch.float32, torch.float64):
            # NumPy's SIMD tanh (SVML on AVX-512) runs ~6x faster here than ATen's float32 one
            # (~0.16 vs ~1 ns per element), within 2 ulp of it; tanh was 1/8 of a pack step.
            np.tanh(z.numpy(), out=out.numpy())
            return out
        return torch.tanh(z, out=out)
    if name == "sigmoid":
        return torch.sigmoid(z, out=out)
    if name == "relu":
        return torch.clamp_min(z, 0, out=out)  # what torch.relu computes
    return out.copy_(ACTIVATION_FUNCTIONS[name](z))


def activation_backward(grad, z, a, activation: str, out=None):
    """dL/dz from dL/da for a = f(z) (into ``out`` if given), using PyTorch's own fused derivative
    kernels, the ones autograd calls, so that packed training stays close to nn.Module + autograd."""
    out = torch.empty_like(grad) if out is None else out
    if activation == "tanh":
        return torch.ops.aten.tanh_backward.grad_input(grad, a, grad_input=out)  # (1 - a^2) grad
    if activation == "sigmoid":
        return torch.ops.aten.sigmoid_backward.grad_input(grad, a, grad_input=out)  # a (1 - a) grad
    if activation == "relu":
        return torch.ops.aten.threshold_backward.grad_input(grad, a, 0, grad_input=out)  # grad where a > 0
    if activation == "gelu":
        return torch.ops.aten.gelu_backward.grad_input(grad, z, grad_input=out)
    if activation == "softsign":
        return torch.div(grad, (1 + z.abs()).square(), out=out)  # d/dz z/(1+|z|) = 1/(1+|z|)^2
    return out.copy_(grad)


def packed_backward(
    weights, x, pre, post, dout, activation: str, output_activation: str = "identity", *,
    keep_dz: bool = True, into=None, out=None, mm=FP32,
):  # fmt: skip
    """Gradients of sum_k L_k by hand: the back-propagation of Rumelhart, Hinton & Williams 1986.

    ``dout`` is dL/d(output) (K, B, out), ``x``, ``pre``, ``post`` are ``packed_forward``'s input
    and record. Returns ``(dW, db, dz)``, per layer dL/dW_l (K, out_l, in_l), dL/db_l (K, out_l) and
    the back-propagated dL/dz_l (K, B, out_l) (``dz`` is None with ``keep_dz=False``, which spares
    a copy when G > 1). ``into=(dW, db)`` adds the gradients to those tensors instead (a batch
    processed in parts); ``out=(dW, db)`` writes them there (the first part). Written out rather
    than left to autograd because a pack step is a handful of matmuls, and autograd's per-node
    bookkeeping dominated small models. ``mm`` runs the matmuls, as in ``packed_forward``.
    """
    n_layers = len(weights)
    if into is not None and out is not None:
        raise ValueError("give into= (add the gradients) or out= (write them), not both")
    dw, db = ([None] * n_layers, [None] * n_layers) if into is None and out is None else (into or out)
    acc = _Accumulate(mm, overwrite=out is not None)
    dz = [None] * n_layers
    g = activation_backward(dout, pre[-1], post[-1], output_activation) if n_layers > 1 else dout
    for layer in range(n_layers - 1, 0, -1):
        dz[layer] = g
        db[layer] = acc.sum(db[layer], g, 1)
        dw[layer] = acc.matmul(dw[layer], g.transpose(1, 2), post[layer - 1])
        g = mm.bmm(g, weights[layer])  # dL/da_(l-1)
        if layer > 1:
            g = activation_backward(g, pre[layer - 1], post[layer - 1], activation)
    # The first layer mirrors the grouped forward: dL/dz_1 is written straight into the
    # (G, B, per*out) layout of one (per*out, B) x (B, in) product per group.
    groups, per, batch, n_out = pre[0].shape
    k_models, n_in = groups * per, x.shape[2]
    name = output_activation if n_layers == 1 else activation
    flat = torch.empty(groups, batch, per * n_out, dtype=g.dtype, device=g.device)
    g4 = activation_backward(
        g.view(groups, per, batch, n_out), pre[0], post[0].view(groups, per, batch, n_out), name,
        out=flat.view(groups, batch, per, n_out).permute(0, 2, 1, 3),
    )  # fmt: skip
    dz[0] = g4.reshape(k_models, batch, n_out) if keep_dz else None  # a view when G = 1
    db0 = None if db[0] is None else db[0].view(groups, per, n_out)
    db[0] = acc.sum(db0, g4, 2).reshape(k_models, n_out)
    dw0 = None if dw[0] is None else dw[0].view(groups, per * n_out, n_in)
    dw[0] = acc.matmul(dw0, flat.transpose(1, 2), x).view(k_models, n_out, n_in)
    return dw, db, (dz if keep_dz else None)


class _Accumulate:
    """Where a gradient goes: a new tensor (no target), written into the target (``overwrite``),
    or added to it in place; each without a temporary where torch allows."""

    def __init__(self, mm, overwrite: bool):
        self.mm, self.overwrite = mm, overwrite

    def sum(self, target, g, dim: int):
        if target is None:
            return g.sum(dim)
        if self.overwrite:
            return torch.sum(g, dim, out=target)
        return target.add_(g.sum(dim))

    def matmul(self, target, a, b):
        if target is None:
            return self.mm.bmm(a, b)
        if self.overwrite:
            return self.mm.bmm(a, b, out=target)
        return self.mm.add_bmm(target, a, b)


def _grouped(out, y):
    k_models, batch, _ = out.shape
    groups = y.shape[0]
    return groups, k_models // groups, batch


def packed_loss(out, y, loss: str, *, grad: bool = False, total: int | None = None):
    """Mean loss per model, shape (K,), of outputs ``out`` (K, B, C) against targets ``y`` (G, B);
    with ``grad=True`` also dL/d(out) of L = sum_k loss_k, for ``packed_backward``.

    ``y`` is grouped like ``packed_forward``'s input: models ``g*K/G ... (g+1)*K/G - 1`` use ``y[g]``.
    ``total`` (default B) is the divisor of the summed per-sample losses: a part of a batch of
    ``total`` samples then contributes its share of the batch mean.
    - ``cross_entropy``: -log softmax(out)_y, as ``nn.CrossEntropyLoss`` (y int64 class ids).
    - ``bce``: the toy lab's hand-written -mean(y log p + (1-y) log(1-p)) on a sigmoid output p
      (y float 0/1, C = 1). Written out rather than ``BCELoss`` because that one clamps log at -100,
      and the lab's loss does not.
    """
    groups, per, batch = _grouped(out, y)
    k_models, classes = out.shape[0], out.shape[2]
    total = batch if total is None else total
    if loss == "cross_entropy":
        logp = out.log_softmax(-1)
        idx = y.reshape(groups, 1, batch, 1).expand(groups, per, batch, 1)
        losses = (
            -logp.reshape(groups, per, batch, classes).gather(-1, idx).view(k_models, batch).sum(1) / total
        )
        if not grad:
            return losses
        # d/dz of -log softmax(z)_y = softmax(z) - onehot(y), over the batch mean
        dout = logp.exp().reshape(groups, per, batch, classes)
        dout.scatter_add_(-1, idx, -torch.ones_like(idx, dtype=out.dtype))
        return losses, dout.reshape(k_models, batch, classes).div_(total)
    if loss == "bce":
        p = out.reshape(groups, per, batch)
        t = y.reshape(groups, 1, batch).to(out.dtype)
        losses = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).view(k_models, batch).sum(1) / total
        if not grad:
            return losses
        dout = ((1 - t) / (1 - p) - t / p).div_(total)  # d/dp of the loss above
        return losses, dout.reshape(k_models, batch, 1)
    raise ValueError(f"unknown loss {loss!r}; valid losses are: {', '.join(names.LOSSES)}")


def packed_correct(out, y, loss: str):
    """Number of correctly classified samples per model, shape (K,): argmax, or p > 0.5 for ``bce``."""
    groups, per, batch = _grouped(out, y)
    if loss == "bce":
        pred = (out[..., 0] > 0.5).to(y.dtype).view(groups, per, batch)
    else:
        pred = out.argmax(-1).view(groups, per, batch)
    return (pred == y.reshape(groups, 1, batch)).sum(-1).reshape(out.shape[0])
