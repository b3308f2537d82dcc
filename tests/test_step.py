"""A training step reads nothing back to the host, and the CUDA-graph plumbing trains the same."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
import torch

from initbench import cudagraphs, packsize, train
from initbench.train import train_pack
from test_train import EQUAL, make_data, pack

# Everything that copies a tensor's value to Python (or the CPU): on a GPU each one would wait
# for the device, and a CUDA graph could not capture the step.
READS = ("item", "__bool__", "__int__", "__float__", "__index__", "tolist", "cpu", "nonzero")


def _diverging_pack(**kw):
    """A pack where one variant diverges mid-epoch, with momentum and unequal seed groups."""
    deep = dict(hidden=[32] * 6, activation="identity", epochs=3)
    variants = [("uniform(0,1)", 0, 10.0, 0.0), ("default", 0, 0.01, 0.9), ("xavier_uniform", 1, 0.002, 0.5)]
    return pack(variants, **(deep | kw))


def _tables_equal(a, b) -> None:
    for table in ("iterations", "epochs", "layers", "summary"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


def test_a_training_step_reads_nothing_back_to_the_host(monkeypatch):
    data, spec = make_data(n=120), _diverging_pack()
    plain = train_pack(spec, data, progress=False)
    assert plain.summary["diverged"].tolist() == [True, False, False]

    inside, calls = [False], [0]

    def guarded(name, original):
        @functools.wraps(original)
        def read(*args, **kwargs):
            if inside[0]:
                raise AssertionError(f"the training step called {name}")
            return original(*args, **kwargs)

        return read

    for name in READS:
        monkeypatch.setattr(torch.Tensor, name, guarded(f"Tensor.{name}", getattr(torch.Tensor, name)))
    monkeypatch.setattr(torch, "nonzero", guarded("torch.nonzero", torch.nonzero))
    step = train._Pack._step

    parts = [0]
    gather = train.BatchOrder.gather

    def counted(self, x, y, idx):
        parts[0] += 1
        return gather(self, x, y, idx)

    monkeypatch.setattr(train.BatchOrder, "gather", counted)

    def watched(self, idx, loss_out):
        inside[0] = True
        try:
            step(self, idx, loss_out)
        finally:
            inside[0] = False
        calls[0] += 1

    monkeypatch.setattr(train._Pack, "_step", watched)
    # small parts, so the step also sums the gradients of several parts
    monkeypatch.setattr(packsize, "CPU_LIMITS", (3 * 10 * 32, *packsize.CPU_LIMITS[1:]))
    monkeypatch.setattr(packsize, "CPU_MIN_PART", 1)
    guarded_run = train_pack(spec, data, progress=False)
    assert calls[0] == 3 * 4  # every step of the three epochs went through the guard
    assert parts[0] > calls[0]  # and the steps ran in parts
    for table in ("iterations", "epochs", "summary"):  # the same training, up to summation order
        a, b = getattr(plain, table), getattr(guarded_run, table)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_graph_buffers_train_exactly_as_the_plain_step(monkeypatch):
    """The static-buffer path a CUDA graph replays (run eagerly here: no GPU) changes nothing."""
    data, spec = make_data(n=130), _diverging_pack()  # 130: a last, partial batch each epoch
    plain = train_pack(spec, data, progress=False)
    monkeypatch.setattr(cudagraphs, "enabled", lambda device: True)
    monkeypatch.setattr(cudagraphs, "GraphedStep", functools.partial(cudagraphs.GraphedStep, capture=False))
    graphed = train_pack(spec, data, progress=False)
    _tables_equal(plain, graphed)
    assert graphed.meta["cuda_graphs"] is True


def test_the_graph_flag_cannot_change_the_cpu(monkeypatch):
    monkeypatch.setenv(cudagraphs.ENV, "1")
    assert not cudagraphs.enabled("cpu") and not cudagraphs.enabled(torch.device("cpu"))
    data, spec = make_data(n=60), pack(EQUAL[:3], epochs=1)
    result = train_pack(spec, data, progress=False)
    assert result.meta["cuda_graphs"] is False
    monkeypatch.setenv(cudagraphs.ENV, "0")
    _tables_equal(result, train_pack(spec, data, progress=False))


def test_dead_slots_become_padding_and_no_batch_is_copied_per_variant(monkeypatch):
    """After a divergence the survivors keep sharing their seed's batch: the diverged slot stays
    as padding and the pack still gathers one batch per seed, never one per variant."""
    calm = [("default", 0, 0.01, 0.9), ("xavier_uniform", 0, 0.002, 0.5)]
    calm += [("default", 1, 0.01, 0.9), ("xavier_uniform", 1, 0.002, 0.5), ("he_normal", 1, 0.001, 0.0)]
    deep = dict(hidden=[32] * 6, activation="identity", epochs=3)
    spec = pack([("uniform(0,1)", 0, 10.0, 0.0), *calm], **deep)
    gathered = []
    gather = train.BatchOrder.gather
    monkeypatch.setattr(
        train.BatchOrder,
        "gather",
        lambda self, x, y, idx: gathered.append(idx.shape[0]) or gather(self, x, y, idx),
    )
    data = make_data(n=120)
    result = train_pack(spec, data, progress=False)
    assert result.summary["diverged"].tolist() == [True] + [False] * 5
    assert set(gathered) == {2} and result.meta["slots"] == 6  # seed 0: two variants and a padding slot
    alone = train_pack(pack(calm, **deep), data, progress=False)  # as if it had never been there
    for i in range(1, 6):
        for a, b in zip(result.params[i][0], alone.params[i - 1][0], strict=True):
            assert (a - b).abs().max() <= 1e-10


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("graphs", ["0", "1"])
def test_on_cuda_a_step_never_synchronises(monkeypatch, graphs):
    """The GPU check: every step runs under torch.cuda.set_sync_debug_mode("error"), with and
    without the CUDA-graph fast path, and trains as on the CPU."""
    monkeypatch.setenv(cudagraphs.ENV, graphs)
    step = train._Pack._step

    def strict(self, idx, loss_out):
        torch.cuda.set_sync_debug_mode("error")
        try:
            step(self, idx, loss_out)
        finally:
            torch.cuda.set_sync_debug_mode(0)

    monkeypatch.setattr(train._Pack, "_step", strict)
    data, spec = make_data(n=130), _diverging_pack()
    on_gpu = train_pack(spec, data, device="cuda", progress=False)
    on_cpu = train_pack(spec, data, device="cpu", progress=False)
    assert on_gpu.meta["cuda_graphs"] is (graphs == "1")
    assert on_gpu.summary["diverged"].tolist() == on_cpu.summary["diverged"].tolist()
    for a, b in zip(on_gpu.params, on_cpu.params, strict=True):
        for x, y in zip([t for layer in a for t in layer], [t for layer in b for t in layer], strict=True):
            assert torch.allclose(x, y, atol=1e-9)
