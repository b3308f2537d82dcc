"""fetch(): put a dataset's raw files into ``root``, verified, and write its manifest.

Sources, the first that has the files wins:
1. ``options["source"]``: a folder the user filled (raw files, gzipped or not; for CIFAR-10 the
   batch files or cifar-10-python.tar.gz);
2. the files already in ``root`` in torchvision's layout (put there by hand, or by an earlier fetch);
3. Fashion-MNIST only: Debian's package dataset-fashion-mnist, in /usr/share/datasets/fashion-mnist;
4. a download through torchvision's dataset class, from its mirrors or ``options["mirrors"]``.

Generated kinds (mnist1d, toy1d, shapeset) have no files: their manifest says "generated", and
``prepare`` makes the data. A ``tensors`` dataset is the user's own ``.npz`` file: its manifest
records the file's path, size and sha256, and ``prepare`` reads it where it is.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from initbench import kinds

from . import sources
from .download import default_mirrors, download
from .files import DatasetError, scratch_dir, sha256_file, write_json
from .options import FILES, GENERATED, resolve


def fetch(name: str, options: dict, root: Path, manifest: Path) -> dict:
    """Get dataset ``name``'s raw files into ``root`` and write the JSON ``manifest``; return the manifest dict.

    The manifest lists each installed file with its size, sha256, and how it was verified.
    Raises DatasetError (message only, no traceback needed) when no source works.
    """
    opts = resolve(name, options)
    kind, root = opts["kind"], Path(root)
    record = {"dataset": name, "kind": kind, "options": opts}
    if kind in GENERATED:
        record |= {"source": {"type": "generated", "generator": kinds.KINDS[kind].provenance}, "files": []}
    elif kind in FILES:
        record |= {"source": file_source(name, opts["source"]), "files": []}
    else:
        spec = sources.SPECS[kind]
        source, files = _fetch_files(name, spec, opts, root)
        record |= {
            "root": str(root.absolute()),
            "source": source,
            "files": files,
            "reader": f"torchvision.datasets.{spec.class_name} (torchvision {metadata.version('torchvision')})",
        }
    write_json(Path(manifest), record)
    return record


def file_source(name: str, source: str) -> dict:
    """A user's data file, as the manifest and the tensor meta record it: path, size and sha256."""
    path = Path(source)
    if not path.is_file():
        raise DatasetError(
            f"dataset {name!r}: {source} does not exist (source is read relative to the working directory)"
        )
    return {"type": "file", "path": source, "size": path.stat().st_size, "sha256": sha256_file(path)}


def _fetch_files(name: str, spec: sources.Spec, opts: dict, root: Path) -> tuple[dict, list[dict]]:
    """Try the sources in order; return (the source used, the installed files' records)."""
    if opts["source"] is not None:
        folder = Path(opts["source"])
        if not folder.is_dir():
            raise DatasetError(f"dataset {name!r}: source folder {folder} does not exist")
        return {"type": "folder", "path": str(folder.absolute())}, _install_from(name, spec, folder, root)

    raw = spec.raw_dir(root)
    if sources.find_files(spec, raw) == raw:
        return {"type": "present", "path": str(raw.absolute())}, sources.install(spec, raw, root)

    debian = sources.DEBIAN_FASHION_MNIST
    if spec.kind == "fashion_mnist" and sources.find_files(spec, debian) == debian:
        source = {"type": "debian", "package": "dataset-fashion-mnist", "path": str(debian)}
        return source, sources.install(spec, debian, root)

    mirrors = opts["mirrors"] or default_mirrors(spec)
    with scratch_dir(root, f".download-{spec.kind}-") as scratch:
        folder, mirror = download(name, spec, mirrors, opts["timeout"], scratch, root)
        files = sources.install(spec, folder, root)
    return {"type": "download", "mirror": mirror, "mirrors": mirrors}, files


def _install_from(name: str, spec: sources.Spec, folder: Path, root: Path) -> list[dict]:
    """Install from a user's folder, unpacking CIFAR-10's tarball first if that is what it holds."""
    found = sources.find_files(spec, folder)
    if found is not None:
        return sources.install(spec, found, root)
    archive = folder / "cifar-10-python.tar.gz"
    if not spec.is_idx and archive.is_file():
        with scratch_dir(root, ".unpack-cifar10-") as scratch:
            return sources.install(spec, sources.extract_cifar_archive(archive, scratch), root)
    missing = [f for f in spec.files() if not (folder / f).is_file() and not (folder / f"{f}.gz").is_file()]
    raise DatasetError(
        f"dataset {name!r}: source folder {folder} lacks {', '.join(missing)} (plain or .gz)"
        + ("" if spec.is_idx else ", and holds no cifar-10-python.tar.gz")
    )
