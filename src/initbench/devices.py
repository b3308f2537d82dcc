"""Pick the device a training job runs on; on a GPU machine, give each job a slot of one GPU.

Snakemake does not hand out GPU ids to local jobs (snakemake/snakemake#281): two jobs started
together would both land on cuda:0. So a job claims a GPU itself, before CUDA starts:

1. ``visible_gpus()`` lists the GPUs this process may use, without torch:
   ``$INITBENCH_GPUS`` (a count, to fake or restrict them), else ``$CUDA_VISIBLE_DEVICES``
   (set by SLURM for a job that asked for GPUs), else the NVIDIA driver's device list.
2. Each GPU has ``slots`` lock files (the config's ``gpu_jobs``, resolved by ``placement``):
   ``acquire_gpu()`` takes an exclusive ``flock`` on the first free ``<lock dir>/gpu<id>-slot<j>.lock``
   (slot 0 of every GPU first, so jobs spread over the GPUs before they share one) and keeps the
   file open for the life of the process: the kernel drops the lock when the job ends, however it
   ends (a SIGKILL included), so a lock is never left stale. If every slot is held, it waits and
   polls: never more than ``slots`` jobs hold one GPU.
3. ``pin()`` sets ``CUDA_VISIBLE_DEVICES`` to that one id, so torch sees it as ``cuda`` (cuda:0).
   CUDA reads the variable once, when it initialises; pinning after that would be ignored, so
   ``pin`` refuses if CUDA has already started in this process.

With ``--resources gpu=<GPUs x slots>`` Snakemake starts at most that many GPU jobs at once and
none of them waits; without it, the extra jobs wait on the locks. Under SLURM the lock folder is
per SLURM job, since SLURM may number the GPUs of every job from 0. Lock files live in
``$INITBENCH_GPU_LOCKS``, else ``<tmp>/initbench-gpu``; the folder is shared by every user of the
machine (mode 1777).

Torch-free at import: the Snakefile builds the train rule's ``resources: gpu`` from
``train_job_gpus`` (through ``placement``). ``python -m initbench.devices [--configfile FILE]``
prints the ``gpu`` resource for ``make run``: the visible GPUs times the config's ``gpu_jobs``.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VALID = ("auto", "cpu", "cuda", "mps")
GPU_COUNT_VAR = "INITBENCH_GPUS"
LOCK_DIR_VAR = "INITBENCH_GPU_LOCKS"
SCHEMA = Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml"
_held: list = []  # the open lock files: closing one would release its GPU


def visible_gpus() -> list[str]:
    """The GPU ids this process may use, as CUDA_VISIBLE_DEVICES would list them; torch-free."""
    forced = os.environ.get(GPU_COUNT_VAR, "").strip()
    if forced:
        if not forced.isdigit():
            raise ValueError(f"${GPU_COUNT_VAR}={forced!r}: expected a number of GPUs, e.g. 2")
        return [str(i) for i in range(int(forced))]
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = []
        for item in (s.strip() for s in listed.split(",")):
            if not item or item.startswith("-") or item == "NoDevFiles":
                break  # CUDA stops at the first invalid entry
            ids.append(item)
        return ids
    return [str(i) for i in range(_driver_gpu_count())]


def _driver_gpu_count() -> int:
    """GPUs the NVIDIA driver knows: its /proc folder (no process start), else nvidia-smi."""
    proc = Path("/proc/driver/nvidia/gpus")
    if proc.is_dir():
        return sum(1 for _ in proc.iterdir())
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines()) if out.returncode == 0 else 0


def gpu_memory_mb() -> int | None:
    """Memory of the smallest visible GPU in MiB (nvidia-smi), or None when it cannot be read."""
    ids = visible_gpus()
    if not ids or os.environ.get(GPU_COUNT_VAR):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,uuid,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sizes = []
    for line in out.stdout.splitlines():
        index, uuid, mib = (s.strip() for s in line.split(","))
        if any(i in (index, uuid) or (i.startswith("GPU-") and uuid.startswith(i)) for i in ids):
            sizes.append(int(float(mib)))
    return min(sizes) if sizes else None


def wanted(requested: str | None) -> str:
    """The device asked for: ``$INITBENCH_DEVICE``, else the config's, else auto."""
    return os.environ.get("INITBENCH_DEVICE") or requested or "auto"


def train_job_gpus(requested: str) -> int:
    """GPUs one training job uses (the train rule's ``resources: gpu``): 1 for ``cuda``, and
    for ``auto`` when this machine has a GPU; 0 otherwise. Read when the DAG is built."""
    device = wanted(requested)
    if device.startswith("cuda"):
        return 1
    return int(device == "auto" and bool(visible_gpus()))


