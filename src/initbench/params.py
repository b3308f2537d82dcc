"""The stacked parameters of a pack, in one flat buffer, and how they are drawn.

A pack of S slots (its variants, and padding slots that keep its seed groups equal) keeps every
parameter in one flat tensor, layer by layer: W_1 (S, out_1, in_1), b_1 (S, out_1), W_2, ... Each
``weights[l]`` and ``biases[l]`` is a contiguous view of it, which is what the batched matmuls of
``models.packed_forward`` need; the flat buffer lets the optimiser update all layers at once, in a
few kernels (``optim.SGD``); a value per slot (a learning rate, the mask of the variants still
training) is broadcast over each block of ``Layout.blocks_of``.

``draw`` initialises the slots: each variant from ``inits.init_params`` (bit for bit: the labs'
reproductions and the paired seeds rely on it), drawn in a thread pool (the generators' kernels
release the GIL) straight into a preallocated CPU stack, then moved to the device in one copy.

Usage::

    layout = Layout(sizes=[784, 100, 10], slots=6)
    flat = draw(layout, [(init, seed, bias), ..., None], dtype=torch.float32, device=dev)  # None: padding
    weights, biases = layout.views(flat)
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from initbench import inits


@dataclass(frozen=True)
class Layout:
    """Where each layer's W (S, out, in) and b (S, out) sit in a flat buffer of S slots.

    Each weight and bias is one contiguous (S, n) block. Blocks of the same size sit side by side
    (largest first), so that a value per slot is broadcast over a whole run of them at once: the
    29 hidden 100x100 weights of a depth-30 net are one (29, S, 10000) view (``runs_of``).
    """

    sizes: tuple[int, ...]
    slots: int
    blocks: tuple[int, ...] = field(init=False)  # elements per slot of W_1, b_1, W_2, b_2, ...
    starts: tuple[int, ...] = field(init=False)  # where each of them starts in the flat buffer

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        pairs = zip(self.sizes[:-1], self.sizes[1:], strict=True)
        blocks = tuple(n for i, o in pairs for n in (o * i, o))
        starts, at = [0] * len(blocks), 0
        for j in sorted(range(len(blocks)), key=lambda j: -blocks[j]):  # stable: layer order within a size
            starts[j], at = at, at + self.slots * blocks[j]
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "starts", tuple(starts))

    @property
    def per_slot(self) -> int:
        """Parameters of one slot (one MLP)."""
        return sum(self.blocks)

    @property
    def numel(self) -> int:
        return self.slots * self.per_slot

    def blocks_of(self, flat):
        """``flat`` as its (S, n) blocks: W_1, b_1, W_2, b_2, ... in layer order."""
        return [
            flat[a : a + self.slots * n].view(self.slots, n)
            for a, n in zip(self.starts, self.blocks, strict=True)
        ]

    def views(self, flat):
        """The stacked ``weights`` (S, out, in) and ``biases`` (S, out) of each layer, views of ``flat``."""
        blocks = self.blocks_of(flat)
        weights = [
            blocks[2 * i].view(self.slots, o, i_) for i, (i_, o) in enumerate(itertools.pairwise(self.sizes))
        ]
        return weights, blocks[1::2]

    def runs_of(self, flat):
        """``flat`` as runs of same-size blocks, each a (blocks, S, n) view, in buffer order."""
        runs, at = [], 0
        for n in sorted(set(self.blocks), reverse=True):
            m = self.blocks.count(n)
            runs.append(flat[at : at + m * self.slots * n].view(m, self.slots, n))
            at += m * self.slots * n
        return runs

    def select(self, flat, index):
        """The buffer of the slots at ``index`` (a list of slot positions), as a new flat tensor."""
        index = torch.as_tensor(index, dtype=torch.long, device=flat.device)
        return torch.cat([run.index_select(1, index).reshape(-1) for run in self.runs_of(flat)])

    def gather(self, flat, slot: int):
        """Slot ``slot``'s ``[weights, biases]``, copied to the CPU."""
        weights, biases = self.views(flat)
        return [[w[slot].cpu().clone() for w in weights], [b[slot].cpu().clone() for b in biases]]


def draw(layout: Layout, variants, *, dtype, device, data=None, activation="tanh", threads=None):
    """The initial flat buffer: slot i holds ``inits.init_params(*variants[i])``'s parameters
    (``variants[i]`` is ``(init, seed, bias)``, or None for a padding slot, left at zero).

    ``data`` is the batch data-dependent inits (LSUV) use. Variants are drawn in a pool of
    ``threads`` threads (default: the CPU count) into a float32 CPU stack, then cast and moved
    to ``device`` in one copy.
    """
    host = torch.zeros(layout.numel, dtype=torch.float32)
    blocks = layout.blocks_of(host)

    def one(slot: int) -> None:
        if variants[slot] is None:
            return
        init, seed, bias = variants[slot]
        layers = inits.init_params(init, layout.sizes, seed, data=data, activation=activation, bias=bias)
        for j, t in enumerate(t for pair in layers for t in pair):
            blocks[j][slot].copy_(t.reshape(-1))

    workers = threads or min(32, os.cpu_count() or 1)
    if workers > 1 and layout.slots > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(layout.slots)))
    else:
        for slot in range(layout.slots):
            one(slot)
    return host.to(device=device, dtype=dtype)
