"""``make bench-paper``: how long a config's whole grid would take on this device, projected from short runs.

    python -m initbench.paperbench [--configfile tests/config/paper-offline.yaml] [--steps 5]
        [--eval-samples 5000] [--precisions fp32 tf32 bf16] [--out results/bench/paper.json]

Needs no data: every run trains on noise of the dataset's shape (the speed does not depend on
the values). Runs on whatever device is here: packs that ``placement`` sends to a GPU train on
CUDA when there is one, the others on the CPU.

**Measured**, for each distinct architecture of the config's packs (input and output sizes,
hidden sizes, batch, K, loss, momentum; the activation only changes elementwise work and is
measured with the study's first) and each precision: three runs of ``train.train_pack`` of two
epochs each, the first epoch warming up, with the pack's variants re-initialised by ``default``
(noise must not make one diverge and leave the pack early):

    A: s steps an epoch, v validation samples;   B: 2s steps, v;   C: s steps, 2v.

The second epoch takes ``a + b x steps + c x validation samples``: b = (B - A) / s is the
seconds per step, c = (C - A) / v per evaluated sample, and a is what else an epoch end costs
(the layer probe). Packs that differ only in depth (depth x width studies) cost an affine
function of it, so they are measured at the shallowest, a middle and the deepest depth and
interpolated between. One more run with the pack's own inits measures its set-up (the engine's
meta ``setup_seconds`` when it reports one), and a fresh Python that imports torch and touches
the device measures a job's start-up.

**Projected**, per pack p of the grid: t_p = start-up + set-up + epochs x (steps x b + a + c x
n_val) + c x n_test (the final test). A set of packs takes

    max(sum of t_p on the GPU / N,  their matmul FLOPs / the GPU's matmul rate,
        sum of t_p on the CPU / (cores / threads),  the longest t_p)

with N the config's ``gpu_jobs`` on this GPU: jobs that share a GPU are taken not to slow each
other down until together they reach its matmul rate, which is optimistic for packs that fill
the GPU alone; ``serial`` (one job at a time, the sum of t_p) is the pessimistic bound. Printed
and saved study by study and for the whole grid, for each precision; studies that
config/paper.yaml lacks are printed on lines of their own, outside its grid's total.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from initbench import gpubench, packsize, placement
from initbench.checkpoint import atomic_write
from initbench.train import PackSpec, train_pack

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def splits(kind: str, options: dict) -> tuple[int, int, int]:
    """(training, validation, test) samples of a dataset as configured."""
    if kind == "toy1d":
        return 40, 40, 40  # the lab's 40 points are all three
    total = options.get("n_samples") or packsize.SHAPES[kind][2]
    n_test = packsize.TEST_SETS.get(kind) or round(0.2 * total)
    n_train = total - n_test
    if options.get("train_subset"):
        n_train = min(n_train, options["train_subset"])
    if options.get("validation", "test") == "test":
        return n_train, n_test, n_test
    n_val = round(options["validation"] * n_train)
    return n_train - n_val, n_val, n_test


def arch_key(spec: dict, kind: str) -> tuple:
    """What a pack's cost depends on, but its depth (see the module docstring)."""
    n_in, n_out, _ = packsize.SHAPES[kind]
    h = spec["hidden"]
    width = h[0] if len(set(h)) == 1 and spec["_uniform"] else tuple(h)
    momentum = any(v["momentum"] > 0 for v in spec["variants"])
    return (n_in, n_out, width, spec["batch_size"], len(spec["variants"]), spec["loss"], momentum)


