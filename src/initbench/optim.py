"""SGD for a pack: ``torch.optim.SGD``'s update, with a learning rate and a momentum per variant.

The update is torch.optim.SGD's (momentum buffer = gradient at the first step, buf = m*buf + g
after, then p -= lr*buf; no dampening, Nesterov or weight decay). Each variant of the pack has
its own lr and momentum, broadcast over its slice of every stacked tensor (K, ...).

Usage::

    sgd = SGD(lr=[0.1, 0.05], momentum=[0.0, 0.9], dtype=torch.float32, device=dev)
    sgd.step(weights + biases, grads)        # in place
    sgd.keep(mask)                           # drop variants (a bool mask over the K slots)
"""

from __future__ import annotations

import torch


class SGD:
    """Per-variant learning rates and momenta, and the momentum buffers, of K stacked variants."""

    def __init__(self, lr, momentum, *, dtype, device):
        as_tensor = lambda xs: torch.tensor(list(xs), dtype=dtype, device=device)  # noqa: E731
        self.neg_lr, self.momentum = -as_tensor(lr), as_tensor(momentum)
        self.use_momentum = bool(any(m > 0 for m in momentum))
        self.bufs = None  # created at the first step, as torch.optim.SGD does

    @torch.no_grad()
    def step(self, params, grads) -> None:
        """p -= lr * (m * buf + g) for each stacked tensor p (K, ...) and its gradient g."""
        steps = grads
        if self.use_momentum:
            if self.bufs is None:
                self.bufs = [g.clone() for g in grads]  # SGD: buf = grad at the first step
            else:
                for buf, g in zip(self.bufs, grads, strict=True):
                    buf.mul_(_per_variant(self.momentum, buf)).add_(g)
            steps = self.bufs
        for p, d in zip(params, steps, strict=True):
            p.addcmul_(d, _per_variant(self.neg_lr, p))

    def keep(self, mask) -> None:
        """Keep only the variants where ``mask`` (K,) is true."""
        mask = mask.to(self.neg_lr.device)
        self.neg_lr, self.momentum = self.neg_lr[mask], self.momentum[mask]
        if self.bufs is not None:
            self.bufs = [b[mask] for b in self.bufs]


def _per_variant(values, like):
    """``values`` (K,) shaped to broadcast over ``like`` (K, ...)."""
    return values.view(-1, *[1] * (like.dim() - 1))
