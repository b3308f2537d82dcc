"""SGD for a pack: ``torch.optim.SGD``'s update, with a learning rate and a momentum per variant.

The update is torch.optim.SGD's (momentum buffer = gradient at the first step, buf = m*buf + g
after, then p -= lr*buf; no dampening, Nesterov or weight decay). Each slot of the pack has its
own lr and momentum. It runs on the pack's flat buffers (``params.Layout``). When all slots share
lr and momentum (a grid pack) they are plain numbers, and the update is literally
torch.optim.SGD's ``buf.mul_(m).add_(g)`` and ``p.add_(buf, alpha=-lr)``, one kernel each on the
whole flat buffer; otherwise they are broadcast over each weight and bias block.

Only the slots where ``alive`` is true move. The mask goes through ``torch.where``, not a
multiplication, since a diverged slot's gradient may be NaN and NaN * 0 is NaN: the slot's
parameters must stay exactly as they were. The masked update is written over the gradient
buffer (its last use), one ``torch.where`` per run of same-size blocks (``Layout.runs_of``) with
the mask broadcast, so no mask the size of the parameters is ever built. A diverged slot's momentum buffer may fill with NaN; nothing reads it
again. The buffer starts at zero, so the first step gives buf = m*0 + g = g, as
torch.optim.SGD's first step does, without a branch (a CUDA graph can capture the step).

Usage::

    sgd = SGD(layout, lr=[0.1, 0.05], momentum=[0.0, 0.9], dtype=torch.float32, device=dev)
    sgd.step(flat_params, flat_grads, alive)   # in place; no host synchronisation
"""

from __future__ import annotations

import torch

from initbench.params import Layout


class SGD:
    """Per-slot learning rates and momenta of a pack, and its flat momentum buffer."""

    def __init__(self, layout: Layout, lr, momentum, *, dtype, device, bufs=None):
        self.layout, self.lr, self.momentum = layout, [float(x) for x in lr], [float(x) for x in momentum]
        self.use_momentum = any(m > 0 for m in self.momentum)
        self.uniform = len(set(self.lr)) <= 1 and len(set(self.momentum)) <= 1
        as_column = lambda xs: torch.tensor(xs, dtype=dtype, device=device).unsqueeze(1)  # noqa: E731
        self.neg_lr = -self.lr[0] if self.uniform and self.lr else -as_column(self.lr)
        self.mom = self.momentum[0] if self.uniform and self.momentum else as_column(self.momentum)
        if bufs is None and self.use_momentum:
            bufs = torch.zeros(layout.numel, dtype=dtype, device=device)
        self.bufs = bufs
        self.zero = torch.zeros((), dtype=dtype, device=device)
        self._views: dict = {}  # a flat buffer's block and run views, made once (Python time per step)

    def _split(self, flat):
        key = (flat.data_ptr(), flat.numel())
        if key not in self._views:
            self._views[key] = (self.layout.blocks_of(flat), self.layout.runs_of(flat))
        return self._views[key]

    @torch.no_grad()
    def step(self, params, grads, alive) -> None:
        """p -= lr * (m * buf + g) on the flat ``params`` where the slot is ``alive`` (S,) (the
        flat ``grads`` are overwritten with the masked update)."""
        grad_blocks, grad_runs = self._split(grads)
        update = grad_runs
        if self.use_momentum:
            buf_blocks, update = self._split(self.bufs)
            if self.uniform:
                self.bufs.mul_(self.mom).add_(grads)
            else:
                for buf, g in zip(buf_blocks, grad_blocks, strict=True):
                    buf.mul_(self.mom).add_(g)
        keep = alive.view(1, -1, 1)
        for u, g in zip(update, grad_runs, strict=True):
            torch.where(keep, u, self.zero, out=g)
        if self.uniform:
            params.add_(grads, alpha=self.neg_lr)
        else:
            for p, g in zip(self._split(params)[0], grad_blocks, strict=True):
                p.addcmul_(g, self.neg_lr)