def noise(kind: str, loss: str, n_train: int, n_eval: int, device: str) -> dict[str, torch.Tensor]:
    """Noise inputs and random labels (every class present) of the dataset's shape."""
    n_in, n_out, _ = packsize.SHAPES[kind]
    g = torch.Generator().manual_seed(0)
    out = {}
    for split, n in (("train", n_train), ("val", n_eval), ("test", n_eval)):
        y = torch.randint(0, 2 if loss == "bce" else n_out, (n,), generator=g)
        y[0] = 1 if loss == "bce" else n_out - 1  # the engine counts the classes from the labels
        out |= {
            f"x_{split}": torch.rand(n, n_in, generator=g),
            f"y_{split}": y.float() if loss == "bce" else y,
        }
    return {k: v.to(device) for k, v in out.items()}


def timed(spec: dict, kind: str, n_train: int, n_eval: int, device: str, memory_mb) -> dict:
    """Train ``spec`` on noise: seconds before the first epoch ended, of the second epoch, after it."""
    marks: list[float] = []
    data = noise(kind, spec["loss"], n_train, n_eval, device)
    sized = {"memory_mb": memory_mb} if memory_mb else {}
    begun = time.perf_counter()
    result = train_pack(
        PackSpec.from_dict(spec), data, device=device, progress=True,
        log=lambda msg: marks.append(time.perf_counter()) if msg.startswith("epoch ") else None, **sized,
    )  # fmt: skip
    gpubench._sync(device)
    end = time.perf_counter()
    if len(marks) != spec["epochs"]:
        raise RuntimeError(f"{spec['study']}/{spec['pack']}: stopped after {len(marks)} epochs on noise")
    first = marks[0] - begun
    return {"first": first, "epoch": marks[-1] - marks[-2] if len(marks) > 1 else first,
            "finish": end - marks[-1], "setup": result.meta.get("setup_seconds")}  # fmt: skip


def measure(spec: dict, kind: str, device: str, steps: int, v: int, precision: str, memory_mb) -> dict | None:
    """Seconds per step (b), per evaluated sample (c), per epoch end besides (a), and at the end."""
    spec = gpubench.with_precision(spec, precision)
    if spec is None:
        return None
    plain = {**spec, "epochs": 2, "variants": [{**x, "init": "default"} for x in spec["variants"]]}
    b = spec["batch_size"]
    A = timed(plain, kind, steps * b, v, device, memory_mb)
    B = timed(plain, kind, 2 * steps * b, v, device, memory_mb)
    C = timed(plain, kind, steps * b, 2 * v, device, memory_mb)
    step = max(0.0, (B["epoch"] - A["epoch"]) / steps)
    per_sample = max(0.0, (C["epoch"] - A["epoch"]) / v)
    rest = max(0.0, A["epoch"] - steps * step - v * per_sample)
    return {"step_s": step, "eval_sample_s": per_sample, "epoch_end_s": rest,
            "finish_s": max(0.0, A["finish"] - v * per_sample)}  # fmt: skip


def setup_seconds(spec: dict, kind: str, device: str, memory_mb) -> float:
    """The pack's set-up with its own inits: init, the epoch-0 evaluation of 1 sample and the probe."""
    run = timed({**spec, "epochs": 1}, kind, spec["batch_size"], 1, device, memory_mb)
    return run["setup"] if run["setup"] is not None else run["first"]


def startup_seconds(device: str) -> float:
    """A training job's start-up: a fresh Python importing torch and initbench, touching the device."""
    code = f"import torch, initbench.train; torch.zeros(1, device={device!r}).sum().item()"
    begun = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - begun


def interpolate(points: dict[int, dict], depth: int) -> dict:
    """Each measured quantity at ``depth``, piecewise linear between the measured depths."""
    known = sorted(points)
    lo = max([d for d in known if d <= depth], default=known[0])
    hi = min([d for d in known if d >= depth], default=known[-1])
    w = 0.0 if hi == lo else (depth - lo) / (hi - lo)
    return {k: (1 - w) * points[lo][k] + w * points[hi][k] for k in points[lo]}


