"""How many variants fit in one training job: the pack engine's memory, estimated without torch.

The engine (``train._Pack``) keeps its temporaries bounded per pack, whatever the pack size K:
a training batch runs in parts of at most ``TRAIN_PART_ELEMENTS`` activations per layer, evaluation
in chunks of at most ``EVAL_CHUNK_ELEMENTS``, the layer probe at most ``PROBE_ELEMENTS`` at a time.
What grows with K is each variant's own state, so memory is linear in K:

    bytes(K) = fixed + K * per_variant

per_variant, for P parameters (every weight and bias) of ``itemsize`` bytes:
- 4P: the parameters, the gradient of a batch, the gradient of its current part, the final copy
  handed to the results; +P for the momentum buffer when the study uses momentum;
- a batch of inputs (batch x inputs): the copy ``_regroup``'s ``expand`` makes for each variant
  once a divergence leaves the seed groups unequal. Counted always, since a divergence can come at
  any step: a pack must not run out of memory halfway because a variant diverged;
- one row of every layer's activations and their gradient (a part holds at least one sample).

fixed: the dataset on the device, one gathered batch per seed, and the capped temporaries.
``pack_size: auto`` splits a pack into as few jobs as keep ``bytes(K)`` under the budget: the
GPU's memory (less a margin for the CUDA context and the caching allocator's slack), or
``pack_memory_mb``. The estimate errs high: ``tests/test_packsize.py`` checks it against the
memory real He-lab packs take on the CPU (measured: 283 MB for K=20 and 370 MB for K=60, where
the estimate says 532 and 844 MB; 2.2 MB more per variant, against 7.8 MB estimated).
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

from initbench import kinds

TRAIN_PART_ELEMENTS = 2**21  # largest (K, part, width) training temporary: 8 MB, cache-sized
EVAL_CHUNK_ELEMENTS = 2**22  # largest (K, chunk, width) evaluation temporary: 16 MB in float32
PROBE_ELEMENTS = 2**25  # most activations and gradients one probe holds at once: 128 MB in float32

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
    """Memory that one more variant adds to a pack (see the module docstring)."""
    state = (5 if momentum else 4) * n_params(sizes)
    one_row = 3 * sum(sizes[1:])  # pre-activation, activation, gradient of every layer
    return itemsize * (state + batch * sizes[0] + one_row)


def fixed_bytes(sizes: list[int], batch: int, n_seeds: int, data: Data, itemsize: int = 4) -> int:
    """Memory a pack needs whatever its size: data, gathered batches, capped temporaries."""
    gathered = n_seeds * batch * sizes[0]
    temporaries = 3 * TRAIN_PART_ELEMENTS * (len(sizes) - 1) + 2 * EVAL_CHUNK_ELEMENTS + PROBE_ELEMENTS
    return data_bytes(data, itemsize) + itemsize * (gathered + temporaries)


def pack_bytes(spec: dict, data: Data, k: int | None = None) -> int:
    """Estimated peak bytes of training pack ``spec`` (``grid.packs``'s dict) on the device."""
    sizes = sizes_of(data.kind, spec["hidden"])
    variants = spec["variants"]
    k = len(variants) if k is None else k
    momentum = any(v["momentum"] > 0 for v in variants)
    n_seeds = min(k, len({v["seed"] for v in variants}))
    return fixed_bytes(sizes, spec["batch_size"], n_seeds, data) + k * variant_bytes(
        sizes, spec["batch_size"], momentum
    )


def max_variants(spec: dict, data: Data, budget_mb: float) -> int:
    """The most variants of pack ``spec`` that fit ``budget_mb``; at least 1 (one must run)."""
    sizes = sizes_of(data.kind, spec["hidden"])
    momentum = any(v["momentum"] > 0 for v in spec["variants"])
    n_seeds = len({v["seed"] for v in spec["variants"]})
    room = budget_mb * 2**20 - fixed_bytes(sizes, spec["batch_size"], n_seeds, data)
    return max(1, int(room // variant_bytes(sizes, spec["batch_size"], momentum)))


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
    rows = spec["epochs"] * math.ceil(data.samples / spec["batch_size"]) * len(spec["variants"]) * 64
    total = PROCESS_MB * 2**20 + data_bytes(data) + pack_bytes(spec, data) + rows
    return int(math.ceil(MARGIN * total / 2**20 / 100) * 100)
