"""Where the raw files of the downloadable datasets live, their checksums, and how a folder of them is installed.

Layout: exactly torchvision's, so ``torchvision.datasets.<Class>(root, download=False)`` reads it:
``root/MNIST/raw/``, ``root/FashionMNIST/raw/``, ``root/KMNIST/raw/`` (IDX files, decompressed) and
``root/cifar-10-batches-py/`` (pickled batches).

Checksums, strongest first:
- sha256 of the decompressed IDX files, where we know them (Fashion-MNIST: the values recorded in
  /work/shared/notes/reference-experiments.md, section E, which Debian's recompressed .gz files also match);
- torchvision's md5 (read from the class at run time, so a test can patch it): of the .gz for the MNIST
  family, of every batch file for CIFAR-10;
- otherwise only the IDX header is checked (magic number, sizes, file length), and the manifest says so.
"""

from __future__ import annotations

import math
import os
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

from initbench import kinds

from .files import DatasetError, md5_file, sha256_file, stage_copy

# Debian's package dataset-fashion-mnist (gzip-recompressed, so torchvision's .gz md5 does not match).
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# sha256 of the decompressed files, from reference-experiments.md section E.
KNOWN_SHA256: dict[str, dict[str, str]] = {
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}


@dataclass(frozen=True)
class Spec:
    """One downloadable kind: its torchvision class and the folder (under root) that holds its files."""

    kind: str
    class_name: str  # the torchvision.datasets class that downloads and reads it
    folder: str  # relative to root, in torchvision's layout

    @property
    def is_idx(self) -> bool:
        return self.kind != "cifar10"

    def tv_class(self) -> type:
        import torchvision.datasets  # deferred: importing torch costs ~2 s

        return getattr(torchvision.datasets, self.class_name)

    def files(self) -> list[str]:
        """The file names the folder must hold once installed."""
        if self.is_idx:
            return list(IDX_FILES)
        cls = self.tv_class()
        return [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]

    def md5s(self) -> dict[str, str]:
        """torchvision's md5 per file name: of the .gz (MNIST family) or of each batch file (CIFAR-10)."""
        cls = self.tv_class()
        if self.is_idx:
            return dict(cls.resources)
        return {f: m for f, m in cls.train_list + cls.test_list} | {cls.meta["filename"]: cls.meta["md5"]}

    def raw_dir(self, root: Path) -> Path:
        return Path(root) / self.folder

    def hint(self, root: Path, name: str) -> str:
        """The sentences that tell a user on an offline machine where to put the files by hand."""
        folder = f"{self.raw_dir(root).absolute()}/"
        if self.is_idx:
            files = ", ".join(f"{f}.gz" for f in IDX_FILES)
            return (
                f"Put {files} (gzipped or not) in {folder} and run again, "
                f"or set datasets.{name}.source to a folder that holds them."
            )
        return (
            f"Put {', '.join(self.files())} (unpacked from cifar-10-python.tar.gz) in {folder} and run again, "
            f"or set datasets.{name}.source to a folder that holds them or the .tar.gz."
        )


# one per downloadable kind, from its record (initbench.kinds)
SPECS: dict[str, Spec] = {
    k: Spec(k, kinds.KINDS[k].torchvision, kinds.KINDS[k].folder) for k in kinds.of_origin(kinds.DOWNLOAD)
}


def find_files(spec: Spec, folder: Path) -> Path | None:
    """The folder (``folder`` itself or its torchvision-layout subfolder) that holds every raw file, else None."""
    for candidate in (Path(folder), Path(folder) / spec.folder):
        if all((candidate / f).is_file() or (candidate / f"{f}.gz").is_file() for f in spec.files()):
            return candidate
    return None


