"""Pick the device a training job runs on, and claim a GPU of its own on a multi-GPU box.

Snakemake never sets CUDA_VISIBLE_DEVICES for local jobs (snakemake/snakemake#281), so two
jobs started together would both land on cuda:0. Each job instead holds an exclusive lock
file per GPU for its whole life: the first free GPU wins; if all are busy it waits.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

VALID = ("auto", "cpu", "cuda", "mps")
_held = []  # keep lock files open for the life of the process


def resolve(requested: str = "auto") -> str:
    """'auto' → cuda if present, else mps, else cpu. INITBENCH_DEVICE overrides the config."""
    requested, env = requested or "auto", os.environ.get("INITBENCH_DEVICE")
    # the variable wins, except over a GPU of its own type already claimed ("cuda" keeps "cuda:1")
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


def claim(requested: str = "auto", lock_dir: str | Path | None = None, poll_s: float = 2.0) -> str:
    """Resolve the device; for plain 'cuda' with several GPUs, lock a free one and return 'cuda:i'."""
    device = resolve(requested)
    if device != "cuda":
        return device
    import torch

    n = torch.cuda.device_count()
    if n <= 1:
        return "cuda:0"
    lock_dir = Path(
        lock_dir or os.environ.get("INITBENCH_GPU_LOCKS", Path(tempfile.gettempdir()) / "initbench-gpu")
    )
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(n):
            fh = open(lock_dir / f"gpu{i}.lock", "w")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            _held.append(fh)
            return f"cuda:{i}"
        time.sleep(poll_s)
