"""The CUDA-graph fast path of a training step: one replay instead of hundreds of kernel launches.

A deep, small pack (the paper's depth study: 30 layers, batch 128, K=40) is bound by launching
kernels, not by running them: each of its ~250 kernels per step does microseconds of work.
``GraphedStep`` captures the step once and replays it. The step reads its batch indices from a
static buffer and writes its losses into another, so a replay only needs two small copies; all
its other tensors (parameters, gradients, momentum buffers, the divergence mask) are updated in
place and keep their addresses. The step never synchronises with the host, which capture needs.

Switched on with ``INITBENCH_CUDA_GRAPHS=1`` (default off: it is exercised only where a GPU
runs ``tests/test_train.py`` with it). It acts on CUDA devices only; on the CPU the variable is
never read. The first full batch of each layout runs eagerly on a side stream (cuBLAS and the
allocator set themselves up), the second is captured and replayed, the rest are replays; the
last, partial batch of an epoch runs eagerly. A new layout (variants dropped after a divergence,
a resume) makes a new ``GraphedStep``.

Usage::

    step = GraphedStep(pack_step, idx_shape=(G, B), slots=S, dtype=torch.float32, device=dev)
    step(idx, loss_row)        # as pack_step(idx, loss_row) would
"""

from __future__ import annotations

import os

import torch

ENV = "INITBENCH_CUDA_GRAPHS"


def enabled(device) -> bool:
    """Whether steps on ``device`` are graphed: CUDA and ``INITBENCH_CUDA_GRAPHS=1``."""
    return torch.device(device).type == "cuda" and os.environ.get(ENV, "0") == "1"


class GraphedStep:
    """Runs ``step(idx, loss_out)`` through static buffers, captured as a CUDA graph when ``capture``."""

    def __init__(self, step, *, idx_shape, slots: int, dtype, device, capture: bool = True):
        self.step, self.capture = step, capture
        self.idx = torch.zeros(idx_shape, dtype=torch.long, device=device)
        self.loss = torch.zeros(slots, dtype=dtype, device=device)
        self.graph, self.warm = None, False

    def __call__(self, idx, loss_out) -> None:
        if tuple(idx.shape) != tuple(self.idx.shape):  # the last, partial batch
            self.step(idx, loss_out)
            return
        self.idx.copy_(idx)
        if not self.capture:  # the same buffers without a graph (the CPU tests of this plumbing)
            self.step(self.idx, self.loss)
        elif not self.warm:
            self._warm_up()
        else:
            if self.graph is None:
                self._record()
            self.graph.replay()
        loss_out.copy_(self.loss)

    def _warm_up(self) -> None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self.step(self.idx, self.loss)
        torch.cuda.current_stream().wait_stream(side)
        self.warm = True

    def _record(self) -> None:
        """Capture the step (it does not run: the replay that follows runs it). Capture itself
        synchronises once, so a sync-debug check in force is paused around it."""
        mode = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode(0)
        try:
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.step(self.idx, self.loss)
        finally:
            torch.cuda.set_sync_debug_mode(mode)
