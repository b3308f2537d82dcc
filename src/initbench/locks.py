"""Clear the Snakemake directory lock that a killed run leaves behind, when it is provably stale.

A run killed with SIGKILL cannot remove ``.snakemake/locks``, and the next run then refuses to
start until the user runs ``--unlock``. Each main Snakemake process of this workflow registers
itself in ``.snakemake/initbench-owners/<host>-<pid>``. At start-up, owners on this host whose
process is gone are dropped; if no owner is left anywhere, nobody holds the lock, and it is
removed. An owner on another host (a shared filesystem) is never second-guessed.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_stale(workdir: str | Path = ".") -> bool:
    """Drop dead owners and, if none is left, the lock directory. Return True if a lock was removed."""
    state = Path(workdir) / ".snakemake"
    owners = state / "initbench-owners"
    host = socket.gethostname()
    live = []
    for f in owners.glob("*") if owners.exists() else []:
        h, _, pid = f.name.rpartition("-")
        if not pid.isdigit() or (h == host and int(pid) == os.getpid()):
            continue
        if h == host and not _alive(int(pid)):
            f.unlink(missing_ok=True)
        else:
            live.append(f.name)
    locks = state / "locks"
    if not live and locks.exists() and any(locks.iterdir()):
        shutil.rmtree(locks, ignore_errors=True)
        return True
    return False


def register(workdir: str | Path = ".") -> None:
    """Record this process as a user of the working directory (removed as stale once it is gone)."""
    owners = Path(workdir) / ".snakemake" / "initbench-owners"
    owners.mkdir(parents=True, exist_ok=True)
    (owners / f"{socket.gethostname()}-{os.getpid()}").touch()
