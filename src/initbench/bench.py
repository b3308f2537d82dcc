"""``make bench``: how fast the engine trains the Xavier lab's model, against the lab's way and the floor.

    python -m initbench.bench [--k 27] [--epochs 5] [--out results/bench/bench.json]

Three numbers, all seconds per model-epoch of the model [784, 100, 10, 100, 10, 100, 10] with tanh
on 60,000 synthetic 28x28 images, batch 2000, SGD lr 0.01, measured in one run:

- ``lab_style_s``: the course lab's way, one epoch: a DataLoader over a torchvision-style dataset
  that makes a PIL image per sample and converts it with ``transforms.ToTensor()``, one
  ``nn.Module`` trained with ``torch.optim.SGD``;
- ``engine_s``: ``train.train_pack`` on a pack of K variants (the lab's three inits over K/3
  seeds, so the pack gathers K/3 different batches per step, as a real study's pack does), its
  whole wall time (set-up, validation every epoch, layer statistics, histograms and the test
  evaluation included) divided by K x epochs; ``engine_steady_s`` leaves out the set-up, the
  epoch-0 and the test evaluation (``engine_fixed_s`` seconds in all; ``engine_setup_s`` of them
  drawing the initial parameters);
- ``floor_s``: the matmul FLOPs of one epoch (forward + backward = 3x the forward's) divided by the
  rate of a 4096^3 fp32 matmul measured here, best of a few: no trainer can beat it by much.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from initbench.checkpoint import atomic_write
from initbench.models import MLPSpec, build_module
from initbench.train import PackSpec, VariantSpec, resolve_device, train_pack

HIDDEN = [100, 10, 100, 10, 100]  # the Xavier lab's hidden layers
LAB_INITS = ("xavier_uniform", "default", "uniform(0,1)")
BATCH, LR, CLASSES, SIDE = 2000, 0.01, 10, 28


class LabDataset(Dataset):
    """What ``torchvision.datasets.MNIST`` does per sample: uint8 array -> PIL image -> transform."""

    def __init__(self, images, targets, transform):
        self.data, self.targets, self.transform = images, targets, transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        img = Image.fromarray(self.data[i].numpy(), mode="L")
        return self.transform(img), int(self.targets[i])


def matmul_rate(n: int = 4096, repeats: int = 3) -> float:
    """FLOP/s of an n^3 fp32 matmul on the CPU, best of ``repeats`` (after one warm-up)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def lab_style_epoch(images, targets) -> float:
    """Seconds for one epoch of the lab's own loop (DataLoader + ToTensor + one nn.Module)."""
    loader = DataLoader(LabDataset(images, targets, transforms.ToTensor()), batch_size=BATCH, shuffle=True)
    torch.manual_seed(0)
    model = build_module(MLPSpec(SIDE * SIDE, tuple(HIDDEN), CLASSES, "tanh"))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    criterion = nn.CrossEntropyLoss()

    def epoch():
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x.view(-1, SIDE * SIDE)), y)
            loss.backward()
            optimizer.step()

    return _timed(epoch)


def run(k: int = 27, epochs: int = 5, n: int = 60000, n_val: int = 10000, device: str | None = None) -> dict:
    """Measure the three timings; return the numbers ``main`` writes as JSON."""
    if k < 1 or epochs < 1 or n < 1:
        raise ValueError(f"need k, epochs, n >= 1; got k={k}, epochs={epochs}, n={n}")
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n + n_val, SIDE, SIDE), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, CLASSES, (n + n_val,), generator=gen)
    x = images.view(-1, SIDE * SIDE).float().div_(255)  # what ToTensor gives, held in memory
    data = {
        "x_train": x[:n], "y_train": labels[:n], "x_val": x[n:], "y_val": labels[n:],
        "x_test": x[n:], "y_test": labels[n:],
    }  # fmt: skip
    sizes = [SIDE * SIDE, *HIDDEN, CLASSES]
    flops = 3 * 2 * n * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    rate = matmul_rate()
    lab_s = lab_style_epoch(images[:n], labels[:n])
    variants = [VariantSpec(LAB_INITS[i % 3], i // 3, LR) for i in range(k)]
    spec = PackSpec(hidden=HIDDEN, activation="tanh", batch_size=BATCH, epochs=epochs, variants=variants)
    dev = resolve_device(device)
    stamps = []  # the end of each epoch (its validation and layer statistics included)
    start = time.perf_counter()
    result = train_pack(spec, data, device=str(dev), log=lambda line: stamps.append(time.perf_counter()))
    engine_total = time.perf_counter() - start
    engine_s, floor_s = engine_total / (k * epochs), flops / rate
    steady = (stamps[-1] - stamps[0]) / (k * (epochs - 1)) if epochs > 1 else math.nan
    return {
        "floor_s": floor_s,
        "engine_s": engine_s,
        "lab_style_s": lab_s,
        "ratio_to_floor": engine_s / floor_s,
        "speedup_vs_lab": lab_s / engine_s,
        "k": k,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": str(dev),
        "epochs": epochs,
        "engine_steady_s": steady,  # epochs 2.. only: without set-up, epoch-0 and test evaluation
        "engine_fixed_s": engine_total - (stamps[-1] - stamps[0]) * epochs / max(1, epochs - 1),
        "engine_setup_s": result.meta["setup_seconds"],  # drawing the K initial parameter sets
        "n_train": n,
        "matmul_gflops": rate / 1e9,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=27, help="variants in the engine's pack (default 27)")
    # 5 epochs: the set-up, the epoch-0 and the test evaluation (~1 s for K=27) are then spread
    # as in real runs (the labs train 15-30 epochs) rather than dominating.
    parser.add_argument("--epochs", type=int, default=5, help="epochs the engine trains (default 5)")
    parser.add_argument("--n", type=int, default=60000, help="training samples (default 60000, as MNIST)")
    parser.add_argument("--device", default=None, help="engine device (default: auto)")
    parser.add_argument("--out", type=Path, default=Path("results/bench/bench.json"))
    args = parser.parse_args(argv)
    result = run(k=args.k, epochs=args.epochs, n=args.n, n_val=min(10000, args.n), device=args.device)
    atomic_write(args.out, lambda tmp: tmp.write_text(json.dumps(result, indent=2) + "\n"))
    print(f"{'way':<34}{'s / model-epoch':>16}{'x floor':>10}")
    for label, key in (
        ("floor (FLOPs / matmul rate)", "floor_s"),
        (f"engine, pack of K={args.k}", "engine_s"),
        ("lab (DataLoader + ToTensor)", "lab_style_s"),
    ):
        print(f"{label:<34}{result[key]:>16.4f}{result[key] / result['floor_s']:>10.2f}")
    print(
        f"speed-up vs lab {result['speedup_vs_lab']:.1f}x, peak RSS {result['peak_rss_mb']:.0f} MB, "
        f"device {result['device']}; written to {args.out}"
    )
    return result


if __name__ == "__main__":
    main()
