"""Where each training job runs, and how many jobs share one GPU: rules of the packs, torch-free.

The Snakefile reads these when it builds the DAG (``workflow/rules/common.smk``):

- ``place(spec, data, device)``: the device a pack trains on, and whether its job asks Snakemake
  for a GPU (the train rule's ``resources: gpu`` is this function of the pack). Under
  ``device: auto`` a pack whose training step is less than ``MIN_GPU_STEP_FLOPS`` of matmul work
  trains on the CPU and asks for no GPU. The decision and its reason go into the job's meta.json.
- ``plan(config, gpu_mb)``: the packs and ``gpu_jobs``, the number N of jobs that may share one
  GPU (its lock slots, ``devices.acquire_gpu``). ``auto`` fits as many of the largest GPU pack as
  the GPU's memory holds, at most ``MAX_GPU_JOBS``; an integer N cuts the packs (``pack_size:
  auto``) to 1/N of the GPU's memory, so that N of them fit.
- ``gpu_resource``: visible GPUs x N, the ``--resources gpu=`` that ``make run`` passes.

A job's share of the GPU's memory (its ``train_pack(memory_mb=...)``) is the GPU's memory / N.
Under SLURM each train job is one sbatch job with a GPU of its own (profiles/slurm), so N only
matters to a run on one machine.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from . import devices, grid, packsize

# Matmul FLOPs per training step below which a pack trains on the CPU under device auto. Measured:
# the toy lab's pack (240 FLOPs a step, 40,000 steps and 1,000 evaluations) took 70 s on an H200
# and takes 65 s on one shared CPU core here: at that size a step costs its kernel launches and
# their overheads, about a millisecond, wherever it runs. A CPU core does 10 GFLOP/s or more on
# these matmuls, so up to about 1e7 FLOPs a step still costs about a millisecond on it. Below
# that the GPU cannot be faster, and a GPU job would also pay CUDA's start-up (seconds) and hold
# a GPU slot that another pack could use, while a CPU job runs beside the GPU jobs.
MIN_GPU_STEP_FLOPS = 10**7
# At most this many jobs share one GPU under gpu_jobs: auto. Jobs in one GPU time-slice it; what
# sharing gains is overlap: one job's start-up (Python, torch, CUDA, data: 5-12 s a job on the
# H200, against 2-3 s of training for the default study's packs) and host-side gaps run while
# another's kernels do. Three or four jobs cover a start-up 3-4 times as long as the training;
# more only add CUDA contexts (about 0.5 GB each) and contend for the host's cores.
MAX_GPU_JOBS = 4
GPU_MEMORY_VAR = "INITBENCH_GPU_MEMORY_MB"  # the main Snakemake process's reading, for every job
GPU_JOBS_VAR = "INITBENCH_GPU_JOBS"  # and its gpu_jobs (an environment variable, not a param: it
# depends on the machine, and a change of params would rerun every train job)


def matmul_flops(sizes: list[int], samples: int) -> int:
    """Matmul FLOPs of training one model on ``samples`` samples: forward 2 x in x out per layer
    and sample, backward twice that (gradients of the inputs and of the weights)."""
    return 3 * 2 * samples * sum(n_in * n_out for n_in, n_out in itertools.pairwise(sizes))


def step_flops(spec: dict, data: packsize.Data) -> int:
    """Matmul FLOPs of one training step of the whole pack ``spec`` (``grid.packs``'s dict)."""
    sizes = packsize.sizes_of(data.kind, spec["hidden"])
    return len(spec["variants"]) * matmul_flops(sizes, spec["batch_size"])


def place(spec: dict, data: packsize.Data, device: str) -> dict:
    """Where pack ``spec`` trains under the config's ``device``: ``device`` (``cpu`` for a tiny
    pack under ``auto``, else the config's, for the job to resolve), the ``reason`` in words, its
    ``step_flops``, and ``gpu``, the job's ``resources: gpu`` (0 or 1) on this machine. All but
    ``gpu`` depend on the config alone: the train rule passes them as params, and a change of
    params reruns a job. ``$INITBENCH_DEVICE``, which overrides the config's device, changes
    ``gpu`` here and the device in the job (``jobs.train``)."""
    flops = step_flops(spec, data)
    if device == "auto" and flops < MIN_GPU_STEP_FLOPS:
        reason = (
            f"device auto: {flops:.3g} matmul FLOPs per training step, under the "
            f"{MIN_GPU_STEP_FLOPS:.0e} a step needs to gain from a GPU"
        )
        gpu = devices.train_job_gpus("cuda") if overridden() else 0
        return {"device": "cpu", "reason": reason, "step_flops": flops, "gpu": gpu}
    return {
        "device": device,
        "reason": f"device {device}",
        "step_flops": flops,
        "gpu": devices.train_job_gpus(device),
    }


def overridden() -> str | None:
    """``$INITBENCH_DEVICE`` when it names a device (not ``auto``): it wins over any placement."""
    env = os.environ.get("INITBENCH_DEVICE", "").strip()
    return env if env not in ("", "auto") else None


def data_of(config: dict, spec: dict) -> packsize.Data:
    return packsize.data_of(spec["dataset"], config["datasets"][spec["dataset"]])


def auto_gpu_jobs(config: dict, packs: dict, gpu_mb: int | None) -> int:
    """``gpu_jobs: auto``: how many of the largest pack that trains on a GPU fit its memory, each
    with ``packsize.GPU_MARGIN_MB`` for its own CUDA context and allocator slack; 1 to MAX_GPU_JOBS."""
    if not gpu_mb:
        return 1
    need_mb = [
        packsize.pack_bytes(spec, data) / 2**20 + packsize.GPU_MARGIN_MB
        for spec in packs.values()
        if place(spec, data := data_of(config, spec), config["device"])["gpu"]
    ]
    if not need_mb:
        return 1
    return max(1, min(MAX_GPU_JOBS, int(gpu_mb * packsize.GPU_SHARE // max(need_mb))))


def plan(config: dict, gpu_mb: int | None) -> tuple[dict, int]:
    """The packs of ``config`` (``grid.packs``) and its ``gpu_jobs`` N, for GPUs of ``gpu_mb`` MiB
    (None without one). An integer N sizes ``pack_size: auto``'s packs to 1/N of the GPU."""
    n = config.get("gpu_jobs", "auto")
    if n != "auto":
        return grid.packs(config, gpu_mb=gpu_mb // n if gpu_mb else None), int(n)
    packs = grid.packs(config, gpu_mb=gpu_mb)
    return packs, auto_gpu_jobs(config, packs, gpu_mb)


def gpu_memory_mb(config: dict) -> int | None:
    """The memory (MiB) of the smallest visible GPU when this config trains on GPUs: the main
    process's reading in ``$INITBENCH_GPU_MEMORY_MB`` if set (0: none), else ``nvidia-smi``'s."""
    if os.environ.get(GPU_MEMORY_VAR, "").strip():
        return int(os.environ[GPU_MEMORY_VAR]) or None
    return devices.gpu_memory_mb() if devices.train_job_gpus(config["device"]) else None


def memory_share_mb(gpu_total_mb: float, slots: int) -> float:
    """One job's share of a GPU that ``slots`` jobs may share."""
    return gpu_total_mb / max(1, slots)


def gpu_resource(config: dict, n_gpus: int, gpu_mb: int | None) -> int:
    """``--resources gpu=``: the visible GPUs times ``gpu_jobs``; 0 when the config trains on the CPU."""
    if not n_gpus or not devices.train_job_gpus(config["device"]):
        return 0
    return n_gpus * plan(config, gpu_mb)[1]


def load_config(files: list[str | Path], schema: str | Path) -> dict:
    """The config that ``snakemake --configfile FILE...`` builds: the files merged in order (nested
    keys merge, as Snakemake's ``update_config`` does), validated, defaults filled in."""
    import yaml

    from . import config as ibconfig

    def merge(into: dict, new: dict) -> dict:
        for key, value in new.items():
            into[key] = (
                merge(dict(into[key]), value)
                if isinstance(into.get(key), dict) and isinstance(value, dict)
                else value
            )
        return into

    merged: dict = {}
    for path in files:
        merge(merged, yaml.safe_load(Path(path).read_text()) or {})
    return ibconfig.validate(merged, schema)


def gpu_resource_of_files(files: list[str | Path], schema: str | Path) -> int:
    """``gpu_resource`` of the config in ``files`` on this machine (``python -m initbench.devices``)."""
    gpus = devices.visible_gpus()
    if not gpus or devices.wanted(None) == "cpu":
        return 0  # no config to read: nothing on this machine asks for a GPU
    config = load_config(files, schema)
    return gpu_resource(config, len(gpus), gpu_memory_mb(config))
