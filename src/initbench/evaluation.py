"""A pack's validation and test metrics: mean loss and accuracy of K stacked models on a split.

All K models see the same samples, in chunks shared by all of them (``packed_forward`` with one
input group), so an epoch's evaluation is a few large matmuls. The chunk size comes from the
engine's plan (``packsize.plan``): cache-sized on the CPU, within the job's memory on a GPU;
results differ between chunk sizes only by the float summation order.

Usage::

    loss, accuracy = evaluate(weights, biases, x_val, y_val, activation="tanh", chunk=5000)
"""

from __future__ import annotations

import math

import torch

from initbench.models import packed_correct, packed_forward, packed_loss
from initbench.precision import FP32


@torch.no_grad()
def evaluate(
    weights, biases, x, y, *, activation: str, output_activation="identity", loss="cross_entropy", chunk: int,
    mm=FP32,
):  # fmt: skip
    """Mean loss and accuracy per model (K,), float64 on the CPU; NaN for an empty split."""
    k, n = weights[0].shape[0] if weights else 0, x.shape[0]
    if n == 0 or k == 0:
        nan = torch.full((k,), math.nan, dtype=torch.float64)
        return nan, nan.clone()
    loss_sum = torch.zeros(k, dtype=torch.float64, device=x.device)
    correct = torch.zeros(k, dtype=torch.long, device=x.device)
    for lo in range(0, n, chunk):
        xb, yb = x[lo : lo + chunk].unsqueeze(0), y[lo : lo + chunk].unsqueeze(0)
        out = packed_forward(weights, biases, xb, activation, output_activation, mm=mm)
        loss_sum += packed_loss(out, yb, loss).double() * xb.shape[1]
        correct += packed_correct(out, yb, loss)
    return (loss_sum / n).cpu(), (correct.double() / n).cpu()
