"""How many variants fit in one training job, and how the engine bounds its temporaries, without torch.

One function, ``plan(device, memory_mb, shape)``, says both how the engine (``train._Pack``,
``layerstats.probe``) cuts its work and how many bytes that takes, so that the estimate and the
engine agree. It caps three temporaries: a training batch runs in parts of at most
``train_elements`` activations of shape (slots, part, widest layer), evaluation in chunks of at
most ``eval_elements``, the layer probe at most ``probe_elements`` at a time.

- cpu (and mps): the caps are cache-sized constants (``CPU_LIMITS``), measured to be fastest
  here; what grows with K is each variant's own state, so memory is linear in K:

      bytes(K) = fixed + K * per_variant

  per_variant, for P parameters (every weight and bias) of ``itemsize`` bytes: 4P (the
  parameters, the gradient of a batch, the masked update, the final copy handed to the results;
  +P for the momentum buffer when the study uses momentum); a batch of inputs (batch x inputs),
  a seed group's gathered batch, counted per variant since a group may hold a single variant
  (``group_size``); the activations and gradients of ``CPU_MIN_PART`` samples, the least a part
  holds. fixed: the dataset, one gathered batch per seed, and the capped temporaries.
- cuda: the caps come from this job's memory budget ``memory_mb`` (its share of the GPU): what
  the data, the seed groups' batches and the slots' state leave is room for the temporaries,
  and a batch is cut into parts only when a whole one does not fit there, so seconds per
  model-epoch do not grow with K. Without a budget (the estimate), a whole batch is one part:
  the estimate is the memory a pack needs to train at full speed.

``pack_size: auto`` splits a pack into as few jobs as keep the estimate under the budget: the
GPU's memory (less a margin for the CUDA context and the caching allocator's slack), or
``pack_memory_mb``. The CPU estimate errs high: ``tests/test_packsize.py`` checks it against the
memory real He-lab packs take on the CPU (measured: 283 MB for K=20 and 370 MB for K=60, where
the estimate says 532 and 844 MB; 2.2 MB more per variant, against 7.8 MB estimated).
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

from initbench import kinds

TRAIN_PART_ELEMENTS = 2**21  # CPU: largest (K, part, width) training temporary: 8 MB, cache-sized
EVAL_CHUNK_ELEMENTS = 2**22  # CPU: largest (K, chunk, width) evaluation temporary: 16 MB in float32
PROBE_ELEMENTS = 2**25  # CPU: most activations and gradients one probe holds at once: 128 MB in float32
# ... but a part or an evaluation chunk keeps at least this many samples: past K ~ 650 variants
# of width 100 the caps would cut a batch into parts of a few samples, whose small matmuls ran
# 2.1x slower per model-epoch here (K=600 with parts of 35 samples vs of 3.5).
CPU_MIN_PART = 32

# Of each dataset kind: inputs, outputs (classes; toy1d has one BCE unit), samples on the device; and
# the test-set sizes (else 1/5). From the kinds' records; a "tensors:<path>" key reads that file.
SHAPES, TEST_SETS = kinds.SHAPES, kinds.TEST_SETS

CPU_BUDGET_MB = 4000  # auto's budget without a GPU: the train rule's default memory request
GPU_MARGIN_MB = 2048  # of a GPU's memory, left to the CUDA context and allocator slack
GPU_SHARE = 0.9  # and of the rest, the share a pack may plan to use
PROCESS_MB = 800  # a Python process with torch imported, before any tensor (measured: 607 MB peak RSS
# for the same-weights lab, whose tensors are a few kB, and up to 250 MB more in another checkout)
MARGIN = 1.25  # the host request's headroom over the estimate: allocator slack, copies while loading


class Data(NamedTuple):
    """What the estimate needs of a dataset: its kind and how many samples sit on the device."""

    kind: str
    samples: int


def data_of(name: str, options: dict) -> Data:
    """``Data`` of dataset ``name`` configured by ``options`` (its ``datasets.<name>`` block)."""
    kind = kinds.data_key(name, options)
    total = options.get("n_samples") or SHAPES[kind][2]
    if options.get("train_subset"):  # the subset plus the test set
        test = options.get("n_test") or TEST_SETS.get(kind, total // 5)
        total = min(total, options["train_subset"] + test)
    return Data(kind, total)


def data_bytes(data: Data, itemsize: int = 4) -> int:
    """The dataset as the engine holds it: every sample's inputs and its label."""
    return itemsize * data.samples * (SHAPES[data.kind][0] + 1)


def sizes_of(kind: str, hidden: list[int]) -> list[int]:
    """Layer sizes (inputs, hidden..., outputs) of an MLP on dataset kind ``kind``."""
    return [SHAPES[kind][0], *hidden, SHAPES[kind][1]]


def n_params(sizes: list[int]) -> int:
    """Weights and biases of an MLP with these layer sizes."""
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


