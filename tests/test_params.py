"""The flat parameter buffer, its parallel initialisation, and the seed-group layout of the slots."""

from __future__ import annotations

import pytest
import torch

from initbench import inits, packsize
from initbench.batches import seed_groups
from initbench.params import Layout, draw

SIZES = [6, 7, 5, 3]
VARIANTS = [
    ("default", 0, None), ("xavier_uniform", 0, None), ("uniform(0,1)", 1, "default"),
    ("lsuv", 1, None), ("he_normal", 2, "zero"), ("orthogonal", 3, None), ("ones", 4, None),
]  # fmt: skip


@pytest.mark.parametrize("threads", [1, 4])
def test_draw_gives_init_params_bit_for_bit(threads):
    """The lab reproductions and the paired seeds rely on each slot being exactly init_params'."""
    data = torch.randn(40, SIZES[0], generator=torch.Generator().manual_seed(9))
    slots = [*VARIANTS[:3], None, *VARIANTS[3:]]  # a padding slot in the middle
    layout = Layout(SIZES, len(slots))
    flat = draw(
        layout, slots, dtype=torch.float32, device="cpu", data=data, activation="tanh", threads=threads
    )
    weights, biases = layout.views(flat)
    for slot, v in enumerate(slots):
        if v is None:
            assert all((w[slot] == 0).all() for w in weights) and all((b[slot] == 0).all() for b in biases)
            continue
        init, seed, bias = v
        expected = inits.init_params(init, SIZES, seed, data=data, activation="tanh", bias=bias)
        for layer, (w, b) in enumerate(expected):
            assert torch.equal(weights[layer][slot], w) and torch.equal(biases[layer][slot], b), (v, layer)


def test_draw_casts_exactly_to_float64():
    layout = Layout(SIZES, 2)
    flat = draw(layout, VARIANTS[:2], dtype=torch.float64, device="cpu")
    w32 = inits.init_params("xavier_uniform", SIZES, 0)[1][0]
    assert flat.dtype == torch.float64 and torch.equal(layout.views(flat)[0][1][1], w32.double())


def test_layout_views_select_and_per_element_agree():
    layout = Layout(SIZES, 3)
    flat = torch.arange(layout.numel, dtype=torch.float32)
    weights, biases = layout.views(flat)
    assert [tuple(w.shape) for w in weights] == [(3, 7, 6), (3, 5, 7), (3, 3, 5)]
    assert all(w.is_contiguous() and w.data_ptr() >= flat.data_ptr() for w in weights)
    assert sorted(t.numel() for t in weights + biases) == sorted(n * 3 for n in layout.blocks)
    kept = Layout(SIZES, 2)
    w2, b2 = kept.views(layout.select(flat, [2, 0]))
    assert torch.equal(w2[1][0], weights[1][2]) and torch.equal(b2[2][1], biases[2][0])
    blocks = layout.blocks_of(flat)
    assert [tuple(b.shape) for b in blocks] == [(3, 42), (3, 7), (3, 35), (3, 5), (3, 15), (3, 3)]
    assert torch.equal(blocks[2][1], weights[1][1].reshape(-1))
    deep = Layout([784] + [100] * 30 + [10], 4)  # same-size blocks side by side: 5 runs, not 62 blocks
    runs = deep.runs_of(torch.zeros(deep.numel))
    assert [tuple(r.shape) for r in runs] == [
        (1, 4, 78400),
        (29, 4, 10000),
        (1, 4, 1000),
        (30, 4, 100),
        (1, 4, 10),
    ]
    w, b = deep.views(torch.arange(deep.numel, dtype=torch.float64))
    assert w[5].is_contiguous() and b[7].is_contiguous() and len({t.data_ptr() for t in w + b}) == 62
    got = layout.gather(flat, 1)
    assert torch.equal(got[0][2], weights[2][1]) and torch.equal(got[1][0], biases[0][1])


def test_equal_seed_groups_need_no_padding():
    slots, groups = seed_groups({i: i % 4 for i in range(12)})  # 3 inits x 4 seeds
    assert groups == [0, 1, 2, 3] and -1 not in slots
    assert slots[:3] == [0, 4, 8]  # seed 0's variants, in index order


def test_unequal_seed_groups_are_padded_or_split():
    slots, groups = seed_groups({0: 0, 1: 0, 2: 0, 3: 1, 4: 1})  # the unequal test pack
    assert slots == [0, 1, 2, 3, 4, -1] and groups == [0, 1]
    # one seed with many variants, many with one: splitting beats padding every seed to 6
    many = {i: 0 for i in range(6)} | {6 + i: 1 + i for i in range(6)}
    slots, groups = seed_groups(many)
    assert len(slots) < 6 * 7 and len(slots) == packsize.slots_and_groups([6, 1, 1, 1, 1, 1, 1])[0]
    assert sorted(v for v in slots if v >= 0) == list(range(12))
    # after divergence a layout never gathers more batches than before
    slots, groups = seed_groups({0: 0, 1: 0, 2: 0, 3: 1, 4: 2, 5: 3}, max_groups=4)
    assert len(groups) == 4 and len(slots) == 12


def test_group_size_keeps_equal_groups_and_prefers_few_batches_on_ties():
    assert packsize.group_size([3, 3, 3]) == 3
    assert packsize.group_size([3, 3, 2, 3]) == 3  # one diverged: keep it as padding
    assert packsize.group_size([2] * 10 + [1] * 10) == 1  # a pack_size chunk cut in an init
    assert packsize.group_size([]) == 1
