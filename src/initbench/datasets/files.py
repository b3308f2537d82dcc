"""File plumbing shared by the dataset modules: the user-facing error, hashing, staged copies.

Every write here goes to a temporary name in the destination folder and is renamed into place only
when complete (``initbench.atomic``), so a killed job never leaves a half-written file that a later
run would trust (``os.replace`` is atomic within one filesystem).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from initbench.atomic import atomic_write, plain_mode


class DatasetError(RuntimeError):
    """A dataset problem the user must act on. The message says what and where; no traceback needed."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def md5_file(path: Path, chunk: int = 1 << 20) -> str:
    """The md5 hex digest of a file: the checksum torchvision's dataset classes publish."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_json(dest: Path, obj: dict) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically (the same dict gives the same bytes)."""
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    atomic_write(dest, lambda tmp: tmp.write_text(text))


def copy_hashing(src: IO[bytes], dst: IO[bytes]) -> tuple[str, int]:
    """Copy one open file to another; return the sha256 and size of what was copied."""
    h, size = hashlib.sha256(), 0
    while block := src.read(1 << 20):
        h.update(block)
        dst.write(block)
        size += len(block)
    return h.hexdigest(), size


def stage_copy(src: Path, dest_dir: Path, *, gunzip: bool) -> tuple[Path, str, int]:
    """Copy (or decompress) ``src`` to a temporary file in ``dest_dir``; return (temp path, sha256, size).

    The caller renames the temporary file into place after checking the hash, or deletes it.
    Decompression errors (a truncated or corrupt .gz fails gzip's CRC check) become a DatasetError.
    """
    fd, tmp = tempfile.mkstemp(prefix=".staged.", suffix=".tmp", dir=dest_dir)
    plain_mode(tmp)
    try:
        opener = gzip.open if gunzip else open
        with opener(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            digest, size = copy_hashing(fin, fout)
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        os.unlink(tmp)
        raise DatasetError(f"cannot read {src}: {err}; the file is damaged, replace it") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp), digest, size


@contextlib.contextmanager
def scratch_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A temporary folder inside ``parent`` (same filesystem, so renames out of it are atomic), always removed."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
