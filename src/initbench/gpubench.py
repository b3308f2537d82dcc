"""``make bench-gpu``: the paper's lab packs and its deepest ReLU pack on a GPU, against the GPU's matmul rate.

    python -m initbench.gpubench [--configfile config/paper.yaml] [--rows xavier_lab:200:tf32 ...]
                                 [--epochs 2] [--out results/bench/gpu.json]

First it measures the device's matmul rate at each precision (an 8192^3 product: fp32 as torch
runs it by default, fp32 with TF32 allowed, bf16). Then each row trains one pack with
``train.train_pack`` on a GPU claimed as a training job claims one (``devices.claim``), on data
of the dataset's shape (uniform noise and random labels: the speed does not depend on the
values, and a GPU machine may have no network to fetch MNIST). A row is
``STUDY:SEEDS:PRECISION[:graphs]``: the study's pack with SEEDS seeds (K = inits x SEEDS
variants), trained at PRECISION; ``graphs`` sets ``$INITBENCH_CUDA_GRAPHS=1`` for it (the
engine's CUDA-graph fast path). For the ``depth`` study the pack is its deepest, widest ReLU
pack (the paper's 30 x 400, batch 128, K = 8 inits x 5 seeds), which measures launch overhead.

Reported per row: K, wall seconds (set-up, evaluation every epoch and layer statistics
included), model-epochs per second, the matmul FLOPs of one model-epoch (from the layer sizes:
3 x 2 x samples x sum(in x out)), the row's share of the matmul rate of its precision, the
set-up seconds (the engine's meta ``setup_seconds``), peak GPU memory against ``packsize``'s
estimate, and the GPU's utilisation sampled by ``nvidia-smi`` every 0.2 s while the pack trains.
Written to ``--out`` as JSON and printed as a table. Without CUDA it stops with one line.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

from initbench import config as ibconfig
from initbench import devices, grid, packsize, placement
from initbench.train import PackSpec, train_pack

REPO = Path(__file__).resolve().parents[2]
PRECISIONS = ("fp32", "tf32", "bf16")
ROWS = (  # the Xavier lab as published (K=60), at K >= 1000 for each precision, and at K=6000;
    # the depth study's 30 x 400 ReLU pack without and with the CUDA-graph fast path
    "xavier_lab:10:fp32", "xavier_lab:100:fp32", "xavier_lab:200:fp32", "xavier_lab:200:tf32",
    "xavier_lab:200:bf16", "xavier_lab:1000:fp32", "depth:5:fp32", "depth:5:fp32:graphs",
)  # fmt: skip
GRAPHS_VAR = "INITBENCH_CUDA_GRAPHS"


class Utilisation(threading.Thread):
    """Samples ``nvidia-smi``'s utilisation of the pinned GPU until ``stop()``. Without
    ``nvidia-smi`` (or when it fails) it records nothing, and says why in ``note``."""

    def __init__(self, period_s: float = 0.2):
        super().__init__(daemon=True)
        # not self._stop: that would hide threading.Thread._stop, which join() calls
        self.period_s, self.samples, self.note, self._done = period_s, [], None, threading.Event()

    def run(self) -> None:
        ids = devices.visible_gpus()
        if not ids:
            self.note = "no GPU visible to nvidia-smi"
            return
        cmd = ["nvidia-smi", f"--id={ids[0]}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._done.is_set():
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.SubprocessError) as err:  # no nvidia-smi in this image
                self.note = f"no utilisation: {err}"
                return
            try:
                self.samples.append(float(out.stdout.split()[0]))
            except (IndexError, ValueError):
                self.note = f"no utilisation: nvidia-smi said {(out.stdout + out.stderr).strip()[:80]!r}"
                return
            self._done.wait(self.period_s)

    def stop(self) -> dict:
        self._done.set()
        self.join()
        s = self.samples
        return {
            "util_mean": sum(s) / len(s) if s else None,
            "util_max": max(s) if s else None,
            "util_samples": len(s),
            "util_note": self.note,
        }


def matmul_rates(device: str, n: int = 8192, repeats: int = 10, warmups: int = 3) -> dict[str, float]:
    """FLOP/s of an n^3 matmul at each precision: the mean of ``repeats`` after ``warmups``."""
    rates = {}
    for precision in PRECISIONS:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
        with tf32(precision == "tf32"):
            for _ in range(warmups):
                a @ b
            _sync(device)
            begun = time.perf_counter()
            for _ in range(repeats):
                a @ b
            _sync(device)
        rates[precision] = 2 * n**3 * repeats / (time.perf_counter() - begun)
    return rates


@contextlib.contextmanager
def tf32(allowed: bool):
    """TF32 matmuls allowed (or not) inside, torch's setting restored after."""
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = allowed
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