def extract_cifar_archive(archive: Path, into: Path) -> Path:
    """Unpack cifar-10-python.tar.gz into the scratch folder ``into``; return the folder of batch files."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")  # "data": no absolute paths or links out of `into`
    except (OSError, EOFError, tarfile.TarError) as err:
        raise DatasetError(f"cannot unpack {archive}: {err}; the file is damaged, replace it") from None
    return into / "cifar-10-batches-py"


def install(spec: Spec, folder: Path, root: Path) -> list[dict]:
    """Verify the raw files in ``folder`` and put them into ``root`` in torchvision's layout.

    ``folder`` may be the destination itself (files placed by hand). Each file is staged under a
    temporary name, checked, and renamed into place only after all of them passed; on any failure
    nothing new is left behind. Returns one record per file for the manifest.
    """
    dest = spec.raw_dir(root)
    dest.mkdir(parents=True, exist_ok=True)
    md5s = spec.md5s()
    staged: list[tuple[Path, Path]] = []  # (temporary file, final path)
    records, checked = [], {}
    try:
        for name in spec.files():
            src, gz = Path(folder) / name, Path(folder) / f"{name}.gz"
            gz_ok = False
            if gz.is_file():  # prefer the archive: it holds the bytes torchvision's md5 vouches for
                path, digest, size = stage_copy(gz, dest, gunzip=True)
                staged.append((path, dest / name))
                gz_ok = md5_file(gz) == md5s.get(gz.name)
                if gz_ok and gz.parent.resolve() != dest.resolve():  # keep it, as torchvision's layout does
                    staged.append((stage_copy(gz, dest, gunzip=False)[0], dest / gz.name))
            elif src.resolve() == (dest / name).resolve():  # already in place
                path, digest, size = src, sha256_file(src), src.stat().st_size
            else:
                path, digest, size = stage_copy(src, dest, gunzip=False)
                staged.append((path, dest / name))
            check = _verify(spec, name, path, digest, src.parent, gz_ok, md5s)
            checked[name] = path
            records.append({"path": f"{spec.folder}/{name}", "sha256": digest, "size": size, "check": check})
        if spec.is_idx:
            check_idx_set(checked)
        for tmp, final in staged:
            os.replace(tmp, final)
        staged.clear()
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return records


def _verify(spec: Spec, name: str, path: Path, digest: str, origin: Path, gz_ok: bool, md5s: dict) -> str:
    """Check one staged file against the strongest checksum known; return how it was checked."""
    want = KNOWN_SHA256.get(spec.kind, {}).get(name)
    if want is not None:
        if digest != want:
            raise DatasetError(
                f"{spec.kind}: checksum mismatch for {name} (from {origin}): sha256 {digest}, expected {want}. "
                f"The file is damaged or is not the real {name}; replace it."
            )
        return "sha256 (known)"
    if not spec.is_idx:
        got = md5_file(path)
        if got != md5s[name]:
            raise DatasetError(
                f"{spec.kind}: checksum mismatch for {name} (from {origin}): md5 {got}, "
                f"expected {md5s[name]} (torchvision's). The file is damaged; replace it."
            )
        return "md5 (torchvision)"
    # A .gz whose md5 differs was recompressed (like Debian's); gzip's CRC has still checked its content.
    return "md5 of .gz (torchvision)" if gz_ok else "idx header only (no known checksum)"


def idx_header(path: Path) -> tuple[int, ...]:
    """Read an IDX file's sizes (LeCun's format: bytes 0, 0, type 0x08 = uint8, ndim; big-endian int32 sizes).

    Raises a DatasetError if the file is not IDX or its length disagrees with its header (truncated).
    """
    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[:3] != b"\x00\x00\x08" or head[3] not in (1, 3):
            raise DatasetError(f"{path}: not an IDX file of unsigned bytes (header {head.hex()})")
        raw = f.read(4 * head[3])
    if len(raw) != 4 * head[3]:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{head[3]}I", raw)
    want, have = 4 + len(raw) + math.prod(dims), os.path.getsize(path)
    if have != want:
        raise DatasetError(
            f"{path}: its IDX header says {dims}, so {want} bytes, but it has {have}: it is truncated"
        )
    return dims


def check_idx_set(paths: dict[str, Path]) -> None:
    """Per split, the images must be N x 28 x 28 and the labels N long."""
    for split in ("train", "t10k"):
        images, labels = (
            idx_header(paths[f"{split}-images-idx3-ubyte"]),
            idx_header(paths[f"{split}-labels-idx1-ubyte"]),
        )
        if len(images) != 3 or images[1:] != (28, 28) or len(labels) != 1 or labels[0] != images[0]:
            raise DatasetError(
                f"{split} files disagree: images {images}, labels {labels}; expected N x 28 x 28 images and N labels"
            )
