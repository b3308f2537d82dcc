"""The per-seed data order of a pack: which samples each seed group sees at each step.

Every epoch, the variants with seed s visit the training set in the order
``torch.randperm(N, generator=G_s)`` (``shuffle=False``: 0..N-1), where ``G_s =
packspec.data_generator(s)`` is seeded from s mixed with a constant, so that its stream is not the
init generator's. Variants that share a seed therefore see the same batches whatever their init
(paired comparisons). The last partial batch is kept.

The pack's slots are laid out in seed groups of equal size (``train._Pack``); a seed group's
batch is gathered once per step and shared by its variants, so the first layer runs as one large
matmul per group.

Usage::

    order = BatchOrder(seeds=[0, 1, 2], n=60000, shuffle=True)
    order.start_epoch(group_seeds=[0, 0, 1, 2], device=dev)   # a seed may span several groups
    xb, yb = order.gather(x_train, y_train, lo, hi)           # (G, hi-lo, D), (G, hi-lo)
"""

from __future__ import annotations

import torch

from initbench import packsize
from initbench.packspec import data_generator


def seed_groups(seeds: dict[int, int], max_groups: int | None = None) -> tuple[list[int], list[int]]:
    """Lay variants out in seed groups of equal size: ``(slots, group_seeds)``.

    ``seeds`` maps each variant index to its seed. Slots run seed by seed (each seed's variants in
    index order), in groups of ``packsize.group_size`` slots; a seed's last group is padded with
    idle slots (-1). With ``max_groups``, the layout never needs more groups than that (a layout
    after divergence never gathers more batches than the one before it).
    """
    by_seed: dict[int, list[int]] = {}
    for v in sorted(seeds):
        by_seed.setdefault(seeds[v], []).append(v)
    counts = [len(vs) for _, vs in sorted(by_seed.items())]
    size = packsize.group_size(counts)
    if max_groups is not None:
        while sum(-(-c // size) for c in counts) > max_groups:
            size += 1
    slots, group_seeds = [], []
    for seed, vs in sorted(by_seed.items()):
        for lo in range(0, len(vs), size):
            chunk = vs[lo : lo + size]
            slots += chunk + [-1] * (size - len(chunk))
            group_seeds.append(seed)
    return slots, group_seeds


class BatchOrder:
    """Each seed's generator, the epoch's permutations of the seed groups, and the batch gather."""

    def __init__(self, seeds, n: int, shuffle: bool = True):
        self.n, self.shuffle = n, shuffle
        self.generators = {int(s): data_generator(s) for s in sorted(set(seeds))}
        self.perms: dict[int, torch.Tensor] = {}  # this epoch's order of each seed, on the CPU
        self.perm = None  # (G, N): the order of each seed group, on the device, during an epoch
        self._buf = None

    def start_epoch(self, group_seeds, device) -> None:
        """Draw this epoch's order of every seed that has a group (once per seed, in seed order)."""
        self.perms = {
            s: torch.randperm(self.n, generator=self.generators[s]) if self.shuffle else torch.arange(self.n)
            for s in sorted(set(group_seeds))
        }
        self.regroup(group_seeds, device)

    def regroup(self, group_seeds, device) -> None:
        """Lay this epoch's orders out for new seed groups (after variants were dropped mid-epoch)."""
        if self.perms and len(group_seeds):
            self.perm = torch.stack([self.perms[s] for s in group_seeds]).to(device)

    def end_epoch(self) -> None:
        self.perms, self.perm = {}, None

    def indices(self, lo: int, hi: int):
        """The sample indices of steps lo:hi of the epoch, per group: (G, hi - lo)."""
        return self.perm[:, lo:hi]

    def gather(self, x, y, idx):
        """The batches of indices ``idx`` (G, B): inputs (G, B, D) and targets (G, B).

        The inputs go into one reused buffer: a fresh (G*B, D) tensor each step costs more in page
        faults than the copy itself."""
        size = idx.numel() * x.shape[1]
        if self._buf is None or self._buf.numel() < size or self._buf.device != x.device:
            self._buf = x.new_empty(size)
        out = self._buf[:size].view(idx.numel(), x.shape[1])
        xb = torch.index_select(x, 0, idx.reshape(-1), out=out).view(*idx.shape, x.shape[1])
        return xb, y[idx]

    def state(self) -> dict:
        return {s: g.get_state() for s, g in self.generators.items()}

    def load(self, state: dict) -> None:
        for seed, s in state.items():
            self.generators[int(seed)].set_state(s.cpu())
