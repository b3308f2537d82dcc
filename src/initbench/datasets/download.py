"""Download a dataset with torchvision's own code (its mirrors, its md5 checks), and fail fast when offline.

The download runs in a scratch folder; ``fetch`` then installs the verified files into ``root``, so an
interrupted or corrupt download never leaves a file where torchvision would find and trust it.
(torchvision's ``MNIST._check_exists`` only checks that the decompressed files exist, not their checksums.)

A socket timeout (``options["timeout"]``, else $INITBENCH_DOWNLOAD_TIMEOUT, else 10 s) bounds every
connect and read, so a compute node without network fails instead of hanging. Without network the name
lookup fails at once; a network that drops packets costs up to a few timeouts per mirror, because
torchvision first resolves redirects and retries an https URL over http.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from .files import DatasetError, md5_file
from .sources import Spec


@contextlib.contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Set the default socket timeout (urllib, which torchvision uses, has no other knob) and restore it."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def default_mirrors(spec: Spec) -> list[str]:
    """torchvision's mirrors for the kind: the class's ``mirrors`` list, or the folder of CIFAR-10's one URL."""
    cls = spec.tv_class()
    return list(cls.mirrors) if spec.is_idx else [cls.url.rsplit("/", 1)[0] + "/"]


def download(
    name: str, spec: Spec, mirrors: list[str], timeout: float, into: Path, root: Path
) -> tuple[Path, str]:
    """Download ``spec``'s files into the scratch folder ``into``, trying ``mirrors`` in order.

    Returns (the folder holding the downloaded raw files, the mirror that worked). Raises a
    DatasetError that names dataset ``name``, every URL tried and what went wrong there, and the
    folder under ``root`` where the files can be put by hand.
    """
    cls = spec.tv_class()
    failures: list[str] = []
    corrupt: list[str] = []
    for mirror in mirrors:
        try:
            with socket_timeout(timeout):
                _attempt(spec, cls, mirror, into)
            return into / spec.folder, mirror
        except (RuntimeError, OSError) as err:  # URLError and TimeoutError are OSErrors
            url = mirror + _first_missing(spec, cls, into)
            failures.append(f"  {url}: {_last_line(err)}")
            bad = _discard_unverified(spec, cls, into, mirror)
            # torchvision's md5 failure reads "File not found or corrupted."; any other error left at most
            # a partial file (a read that timed out), which is discarded but is not a checksum problem.
            if "corrupted" in str(err):
                corrupt += bad
    if corrupt:
        raise DatasetError(
            f"dataset {name!r}: checksum mismatch in the download of {spec.kind}; nothing was installed:\n"
            + "\n".join(corrupt)
            + "\nThe mirror serves a damaged or different file: try again later or another mirror. "
            + spec.hint(root, name)
        )
    raise DatasetError(
        f"dataset {name!r}: could not download {spec.kind} with torchvision.datasets.{cls.__name__} "
        f"(socket timeout {timeout:g} s). Tried:\n"
        + "\n".join(failures)
        + "\nIs this machine offline? Run the fetch step where the network is reachable (it is a local rule). "
        + spec.hint(root, name)
    )


def _attempt(spec: Spec, cls: type, mirror: str, into: Path) -> None:
    """One mirror, through torchvision's real download path (a subclass that changes only where it looks)."""
    # The subclass keeps the class name, because torchvision derives the folder name from it.
    if spec.is_idx:
        pinned = type(cls.__name__, (cls,), {"mirrors": [mirror]})
    else:
        pinned = type(cls.__name__, (cls,), {"url": mirror + cls.filename})
    pinned(str(into), train=True, download=True)


def _archives(spec: Spec, cls: type, into: Path) -> list[tuple[Path, str]]:
    """The files torchvision downloads, with the md5 it expects: the .gz files, or CIFAR-10's tarball."""
    if spec.is_idx:
        return [(into / spec.folder / name, md5) for name, md5 in cls.resources]
    return [(into / cls.filename, cls.tgz_md5)]


def _first_missing(spec: Spec, cls: type, into: Path) -> str:
    """The name of the first file that did not arrive intact: the one whose download failed."""
    for path, md5 in _archives(spec, cls, into):
        if not path.is_file() or md5_file(path) != md5:
            return path.name
    return _archives(spec, cls, into)[0][0].name


def _discard_unverified(spec: Spec, cls: type, into: Path, mirror: str) -> list[str]:
    """Delete every downloaded file whose md5 is wrong (so the next mirror starts clean); describe each one."""
    found = []
    for path, md5 in _archives(spec, cls, into):
        if path.is_file() and (got := md5_file(path)) != md5:
            found.append(f"  {mirror}{path.name}: md5 {got}, expected {md5}")
            path.unlink()
    return found


def _last_line(err: BaseException) -> str:
    """torchvision wraps the cause in a multi-line message whose last line is the cause itself."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(err).__name__
