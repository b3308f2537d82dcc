"""Read any dataset kind into flat train/test tensors, exactly as the course labs feed them to a model.

Image kinds are read with torchvision's own classes (``download=False``) and scaled like
``transforms.ToTensor()``: uint8 -> float32 / 255, channels first, then flattened. The generated
kinds are made here from their options. Nothing is split or normalised yet: that is ``prepare``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch

from . import generated, shapeset, sources
from .files import DatasetError, sha256_file


@dataclass
class Raw:
    """One dataset as read: x float32 (N, D), y int64 (toy1d: float32 0/1), and what to record about it."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    input_shape: list[int]  # one sample before flattening, channels first
    source: dict


def read(name: str, opts: dict, root: Path) -> Raw:
    """Dispatch on ``opts["kind"]`` (options already resolved)."""
    kind = opts["kind"]
    if kind in sources.SPECS:
        return _read_torchvision(name, sources.SPECS[kind], Path(root))
    if kind == "toy1d":
        x, y, _, _ = generated.toy1d()
        # The lab has no held-out data: test (and so validation) is the training set, the same tensors.
        source = {"type": "generated", "generator": "toy1d: x = -20..19, y = 1 where -4 < x < 4"}
        return Raw(x, y, x, y, ["y=0 (outside -4 < x < 4)", "y=1 (inside)"], [1], source)
    n, n_test, seed = opts["n_samples"], opts["n_test"], opts["seed"]
    source = {"type": "generated", "n_samples": n, "n_test": n_test, "seed": seed}
    if kind == "mnist1d":
        parts = generated.mnist1d(n, n_test, seed)
        source["generator"] = f"mnist1d.data.make_dataset (mnist1d {metadata.version('mnist1d')})"
        return Raw(*parts, [str(d) for d in range(10)], [40], source)
    if kind == "shapeset":
        parts = [torch.from_numpy(a) for a in shapeset.generate_split(n, n_test, seed)]
        source["generator"] = "initbench.datasets.shapeset"
        return Raw(*parts, list(shapeset.CLASS_NAMES), [1, shapeset.SIZE, shapeset.SIZE], source)
    raise AssertionError(f"unhandled kind {kind}")  # options.resolve admits only names.DATASET_KINDS


def _read_torchvision(name: str, spec: sources.Spec, root: Path) -> Raw:
    cls = spec.tv_class()
    try:
        train, test = cls(str(root), train=True), cls(str(root), train=False)
    except RuntimeError:  # torchvision's advice, "use download=True", is not ours: fetch runs elsewhere
        raise DatasetError(
            f"dataset {name!r}: the {spec.kind} files under {root} are missing or damaged. "
            f"Run the fetch step first. {spec.hint(root, name)}"
        ) from None
    if spec.is_idx:
        x_train, x_test = (_to_tensor_like(ds.data.unsqueeze(1)) for ds in (train, test))
        y_train, y_test = train.targets.to(torch.int64), test.targets.to(torch.int64)
        shape = [1, 28, 28]
    else:
        x_train, x_test = (
            _to_tensor_like(torch.from_numpy(ds.data).permute(0, 3, 1, 2)) for ds in (train, test)
        )
        y_train, y_test = (torch.tensor(ds.targets, dtype=torch.int64) for ds in (train, test))
        shape = [3, 32, 32]
    return Raw(x_train, y_train, x_test, y_test, list(train.classes), shape, _file_provenance(spec, root))


def _to_tensor_like(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 (N, C*H*W) / 255: the same operations, so the same bits, as ToTensor()."""
    return images.reshape(len(images), -1).to(torch.float32).div(255)


def _file_provenance(spec: sources.Spec, root: Path) -> dict:
    """The sha256 of every raw file read; a file with a known sha256 must match it."""
    files = {}
    for name in spec.files():
        digest = sha256_file(spec.raw_dir(root) / name)
        want = sources.KNOWN_SHA256.get(spec.kind, {}).get(name)
        if want is not None and digest != want:
            raise DatasetError(
                f"{spec.kind}: {spec.raw_dir(root) / name} has sha256 {digest}, expected {want}; "
                "it changed since it was fetched. Delete it and run the fetch step again."
            )
        files[f"{spec.folder}/{name}"] = digest
    return {
        "type": "files",
        "root": str(root.absolute()),
        "files": files,
        "reader": f"torchvision.datasets.{spec.class_name} (torchvision {metadata.version('torchvision')})",
    }
