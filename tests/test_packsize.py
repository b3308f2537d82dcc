"""The pack memory estimate, the packs ``pack_size: auto`` cuts, and the estimate against real memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, SCHEMA
from initbench import config as ibconfig
from initbench import grid, packsize

SRC = REPO / "src"


def _lab_config(seeds: int = 5, **top) -> dict:
    """The He lab on Fashion-MNIST (10k subset), with ``top`` keys set at the top level."""
    return ibconfig.validate(
        {
            **top,
            "datasets": {"fm": {"kind": "fashion_mnist", "train_subset": 10_000}},
            "studies": {
                "he_lab": {
                    "dataset": "fm",
                    "hidden": [100, 200, 100],
                    "activation": ["relu"],
                    "init": ["uniform(0,1)", "default", "he_uniform"],
                    "seeds": seeds,
                    "training": {"lr": 0.01, "batch_size": 2000, "epochs": 1},
                }
            },
        },
        SCHEMA,
    )


def test_params_and_per_variant_bytes_follow_the_architecture():
    sizes = packsize.sizes_of("fashion_mnist", [100, 200, 100])
    assert sizes == [784, 100, 200, 100, 10]
    assert packsize.n_params(sizes) == 784 * 100 + 100 + 100 * 200 + 200 + 200 * 100 + 100 + 100 * 10 + 10
    plain = packsize.variant_bytes(sizes, batch=2000, momentum=False)
    assert packsize.variant_bytes(sizes, batch=2000, momentum=True) - plain == 4 * packsize.n_params(sizes)


def test_max_variants_is_the_largest_pack_under_the_budget():
    spec = next(iter(grid.packs(_lab_config(seeds=50), gpu_mb=None).values()))
    data = packsize.Data("fashion_mnist", 20_000)
    for budget in (1000, 4000, 80_000):
        k = packsize.max_variants(spec, data, budget)
        assert packsize.pack_bytes(spec, data, k) <= budget * 2**20 < packsize.pack_bytes(spec, data, k + 1)
    assert packsize.max_variants(spec, data, 1) == 1  # one variant always runs


def test_auto_keeps_a_pack_that_fits_whole_and_under_its_plain_id():
    packs = grid.packs(_lab_config(pack_size="auto"))
    assert list(packs) == [("he_lab", "fm-h100x200x100-relu")]


def test_auto_splits_a_pack_into_even_chunks_that_fit_the_budget():
    cfg = _lab_config(seeds=20, pack_size="auto", pack_memory_mb=500)
    packs = grid.packs(cfg)
    data = packsize.data_of("fm", cfg["datasets"]["fm"])
    sizes = [len(p["variants"]) for p in packs.values()]
    assert len(packs) > 1 and sum(sizes) == 60 and max(sizes) - min(sizes) <= 1
    assert [pid for _, pid in packs] == [f"fm-h100x200x100-relu-p{i}" for i in range(len(packs))]
    assert all(packsize.pack_bytes(p, data) <= 500 * 2**20 for p in packs.values())


def test_auto_fills_a_gpu_with_hundreds_of_small_mlps():
    """On an 80 GB GPU a He-lab pack of 600 variants (200 seeds) stays one job."""
    cfg = _lab_config(seeds=200, pack_size="auto")
    assert [len(p["variants"]) for p in grid.packs(cfg, gpu_mb=81_559).values()] == [600]
    assert len(grid.packs(cfg, gpu_mb=None)) > 1  # the CPU budget (4000 MB) splits it


def test_budget_prefers_the_config_then_the_gpu_then_the_cpu_default():
    assert packsize.budget_mb({"pack_memory_mb": 1234}, gpu_mb=81_559) == 1234
    assert packsize.budget_mb({}, gpu_mb=81_559) == pytest.approx((81_559 - 2048) * 0.9)
    assert packsize.budget_mb({}, gpu_mb=None) == packsize.CPU_BUDGET_MB
    assert packsize.budget_mb({}, gpu_mb=2048) == pytest.approx(1024 * 0.9)  # never below half a GPU


def test_train_rule_requests_the_pack_estimate_in_a_dry_run(tmp_path, monkeypatch):
    """The train jobs' resources in the DAG: mem_mb from the estimate; a GPU for each pack that
    ``placement`` sends to one (the tiny ones train on the CPU)."""
    import re

    from conftest import SCHEMA, snakemake
    from initbench import config as ibconfig
    from initbench import placement

    out = snakemake(
        "-n", "--cores", "2", "--configfile", str(REPO / "tests/config/tiny.yaml"), "--printshellcmds",
        "--verbose", "--config", "device=auto", cwd=tmp_path, env={"INITBENCH_GPUS": "2"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    train_jobs = [block for block in log.split("\nrule ")[1:] if block.startswith("train:")]
    assert len(train_jobs) == 10, log[-3000:]
    cfg = ibconfig.load(REPO / "tests/config/tiny.yaml", SCHEMA)
    monkeypatch.setenv("INITBENCH_GPUS", "2")  # as the dry run saw them
    asks = {f"study={s}, pack={p}": placement.place(spec, placement.data_of(cfg, spec), "auto")["gpu"]
            for (s, p), spec in placement.plan(cfg, None)[0].items()}  # fmt: skip
    assert 0 < sum(asks.values()) < len(asks)
    for block in train_jobs:
        pack = re.search(r"wildcards: (study=\w+, pack=\S+)", block)[1]
        assert f"gpu={asks[pack]}" in block, block
        assert "mem_mb=" in block, block


# Train one real pack of K variants in a fresh process; print the RSS just before training (torch,
# the libraries and the data loaded) and the peak RSS, in bytes.
MEASURE = textwrap.dedent(
    """\
    import json, os, sys
    import torch
    from initbench.train import PackSpec, train_pack
    spec, samples = json.loads(sys.argv[1]), int(sys.argv[2])
    g = torch.Generator().manual_seed(0)
    half = samples // 2
    x, y = torch.rand(half, 784, generator=g), torch.randint(0, 10, (half,), generator=g)
    xt, yt = torch.rand(half, 784, generator=g), torch.randint(0, 10, (half,), generator=g)
    data = {"x_train": x, "y_train": y, "x_val": xt, "y_val": yt, "x_test": xt, "y_test": yt}
    torch.set_num_threads(1)
    before = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    train_pack(PackSpec.from_dict(spec), data, progress=False)
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(before, int(hwm.split()[1]) * 1024)
    """
)


def _training_bytes(spec: dict, samples: int) -> int:
    """Peak RSS during ``train_pack`` above the RSS before it. The peak is VmHWM, not getrusage's
    ru_maxrss, which keeps the high-water mark of the process before its exec: a fork of a large
    pytest process read 700 MB whatever K. glibc's mmap threshold is fixed so that every large
    tensor is its own mapping, returned when freed: the peak then follows the live tensors
    instead of the allocator's history (without it, runs differed by 300 MB)."""
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(spec), str(samples)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    before, peak = map(int, out.stdout.split()[-2:])
    return peak - before