def variant_bytes(sizes: list[int], batch: int, momentum: bool, itemsize: int = 4) -> int:
    """Memory that one more variant adds to a pack on the CPU (see the module docstring)."""
    state = (5 if momentum else 4) * n_params(sizes)
    rows = 3 * sum(sizes[1:]) * min(batch, CPU_MIN_PART)  # z, a, dL/dz of the smallest part
    return itemsize * (state + batch * sizes[0] + rows)


def fixed_bytes(sizes: list[int], batch: int, n_seeds: int, data: int, itemsize: int = 4) -> int:
    """Memory a pack needs on the CPU whatever its size: ``data`` bytes of dataset, gathered
    batches, capped temporaries."""
    gathered = n_seeds * batch * sizes[0]
    temporaries = 3 * TRAIN_PART_ELEMENTS * (len(sizes) - 1) + 2 * EVAL_CHUNK_ELEMENTS + PROBE_ELEMENTS
    return data + itemsize * (gathered + temporaries)


# ---- seed groups: variants of one seed share a gathered batch, in groups of equal size ----
GROUP_COST = 0.5  # a seed group's cost, in slots: its own gathered batch and a thinner first matmul


def group_size(counts: list[int]) -> int:
    """Slots per seed group for seeds with ``counts`` variants each (the engine's layout).

    The packed forward needs groups of equal size p: a seed with c variants takes ceil(c/p)
    groups, the last padded with idle slots. Equal counts give p = c, no padding; otherwise p
    minimises slots + GROUP_COST * groups (ties: the larger p, fewer gathered batches).
    """
    if not counts:
        return 1
    cost = {p: sum(-(-c // p) * (p + GROUP_COST) for c in counts) for p in range(1, max(counts) + 1)}
    return min(cost, key=lambda p: (cost[p], -p))


def slots_and_groups(counts: list[int]) -> tuple[int, int]:
    """(slots, groups) of the layout ``group_size`` picks: padding slots included."""
    p = group_size(counts)
    groups = sum(-(-c // p) for c in counts)
    return groups * p, groups


# ---- the one plan the engine runs by and the estimate counts ----
class Shape(NamedTuple):
    """What a pack's memory depends on: ``shape_of`` makes one from a grid spec, the engine from its run."""

    sizes: tuple[int, ...]  # layer widths, inputs and outputs included
    batch: int
    slots: int  # variants and padding slots
    groups: int  # seed groups, one gathered batch each
    momentum: bool
    data: int  # bytes of the dataset on the device
    samples: int = 0  # training samples (the per-epoch loss buffer has ceil(samples / batch) rows)
    eval_batch: int = 5000
    probe_samples: int = 1000
    itemsize: int = 4


class Plan(NamedTuple):
    """How the engine cuts its work, and the estimated peak bytes of the pack on the device."""

    train_elements: int  # most (slots, part, widest layer) activations of one training part
    eval_elements: int  # most (slots, chunk, widest layer) activations of one evaluation chunk
    probe_elements: int  # most activations and gradients one probe call holds, all layers
    bytes: int

    def parts(self, slots: int, batch: int, width: int) -> int:
        """Parts a batch of ``batch`` samples runs in."""
        return max(1, -(-slots * batch * width // self.train_elements))

    def eval_chunk(self, slots: int, eval_batch: int, width: int) -> int:
        """Samples per evaluation chunk."""
        return max(1, min(eval_batch, self.eval_elements // (slots * width)))

    def probe_models(self, per_model: int) -> int:
        """Models per probe call, each holding ``per_model`` activations and gradients."""
        return max(1, self.probe_elements // per_model)


CPU_LIMITS = (TRAIN_PART_ELEMENTS, EVAL_CHUNK_ELEMENTS, PROBE_ELEMENTS)
# CUDA: elements per (slot, sample) of a training part's temporaries, in multiples of the widths:
# pre-activation and activation of every layer, plus the backward's gradients and the loss's
# (at most three of the widest layer at a time); an evaluation chunk holds ~3 of the widest.
CUDA_STATE = 6  # x P per slot: parameters, gradients, masked update, bf16 operands, mask, rates
EVAL_ROW = 3


def plan(device: str, memory_mb: float | None, shape: Shape) -> Plan:
    """The engine's caps on ``device`` ("cpu", "cuda", "mps") for a pack of ``shape``, and its
    estimated peak bytes there. ``memory_mb``: this job's budget on a GPU (its share of the
    GPU's memory); None gives the estimate of a pack trained at full speed (a whole batch per
    part). The CPU's caps are fixed; it ignores ``memory_mb``."""
    sizes, width, item = list(shape.sizes), max(shape.sizes[1:]), shape.itemsize
    if device != "cuda":
        n_bytes = fixed_bytes(
            sizes, shape.batch, shape.groups, shape.data, item
        ) + shape.slots * variant_bytes(sizes, shape.batch, shape.momentum, item)
        train, chunk, probe = CPU_LIMITS
        slots = max(1, shape.slots)
        train = max(train, slots * min(shape.batch, CPU_MIN_PART) * width)
        chunk = max(chunk, slots * min(shape.eval_batch, CPU_MIN_PART) * width)
        return Plan(train, chunk, probe, n_bytes)
    n_param, widths = n_params(sizes), sum(sizes[1:])
    steps = -(-shape.samples // shape.batch) if shape.samples else 1
    state = item * shape.slots * ((CUDA_STATE + shape.momentum) * n_param + steps)
    fixed = shape.data + shape.groups * shape.batch * (item * sizes[0] + 8)  # gathered inputs, labels
    train_row = item * (2 * widths + 3 * width)  # bytes per (slot, sample) of a training part
    probe_model = item * (3 * shape.probe_samples * widths + n_param)  # z, a, dz of every layer; dW
    slots = max(1, shape.slots)  # a pack whose variants all diverged still evaluates nothing
    whole = slots * shape.batch * train_row
    room = whole if memory_mb is None else max(0, int(memory_mb * 2**20) - fixed - state)
    part = min(shape.batch, max(1, room // (slots * train_row)))
    chunk = min(shape.eval_batch, max(1, room // (slots * item * EVAL_ROW * width)))
    models = min(slots, max(1, room // probe_model))
    temporaries = max(slots * part * train_row, slots * chunk * item * EVAL_ROW * width, models * probe_model)
    return Plan(
        train_elements=slots * part * width,
        eval_elements=slots * chunk * width,
        probe_elements=models * 3 * shape.probe_samples * widths,
        bytes=fixed + state + temporaries,
    )


def shape_of(spec: dict, data: Data, k: int | None = None) -> Shape:
    """The ``Shape`` of training pack ``spec`` (``grid.packs``'s dict) on dataset ``data``;
    with ``k``, of a pack like it with k variants (seed groups as its own, at most k)."""
    variants = spec["variants"]
    seeds = [v["seed"] for v in variants]
    if k is None:
        slots, groups = slots_and_groups([seeds.count(s) for s in sorted(set(seeds))])
    else:
        slots, groups = k, min(k, len(set(seeds)))
    return Shape(
        sizes=tuple(sizes_of(data.kind, spec["hidden"])),
        batch=spec["batch_size"],
        slots=slots,
        groups=groups,
        momentum=any(v["momentum"] > 0 for v in variants),
        data=data_bytes(data),
        samples=data.samples,
        eval_batch=spec.get("eval_batch_size", 5000),
        probe_samples=spec.get("stats_samples", 1000),
    )


def pack_bytes(spec: dict, data: Data, k: int | None = None, device: str = "cpu") -> int:
    """Estimated peak bytes of training pack ``spec`` (``grid.packs``'s dict) on ``device``."""
    return plan(device, None, shape_of(spec, data, k)).bytes


def max_variants(spec: dict, data: Data, budget_mb: float, device: str = "cpu") -> int:
    """The most variants of pack ``spec`` that fit ``budget_mb`` on ``device``; at least 1 (one
    must run). The estimate grows with K, so a bisection finds it."""
    budget = budget_mb * 2**20
    lo, hi = 1, 2
    while pack_bytes(spec, data, hi, device) <= budget:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # pack_bytes(lo) fits (or lo = 1), pack_bytes(hi) does not
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if pack_bytes(spec, data, mid, device) <= budget else (lo, mid)
    return lo


def budget_mb(config: dict, gpu_mb: int | None) -> float:
    """``pack_size: auto``'s budget: ``pack_memory_mb`` if set, else the GPU's usable memory
    (``gpu_mb`` is the smallest visible GPU's, None without one), else ``CPU_BUDGET_MB``."""
    if config.get("pack_memory_mb"):
        return float(config["pack_memory_mb"])
    if gpu_mb:  # a small GPU keeps at least half of its memory for the pack
        return max(gpu_mb - GPU_MARGIN_MB, gpu_mb / 2) * GPU_SHARE
    return float(CPU_BUDGET_MB)


def job_mem_mb(spec: dict, data: Data) -> int:
    """Host memory to request for a training job (the train rule's ``mem_mb``): the process, the
    data loaded on the host, the pack's own estimate and the result rows, plus a quarter, rounded
    up to 100 MB. (The default run's train jobs peaked at 607-1286 MB RSS; their requests are
    1300-2500 MB, the tightest a Table 1 pack: 1286 MB measured, 1900 MB requested.)"""
    steps = spec.get("steps") or spec["epochs"] * math.ceil(data.samples / spec["batch_size"])
    rows = steps * len(spec["variants"]) * 64
    total = PROCESS_MB * 2**20 + data_bytes(data) + pack_bytes(spec, data) + rows
    return int(math.ceil(MARGIN * total / 2**20 / 100) * 100)