def packs_of(cfg: dict, gpu_mb: int | None) -> tuple[list[dict], int]:
    """The grid's packs, each with its kind, splits and lane (``cuda`` or ``cpu``), and gpu_jobs."""
    packs, n_slots = placement.plan(cfg, gpu_mb)
    out = []
    for (study, _), spec in packs.items():
        data = placement.data_of(cfg, spec)
        gpu = torch.cuda.is_available() and placement.place(spec, data, cfg["device"])["device"] != "cpu"
        uniform = not cfg["studies"][study].get("hidden")
        out.append(spec | {"_kind": data.kind, "_splits": splits(data.kind, cfg["datasets"][spec["dataset"]]),
                           "_lane": "cuda" if gpu else "cpu", "_uniform": uniform})  # fmt: skip
    return out, n_slots


def measure_all(packs: list[dict], precisions, steps: int, eval_samples: int, share_mb, log=print) -> dict:
    """Per (lane, arch key): set-up and, per precision and measured depth, ``measure``'s numbers."""
    groups: dict[tuple, dict[int, dict]] = {}
    for p in packs:
        groups.setdefault((p["_lane"], *arch_key(p, p["_kind"])), {}).setdefault(len(p["hidden"]), p)
    measured = {}
    for key, by_depth in groups.items():
        depths = sorted(by_depth)
        picks = sorted({depths[0], depths[len(depths) // 2], depths[-1]})
        lane, memory_mb = key[0], share_mb if key[0] == "cuda" else None
        points = {}
        for d in picks:
            spec = {k: v for k, v in by_depth[d].items() if not k.startswith("_")}
            kind, (_, n_val, _) = by_depth[d]["_kind"], by_depth[d]["_splits"]
            v = max(1, min(eval_samples, n_val))
            started = time.perf_counter()
            points[d] = {"setup_s": setup_seconds(spec, kind, lane, memory_mb)} | {
                prec: measure(spec, kind, lane, steps, v, prec, memory_mb) for prec in precisions
            }
            log(f"measured {spec['study']}/{spec['pack']} on {lane} ({len(spec['variants'])} variants, "
                f"depth {d}): {time.perf_counter() - started:.1f} s")  # fmt: skip
        measured[key] = points
    return measured


def project(packs: list[dict], measured: dict, precision: str, start_s: dict, n_slots: int, rates: dict,
            cpu_lanes: int) -> dict:  # fmt: skip
    """Projected seconds of a set of packs at ``precision`` (module docstring); None if unmeasured."""
    times, flops = {"cuda": [], "cpu": []}, 0.0
    for p in packs:
        points = measured[(p["_lane"], *arch_key(p, p["_kind"]))]
        if any(pt[precision] is None for pt in points.values()):
            return {"serial_s": None, "projected_s": None, "jobs": len(packs)}
        at = interpolate(
            {d: pt[precision] | {"setup_s": pt["setup_s"]} for d, pt in points.items()}, len(p["hidden"])
        )
        n_train, n_val, n_test = p["_splits"]
        steps = math.ceil(n_train / p["batch_size"])
        epoch = steps * at["step_s"] + at["epoch_end_s"] + n_val * at["eval_sample_s"]
        t = start_s[p["_lane"]] + at["setup_s"] + n_val * at["eval_sample_s"] + p["epochs"] * epoch
        times[p["_lane"]].append(t + at["finish_s"] + n_test * at["eval_sample_s"])
        if p["_lane"] == "cuda":
            sizes = packsize.sizes_of(p["_kind"], p["hidden"])
            flops += p["epochs"] * len(p["variants"]) * placement.matmul_flops(sizes, n_train)
    everything = times["cuda"] + times["cpu"]
    wall = max(sum(times["cuda"]) / n_slots, flops / rates[precision] if times["cuda"] else 0.0,
               sum(times["cpu"]) / cpu_lanes, max(everything, default=0.0))  # fmt: skip
    return {"serial_s": sum(everything), "projected_s": wall, "jobs": len(packs)}


def _clock(s) -> str:
    return "     n/a" if s is None else f"{int(s // 3600):3d}:{int(s % 3600 // 60):02d}:{int(s % 60):02d}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="+", default=[str(REPO / "tests/config/paper-offline.yaml")])
    parser.add_argument("--steps", type=int, default=5, help="training steps per epoch of run A")
    parser.add_argument("--eval-samples", type=int, default=5000, help="validation samples of runs A and B")
    parser.add_argument(
        "--precisions", nargs="+", default=list(gpubench.PRECISIONS), choices=gpubench.PRECISIONS
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench/paper.json"))
    args = parser.parse_args(argv)
    cfg = placement.load_config(args.configfile, SCHEMA)
    paper = set(placement.load_config([REPO / "config/paper.yaml"], SCHEMA)["studies"])
    cuda = torch.cuda.is_available()
    gpu_mb = torch.cuda.get_device_properties(0).total_memory // 2**20 if cuda else None
    packs, n_slots = packs_of(cfg, gpu_mb)
    share_mb = gpu_mb / n_slots if gpu_mb else None
    cpu_lanes = max(1, (os.cpu_count() or 1) // cfg["threads"])
    device = f"{torch.cuda.get_device_name()} ({gpu_mb} MiB)" if cuda else "CPU only"
    print(
        f"{device}: {len(packs)} packs of {', '.join(args.configfile)}; gpu_jobs {n_slots}, CPU lanes {cpu_lanes}"
    )
    rates = gpubench.matmul_rates("cuda", 8192) if cuda else gpubench.matmul_rates("cpu", 1024, 3, 1)
    start_s = {lane: startup_seconds(lane) for lane in {p["_lane"] for p in packs}}
    print("job start-up: " + ", ".join(f"{lane} {s:.1f} s" for lane, s in start_s.items()))
    measured = measure_all(packs, args.precisions, args.steps, args.eval_samples, share_mb)
    studies = list(cfg["studies"])
    table = {name: {prec: project([p for p in packs if p["study"] == name], measured, prec, start_s, n_slots,
                                  rates, cpu_lanes) for prec in args.precisions} for name in studies}  # fmt: skip
    grids = {"paper grid": [s for s in studies if s in paper], "all studies": studies}
    totals = {label: {prec: project([p for p in packs if p["study"] in names], measured, prec, start_s, n_slots,
                                    rates, cpu_lanes) for prec in args.precisions}
              for label, names in grids.items() if names}  # fmt: skip
    print(
        f"{'projected h:mm:ss':20} {'jobs':>5} "
        + " ".join(f"{p:>9} {'(serial)':>9}" for p in args.precisions)
    )
    lines = [(s, table[s]) for s in studies if s in paper] + [("paper grid", totals.get("paper grid"))]
    lines += [(f"{s} (new)", table[s]) for s in studies if s not in paper]
    if any(s not in paper for s in studies):
        lines.append(("all studies", totals["all studies"]))
    for label, row in (line for line in lines if line[1]):
        cells = " ".join(
            f"{_clock(row[p]['projected_s'])} {_clock(row[p]['serial_s'])}" for p in args.precisions
        )
        print(f"{label:20} {row[args.precisions[0]]['jobs']:5} {cells}")
    out = {"device": device, "config": args.configfile, "gpu_jobs": n_slots, "cpu_lanes": cpu_lanes,
           "matmul_rates": rates, "startup_s": start_s, "studies": table, "totals": totals,
           "new_studies": [s for s in studies if s not in paper], "steps": args.steps,
           "cuda_graphs": os.environ.get(gpubench.GRAPHS_VAR),
           "measured": [{"lane": k[0], "key": list(map(str, k[1:])), "depths": v} for k, v in measured.items()]}  # fmt: skip
    atomic_write(args.out, lambda p: p.write_text(json.dumps(out, indent=1, default=str) + "\n"))
    return out


if __name__ == "__main__":
    main()