@contextlib.contextmanager
def cuda_graphs(on: bool):
    """The engine's CUDA-graph fast path switched on (or off) inside, ``$INITBENCH_CUDA_GRAPHS``
    restored after."""
    saved = os.environ.get(GRAPHS_VAR)
    os.environ[GRAPHS_VAR] = "1" if on else "0"
    try:
        yield
    finally:
        if saved is None:
            del os.environ[GRAPHS_VAR]
        else:
            os.environ[GRAPHS_VAR] = saved


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def lab_pack(cfg: dict, study: str, seeds: int, epochs: int) -> tuple[dict, packsize.Data]:
    """The study's one pack with ``seeds`` seeds and ``epochs`` epochs, and its data's shape. For a
    study with depth x width, its deepest, widest pack with ReLU (else its first activation) on
    its first dataset."""
    s = cfg["studies"][study]
    one = {"seeds": seeds, "training": {**s["training"], "epochs": epochs}}
    if not s.get("hidden"):
        acts = s["activation"]
        first = s["dataset"] if isinstance(s["dataset"], str) else s["dataset"][0]
        one |= {"depth": [max(s["depth"])], "width": [max(s["width"])], "dataset": first,
                "activation": ["relu" if "relu" in acts else acts[0]]}  # fmt: skip
    cfg = {**cfg, "pack_size": None, "studies": {study: {**s, **one}}}
    (spec,) = grid.packs(cfg).values()
    return spec, packsize.data_of(spec["dataset"], cfg["datasets"][spec["dataset"]])


def noise_data(data: packsize.Data, device: str) -> dict[str, torch.Tensor]:
    """Uniform-noise images and random labels of the dataset's shape and size, 1/7 for test."""
    n_in, n_out, _ = packsize.SHAPES[data.kind]
    n = data.samples
    n_test = n // 7
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, n_in, generator=g), torch.randint(0, n_out, (n,), generator=g)
    out = {"x_train": x[n_test:], "y_train": y[n_test:], "x_test": x[:n_test], "y_test": y[:n_test]}
    out |= {"x_val": out["x_test"], "y_val": out["y_test"]}
    return {k: v.to(device) for k, v in out.items()}


def with_precision(spec: dict, precision: str) -> dict | None:
    """The spec trained at ``precision``; None when this engine's PackSpec has no precision key
    (fp32 is what it does)."""
    if "precision" in {f.name for f in dataclasses.fields(PackSpec)}:
        return {**spec, "precision": precision}
    return spec if precision == "fp32" else None


