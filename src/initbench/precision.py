"""The arithmetic a pack's matmuls use: ``precision: fp32 | tf32 | bf16`` (a top-level config key).

- ``fp32`` (the default): plain float32 (or float64) matmuls, exact to the reference tests.
- ``tf32``: CUDA's TensorFloat-32 matmuls (10-bit mantissa inputs, fp32 accumulation), switched
  on for the run only (``torch.backends.cuda.matmul.allow_tf32``, and cuDNN's). The CPU has no
  TF32: there it has no effect, and the job's meta says so.
- ``bf16``: the matmuls of the forward and of the hand-written backward (``models.packed_*``)
  take bfloat16 operands and give float32 results (fp32 accumulation: CUDA's reduced-precision
  reductions are switched off for the run). Everything else stays float32: parameters, momentum
  buffers, biases, activations and their derivatives, losses, and the divergence check. bf16
  weights would lose every SGD update below their spacing (2^-8 of the weight), so only the
  matmul operands are rounded. ``torch.autocast`` is not used: it would hand bf16 results to the
  element-wise code, and it does not reach the ``out=`` kernels of the hand-written backward.
  Runs on the CPU too (slowly: few CPUs have bf16 matmul units).

Usage::

    mm = Matmuls("bf16", device)
    with mm.scope():                       # tf32 flags on for the run, restored after
        z = mm.baddbmm(bias, x, w.transpose(1, 2))
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("fp32", "tf32", "bf16")


def check(name: str) -> str:
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; valid precisions are: {', '.join(PRECISIONS)}")
    return name


class Matmuls:
    """The batched matmuls of the pack engine at one precision."""

    def __init__(self, name: str = "fp32", device=None):
        self.name = check(name)
        self.device = torch.device(device or "cpu")
        self.bf16 = name == "bf16"
        self._fp32_out = self.bf16 and self.device.type == "cuda" and _has_fp32_out(self.device)

    @property
    def applied(self) -> bool:
        """Whether the run computes at this precision: not tf32 off CUDA (it runs fp32 there)."""
        return self.name != "tf32" or self.device.type == "cuda"

    def meta(self) -> dict:
        note = {
            "fp32": "exact fp32 matmuls",
            "tf32": "TF32 matmuls" if self.applied else "tf32 has no effect on the CPU: fp32 matmuls",
            "bf16": "bf16 matmul operands, fp32 accumulation, parameters and losses",
        }[self.name]
        return {"precision": self.name, "precision_applied": self.applied, "precision_note": note}

    @contextlib.contextmanager
    def scope(self):
        """The backend flags this precision needs, set for the duration of a run, then restored."""
        if self.device.type != "cuda" or self.name == "fp32":
            yield
            return
        matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
        saved = matmul.allow_tf32, cudnn.allow_tf32, matmul.allow_bf16_reduced_precision_reduction
        try:
            if self.name == "tf32":
                matmul.allow_tf32 = cudnn.allow_tf32 = True
            else:
                matmul.allow_bf16_reduced_precision_reduction = False  # fp32 accumulation
            yield
        finally:
            matmul.allow_tf32, cudnn.allow_tf32, matmul.allow_bf16_reduced_precision_reduction = saved

    # ---- the three products the engine uses; fp32 and tf32 are torch's own calls ----
    def operand(self, t):
        """``t`` as a matmul operand: bf16 under bf16, itself otherwise (weights cast once per step)."""
        return t.to(torch.bfloat16) if self.bf16 else t

    def baddbmm(self, bias, a, b):
        """bias + a @ b, in the dtype of ``bias``."""
        if not self.bf16:
            return torch.baddbmm(bias, a, b)
        return self._product(a, b).to(bias.dtype).add_(bias)

    def bmm(self, a, b, out=None):
        """a @ b (into ``out`` if given), in float32 (or the dtype of ``out``)."""
        if not self.bf16:
            return torch.bmm(a, b) if out is None else torch.bmm(a, b, out=out)
        if out is None:
            return self._product(a, b)
        if self._fp32_out and out.dtype == torch.float32:
            return torch.ops.aten.bmm.dtype_out(self.operand(a), self.operand(b), torch.float32, out=out)
        return out.copy_(torch.bmm(self.operand(a), self.operand(b)))

    def add_bmm(self, acc, a, b):
        """acc += a @ b, in place."""
        if not self.bf16:
            return acc.baddbmm_(a, b)
        return acc.add_(self._product(a, b).to(acc.dtype))

    def _product(self, a, b):
        a, b = self.operand(a), self.operand(b)
        if self._fp32_out:
            return torch.ops.aten.bmm.dtype(a, b, torch.float32)
        return torch.bmm(a, b).float()  # the CPU's bf16 kernel accumulates in fp32, rounds the result


def _has_fp32_out(device) -> bool:
    """Whether this torch has CUDA's bf16 x bf16 -> fp32 batched matmul (``aten::bmm.dtype``)."""
    try:
        a = torch.ones(1, 2, 2, dtype=torch.bfloat16, device=device)
        return torch.ops.aten.bmm.dtype(a, a, torch.float32).dtype == torch.float32
    except (RuntimeError, NotImplementedError):
        return False


FP32 = Matmuls("fp32")
