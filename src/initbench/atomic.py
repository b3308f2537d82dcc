"""The one atomic file write: every result, table, dataset and checkpoint file is written through it.

A file is written to a temporary name in the same folder, flushed to disk, then renamed over the
target with ``os.replace``, which is atomic on POSIX: a job killed at any moment (SLURM preemption,
SIGKILL) leaves either the old file or the new one, never half of one, and no temporary file.
Torch-free, so the DAG-time modules (``aggregate``) use it too.

    atomic_write("results/summary.csv", lambda tmp: df.to_csv(tmp, index=False))
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def plain_mode(path: str | Path) -> None:
    """Give a mkstemp file (created 0600) the mode open() would: 0666 less the umask, so shared folders stay shared."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, fsync the file, then move it onto ``path`` in one rename; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        plain_mode(tmp)
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