def run_pack(
    spec: dict, data: packsize.Data, device: str, rates: dict[str, float], graphs: bool = False
) -> dict:
    """Train ``spec`` on noise of ``data``'s shape on ``device``; one row of the table."""
    tensors = noise_data(data, device)
    on_cuda = str(device).startswith("cuda")
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if on_cuda else 0
    share = {"memory_mb": torch.cuda.get_device_properties(0).total_memory / 2**20} if on_cuda else {}
    sampler = Utilisation()
    with cuda_graphs(graphs):
        sampler.start()
        try:
            begun = time.perf_counter()
            result = train_pack(PackSpec.from_dict(spec), tensors, device=device, progress=False, **share)
            _sync(device)
            seconds = time.perf_counter() - begun
        finally:
            util = sampler.stop()
    k, precision = len(spec["variants"]), spec.get("precision", "fp32")
    flops = placement.matmul_flops(packsize.sizes_of(data.kind, spec["hidden"]), tensors["x_train"].shape[0])
    rate = k * spec["epochs"] / seconds
    return {
        "study": spec["study"], "pack": spec["pack"], "k": k, "precision": precision, "cuda_graphs": graphs,
        "epochs": spec["epochs"], "seconds": seconds, "model_epochs_per_s": rate,
        "flops_per_model_epoch": flops, "matmul_rate": rates[precision],
        "share_of_matmul": rate * flops / rates[precision], "setup_seconds": result.meta.get("setup_seconds"),
        "peak_mb": (torch.cuda.max_memory_allocated() - base) / 2**20 if on_cuda else None,
        "estimate_mb": (packsize.pack_bytes(spec, data) - packsize.data_bytes(data)) / 2**20,  # data: in base
    } | util  # fmt: skip


def parse_row(text: str) -> tuple[str, int, str, bool]:
    """``STUDY:SEEDS:PRECISION[:graphs]`` -> (study, seeds, precision, graphs)."""
    parts = text.split(":")
    if (
        len(parts) not in (3, 4)
        or not parts[1].isdigit()
        or parts[2] not in PRECISIONS
        or parts[3:] not in ([], ["graphs"])
    ):
        raise ValueError(
            f"row {text!r}: expected STUDY:SEEDS:PRECISION[:graphs], PRECISION one of {', '.join(PRECISIONS)}"
        )
    return parts[0], int(parts[1]), parts[2], parts[3:] == ["graphs"]


HEADER = "study        K  prec  graphs      s  model-epochs/s  GFLOP/model-epoch  % of matmul  set-up s  util mean/max %  peak MB  estimate MB"


def format_row(r: dict) -> str:
    none = lambda x, f: "-" if x is None else format(x, f)  # noqa: E731
    return (
        f"{r['study']:10} {r['k']:5}  {r['precision']:4}  {'on' if r['cuda_graphs'] else 'off':6} {r['seconds']:6.1f}"
        f" {r['model_epochs_per_s']:15.1f} {r['flops_per_model_epoch'] / 1e9:18.1f} {100 * r['share_of_matmul']:12.1f}"
        f" {none(r['setup_seconds'], '9.2f')}  {none(r['util_mean'], '6.0f')} / {none(r['util_max'], '3.0f')}"
        f"  {none(r['peak_mb'], '8.0f')} {r['estimate_mb']:11.0f}"
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "config/paper.yaml")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), help="STUDY:SEEDS:PRECISION[:graphs] ...")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--matmul-n", type=int, default=8192)
    parser.add_argument("--out", type=Path, default=Path("results/bench/gpu.json"))
    args = parser.parse_args(argv)
    try:
        rows = [parse_row(r) for r in args.rows]
    except ValueError as err:
        raise SystemExit(f"gpubench: {err}") from None
    device = devices.claim("cuda", log=lambda msg: print(msg, file=sys.stderr))
    if not torch.cuda.is_available() or not device.startswith("cuda"):
        raise SystemExit("gpubench: no CUDA device here; it measures GPU throughput only")
    cfg = ibconfig.load(args.configfile, REPO / "workflow/schemas/config.schema.yaml")
    name = torch.cuda.get_device_name()
    rates = matmul_rates(device, args.matmul_n)
    print(f"{name}, torch {torch.__version__}; matmul {args.matmul_n}^3: "
          + ", ".join(f"{p} {r / 1e12:.1f} TFLOP/s" for p, r in rates.items()))  # fmt: skip
    print(HEADER)
    results = []
    for study, seeds, precision, graphs in rows:
        spec, data = lab_pack(cfg, study, seeds, 1 if study == "depth" else args.epochs)
        spec = with_precision(spec, precision)
        if spec is None:
            print(f"{study:10} {precision}: skipped, this engine has no precision key")
            continue
        row = run_pack(spec, data, device, rates, graphs) | {"gpu": name, "matmul_rates": rates}
        results.append(row)
        print(format_row(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