def lock_dir() -> Path:
    """Where the per-GPU lock files live (see the module docstring)."""
    if os.environ.get(LOCK_DIR_VAR):
        return Path(os.environ[LOCK_DIR_VAR])
    job = os.environ.get("SLURM_JOB_ID")
    return Path(tempfile.gettempdir()) / ("initbench-gpu" + (f"-slurm{job}" if job else ""))


def acquire_gpu(
    ids: list[str],
    locks: Path | None = None,
    poll_s: float = 2.0,
    log=lambda msg: print(msg, file=sys.stderr),
    slots: int = 1,
) -> str:
    """Lock the first free slot of a GPU of ``ids`` (``slots`` per GPU) for the life of this
    process and return the GPU's id; wait (polling every ``poll_s``) while all are held."""
    if not ids:
        raise ValueError("no GPU to claim: the list of visible GPUs is empty")
    if slots < 1:
        raise ValueError(f"slots per GPU must be at least 1, got {slots!r}")
    locks = Path(locks or lock_dir())
    if not locks.is_dir():
        locks.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(locks, 0o1777)  # another user's jobs must be able to lock here too
        except PermissionError:
            pass
    begun, warned = time.monotonic(), False
    while True:
        for slot, gid in itertools.product(range(slots), ids):  # slot 0 of every GPU first
            fd = os.open(locks / f"gpu{gid}-slot{slot}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {os.uname().nodename}\n".encode())
            _held.append(fd)
            if warned:
                log(f"claimed GPU {gid} after waiting {time.monotonic() - begun:.0f} s")
            return gid
        if not warned:
            held = f"all {len(ids)} GPUs" if slots == 1 else f"all {slots} slots of the {len(ids)} GPUs"
            log(f"{held} are held by other jobs (locks in {locks}); waiting for one to free up")
            warned = True
        time.sleep(poll_s)


def pin(gid: str) -> None:
    """Make GPU ``gid`` the only one CUDA sees in this process (it becomes cuda:0)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise RuntimeError(f"cannot pin GPU {gid}: CUDA was initialised in this process before the claim")
    os.environ["CUDA_VISIBLE_DEVICES"] = gid


def resolve(requested: str = "auto") -> str:
    """'auto' → cuda if present, else mps, else cpu. $INITBENCH_DEVICE overrides the config."""
    requested, env = requested or "auto", os.environ.get("INITBENCH_DEVICE")
    # the variable wins, except over an explicit index of its own type ("cuda" keeps "cuda:1")
    if env and not (":" in requested and requested.split(":")[0] == env):
        requested = env
    if requested.split(":")[0] not in VALID:
        raise ValueError(f"unknown device {requested!r}; valid devices are: {', '.join(VALID)}")
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    return requested


def claim(
    requested: str = "auto", locks: Path | None = None, poll_s: float = 2.0, log=None, slots: int = 1
) -> str:
    """The device for a training job. For ``auto`` or ``cuda`` on a machine with GPUs, first claim
    a free slot of a GPU and pin that GPU (waiting if all are held); then resolve as ``resolve`` does."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if wanted(requested) in ("auto", "cuda"):
        ids = visible_gpus()
        if ids:
            gid = acquire_gpu(ids, locks, poll_s, log, slots=slots)
            pin(gid)
            shared = "" if slots == 1 else f", one of {slots} jobs it may hold"
            log(f"GPU {gid} (of {len(ids)} visible) is this job's, as cuda:0{shared}")
    return resolve(requested)


def keep_on_cpu() -> None:
    """Make every later device look-up of this process say ``cpu`` (``placement`` put the job
    there): ``$INITBENCH_DEVICE`` wins over a requested device, so it is the one to set."""
    os.environ["INITBENCH_DEVICE"] = "cpu"


def main(argv: list[str] | None = None) -> int:
    """``python -m initbench.devices [--configfile FILE ...]``: print the ``gpu`` resource of a
    run of that config here (visible GPUs x ``gpu_jobs``), 0 without a GPU. Torch-free."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="+", default=["config/config.yaml"])
    parser.add_argument("--schema", default=str(SCHEMA))
    args = parser.parse_args(argv)
    from . import placement

    try:
        return placement.gpu_resource_of_files(args.configfile, args.schema)
    except (OSError, ValueError) as err:  # Snakemake reports a bad config itself, in one line
        print(f"initbench.devices: {err}; asking for no GPU", file=sys.stderr)
        return 0


if __name__ == "__main__":
    print(main())
