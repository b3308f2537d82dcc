"""``precision``: fp32 exact, tf32 a no-op on the CPU, bf16 matmuls close to fp32, checkpoints apart."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from initbench import precision
from initbench.checkpoint import CheckpointMismatch
from initbench.models import packed_backward, packed_forward, packed_loss
from initbench.train import train_pack
from test_train import EQUAL, make_data, pack


def test_bf16_matmuls_round_the_operands_and_give_fp32():
    a = torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(0))
    b = torch.randn(2, 50, 4, generator=torch.Generator().manual_seed(1))
    mm = precision.Matmuls("bf16")
    got = mm.bmm(a, b)
    exact = torch.bmm(a.bfloat16().double(), b.bfloat16().double())  # the rounded operands' product
    assert got.dtype == torch.float32 and not torch.equal(got, torch.bmm(a, b))
    # the CPU's bf16 kernel rounds its fp32 result to bf16: within a bf16 ulp of the exact product
    assert ((got.double() - exact).abs() <= exact.abs() * 2**-8 + 1e-6).all()
    acc = torch.zeros(2, 3, 4)
    mm.add_bmm(acc, a, b)
    assert torch.equal(acc, got) and torch.equal(mm.bmm(a, b, out=torch.empty(2, 3, 4)), got)
    assert torch.equal(precision.Matmuls("fp32").bmm(a, b), torch.bmm(a, b))


def test_bf16_reaches_the_backward_too():
    """The hand-written backward's matmuls use the policy too (autocast would not reach them)."""
    g = torch.Generator().manual_seed(2)
    weights = [torch.randn(3, 16, 8, generator=g), torch.randn(3, 4, 16, generator=g)]
    biases = [torch.randn(3, 16, generator=g), torch.randn(3, 4, generator=g)]
    x, y = torch.randn(1, 20, 8, generator=g), torch.randint(0, 4, (1, 20), generator=g)
    grads = {}
    for name in ("fp32", "bf16"):
        mm = precision.Matmuls(name)
        out, pre, post = packed_forward(weights, biases, x, "tanh", record=True, mm=mm)
        _, dout = packed_loss(out, y, "cross_entropy", grad=True)
        grads[name] = packed_backward(weights, x, pre, post, dout, "tanh", mm=mm)[0]
    for fp32, bf16 in zip(grads["fp32"], grads["bf16"], strict=True):
        assert bf16.dtype == torch.float32 and not torch.equal(fp32, bf16)
        assert (bf16 - fp32).abs().max() <= 0.02 * fp32.abs().max()  # a few bf16 ulps


def test_bf16_training_ends_close_to_fp32():
    data = make_data(n=300, dtype=torch.float32)
    results = {
        name: train_pack(pack(EQUAL, epochs=4, precision=name), data, progress=False)
        for name in ("fp32", "bf16")
    }
    fp32, bf16 = (results[n].summary.set_index("variant") for n in ("fp32", "bf16"))
    assert not fp32["final_val_loss"].equals(bf16["final_val_loss"])  # bf16 did change the arithmetic
    # bf16 rounds each matmul operand to 8 significant bits (relative error <= 2^-9, 0.2%); over
    # 40 small SGD steps on these well-separated blobs that moves each variant's losses by a few
    # percent at most, and flips at most 3 of the 60 validation predictions (accuracy 0.05).
    assert (bf16["final_val_accuracy"] - fp32["final_val_accuracy"]).abs().max() <= 0.05
    assert (
        (bf16["final_val_loss"] - fp32["final_val_loss"]).abs() <= 0.05 * fp32["final_val_loss"] + 0.01
    ).all()
    params = results["bf16"].params[0][0]
    assert all(t.dtype == torch.float32 for t in params)  # the weights themselves stay fp32
    meta = results["bf16"].meta
    assert meta["precision"] == "bf16" and meta["precision_applied"] is True


def test_tf32_has_no_effect_on_the_cpu_and_says_so(tmp_path):
    data = make_data(n=80, dtype=torch.float32)
    fp32 = train_pack(pack(EQUAL[:3], epochs=2), data, progress=False)
    tf32 = train_pack(pack(EQUAL[:3], epochs=2, precision="tf32"), data, progress=False)
    for table in ("iterations", "epochs", "layers"):
        pd.testing.assert_frame_equal(getattr(fp32, table), getattr(tf32, table), check_exact=True)
    assert tf32.meta["precision"] == "tf32" and tf32.meta["precision_applied"] is False
    assert "no effect on the CPU" in tf32.meta["precision_note"]
    tf32.write(tmp_path)
    assert json.loads((tmp_path / "meta.json").read_text())["precision"] == "tf32"
    assert fp32.meta["precision"] == "fp32" and fp32.meta["precision_applied"] is True


def test_an_fp32_checkpoint_never_resumes_under_bf16(tmp_path):
    data, ckpt = make_data(n=60, dtype=torch.float32), tmp_path / "ckpt.pt"
    train_pack(pack(EQUAL[:2], epochs=1), data, checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointMismatch, match="different pack spec"):
        train_pack(pack(EQUAL[:2], epochs=1, precision="bf16"), data, checkpoint=ckpt, progress=False)


def test_bad_precision_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown precision 'fp16'; valid precisions are: fp32, tf32, bf16"):
        pack(EQUAL[:1], precision="fp16")
    with pytest.raises(ValueError, match="precision 'bf16' trains float32 data"):
        train_pack(pack(EQUAL[:1], precision="bf16"), make_data(n=40), progress=False)