@pytest.mark.slow
def test_estimate_bounds_the_memory_a_real_pack_uses():
    """A real He-lab pack (20 seeds) at K=20 (one init) and K=60 (three inits): the memory training
    adds stays under the estimate (less the data, loaded before), and so does its growth per variant."""
    cfg = _lab_config(seeds=20)
    whole = next(iter(grid.packs(cfg).values()))
    data = packsize.data_of("fm", cfg["datasets"]["fm"])
    one_init = {**whole, "variants": [v for v in whole["variants"] if v["init"] == "default"]}
    used = {20: _training_bytes(one_init, data.samples), 60: _training_bytes(whole, data.samples)}
    estimate = {
        k: packsize.pack_bytes(whole, data, k) - packsize.data_bytes(data) for k in used
    }  # data: loaded before
    per_variant = (used[60] - used[20]) / 40
    per_variant_estimate = packsize.variant_bytes(
        [784, 100, 200, 100, 10], whole["batch_size"], momentum=False
    )
    print(
        f"training memory: K=20 {used[20] / 2**20:.0f} MB (estimate {estimate[20] / 2**20:.0f}), "
        f"K=60 {used[60] / 2**20:.0f} MB (estimate {estimate[60] / 2**20:.0f}); per variant "
        f"{per_variant / 2**20:.2f} MB (estimate {per_variant_estimate / 2**20:.2f})"
    )
    assert used[20] <= estimate[20] and used[60] <= estimate[60]
    assert per_variant <= per_variant_estimate


def test_packsize_needs_no_torch():
    code = "import sys; import initbench.packsize, initbench.grid; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(Path(SRC))})
