"""``make bench-gpu``: the paper's lab studies on a GPU, in model-epochs per second and utilisation.

    python -m initbench.gpubench [--configfile config/paper.yaml] [--seeds 10 100 1000] [--epochs 3]

For each lab study of the config (``xavier_lab``, ``he_lab``) and each seed count S: one pack of
the study's architecture, inits and training settings with S seeds (K = inits x S variants; the
paper config's 10 seeds is the published run, more seeds fill the device), trained by
``train.train_pack`` on a GPU claimed as a training job claims one (``devices.claim``), on data of
MNIST's shape (60k training and 10k test images of uniform noise, random labels: the speed does
not depend on the pixel values, and the device machine has no network to fetch MNIST).

While each pack trains, a thread samples ``nvidia-smi`` every 0.2 s. Reported per pack: K, wall
seconds (set-up, evaluation every epoch and layer statistics included), model-epochs per second,
mean and peak GPU utilisation, and the peak memory torch allocated against ``packsize``'s
estimate of it. Written to ``--out`` as JSON and printed as a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from pathlib import Path

import torch

from initbench import config as ibconfig
from initbench import devices, grid, packsize
from initbench.train import PackSpec, train_pack

REPO = Path(__file__).resolve().parents[2]
LAB_STUDIES = ("xavier_lab", "he_lab")


class Utilisation(threading.Thread):
    """Samples ``nvidia-smi``'s utilisation of the pinned GPU until ``stop()``."""

    def __init__(self, period_s: float = 0.2):
        super().__init__(daemon=True)
        self.period_s, self.samples, self._stop = period_s, [], threading.Event()

    def run(self) -> None:
        gpu = devices.visible_gpus()[0]  # claim() pinned it: the physical id or UUID
        cmd = ["nvidia-smi", f"--id={gpu}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.is_set():
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.split()[0]))
            self._stop.wait(self.period_s)

    def stop(self) -> dict:
        self._stop.set()
        self.join()
        s = self.samples
        return {
            "util_mean": sum(s) / len(s) if s else None,
            "util_max": max(s) if s else None,
            "util_samples": len(s),
        }


def lab_pack(cfg: dict, study: str, seeds: int, epochs: int) -> tuple[dict, packsize.Data]:
    """The study's one pack with ``seeds`` seeds and ``epochs`` epochs, and its data's shape."""
    cfg = {**cfg, "pack_size": None, "studies": {study: {**cfg["studies"][study], "seeds": seeds}}}
    cfg["studies"][study]["training"] = {**cfg["studies"][study]["training"], "epochs": epochs}
    (spec,) = grid.packs(cfg).values()
    return spec, packsize.data_of(spec["dataset"], cfg["datasets"][spec["dataset"]])


def noise_data(data: packsize.Data, device: str) -> dict[str, torch.Tensor]:
    """Uniform-noise images and random labels of the dataset's shape, 1/7 of them for test."""
    n_in, n_out, n = packsize.SHAPES[data.kind]
    n_test = n // 7
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, n_in, generator=g), torch.randint(0, n_out, (n,), generator=g)
    out = {"x_train": x[n_test:], "y_train": y[n_test:], "x_test": x[:n_test], "y_test": y[:n_test]}
    out |= {"x_val": out["x_test"], "y_val": out["y_test"]}
    return {k: v.to(device) for k, v in out.items()}


def run_pack(spec: dict, data: packsize.Data, device: str) -> dict:
    tensors = noise_data(data, device)
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    sampler = Utilisation()
    sampler.start()
    begun = time.perf_counter()
    train_pack(PackSpec.from_dict(spec), tensors, device=device, progress=False)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - begun
    k = len(spec["variants"])
    return {
        "study": spec["study"], "k": k, "epochs": spec["epochs"], "seconds": seconds,
        "model_epochs_per_s": k * spec["epochs"] / seconds,
        "peak_mb": (torch.cuda.max_memory_allocated() - base) / 2**20,
        "estimate_mb": (packsize.pack_bytes(spec, data) - packsize.data_bytes(data)) / 2**20,  # data: in base
    } | sampler.stop()  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "config/paper.yaml")
    parser.add_argument("--studies", nargs="+", default=list(LAB_STUDIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[10, 100, 1000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/bench/gpu.json"))
    args = parser.parse_args(argv)
    device = devices.claim("cuda")
    if not torch.cuda.is_available():
        raise SystemExit("gpubench: no CUDA device here; it measures GPU throughput only")
    cfg = ibconfig.load(args.configfile, REPO / "workflow/schemas/config.schema.yaml")
    rows, name = [], torch.cuda.get_device_name()
    print(f"{name}, torch {torch.__version__}")
    print("study       K      s   model-epochs/s  util mean/max %  peak MB  estimate MB")
    for study in args.studies:
        for seeds in args.seeds:
            spec, data = lab_pack(cfg, study, seeds, args.epochs)
            row = run_pack(spec, data, device) | {"gpu": name}
            rows.append(row)
            print(
                f"{study:10} {row['k']:5} {row['seconds']:6.1f} {row['model_epochs_per_s']:15.1f}"
                f"  {row['util_mean'] or 0:6.0f} / {row['util_max'] or 0:3.0f}  {row['peak_mb']:8.0f} {row['estimate_mb']:11.0f}"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
