"""Read any dataset kind into flat train/test tensors, exactly as the course labs feed them to a model.

Image kinds are read with torchvision's own classes (``download=False``) and scaled like
``transforms.ToTensor()``: uint8 -> float32 / 255, channels first, then flattened. The generated
kinds are made here from their options; a ``tensors`` file is read as it is (float32 inputs,
int64 labels). Each kind's record (``initbench.kinds``) names its ``read_<reader>`` function here.
Nothing is split or normalised yet: that is ``prepare``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from initbench import kinds

from . import fetching, generated, shapeset, sources, tensorfile
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
    x_val: torch.Tensor | None = None  # a validation split of its own (a tensors file's x_val, y_val)
    y_val: torch.Tensor | None = None


def read(name: str, opts: dict, root: Path) -> Raw:
    """Dispatch on ``opts["kind"]`` (options already resolved) to the reader its record names."""
    return globals()[f"read_{kinds.KINDS[opts['kind']].reader}"](name, opts, Path(root))


def read_torchvision(name: str, opts: dict, root: Path) -> Raw:
    return _read_torchvision(name, sources.SPECS[opts["kind"]], root)


def read_toy1d(name: str, opts: dict, root: Path) -> Raw:
    x, y, _, _ = generated.toy1d()
    # The lab has no held-out data: test (and so validation) is the training set, the same tensors.
    source = {"type": "generated", "generator": kinds.KINDS["toy1d"].provenance}
    return Raw(x, y, x, y, ["y=0 (outside -4 < x < 4)", "y=1 (inside)"], [1], source)


def _generated_source(opts: dict, generator: str) -> dict:
    n, n_test, seed = opts["n_samples"], opts["n_test"], opts["seed"]
    return {"type": "generated", "n_samples": n, "n_test": n_test, "seed": seed, "generator": generator}


def read_mnist1d(name: str, opts: dict, root: Path) -> Raw:
    parts = generated.mnist1d(opts["n_samples"], opts["n_test"], opts["seed"])
    source = _generated_source(opts, f"mnist1d.data.make_dataset (mnist1d {metadata.version('mnist1d')})")
    return Raw(*parts, [str(d) for d in range(10)], [40], source)


def read_shapeset(name: str, opts: dict, root: Path) -> Raw:
    parts = [
        torch.from_numpy(a) for a in shapeset.generate_split(opts["n_samples"], opts["n_test"], opts["seed"])
    ]
    source = _generated_source(opts, "initbench.datasets.shapeset")
    return Raw(*parts, list(shapeset.CLASS_NAMES), [1, shapeset.SIZE, shapeset.SIZE], source)


def read_tensors(name: str, opts: dict, root: Path) -> Raw:
    """The user's .npz (``tensorfile``): checked again as it is now, flattened to float32 / int64."""
    arrays, info = tensorfile.read(name, opts["source"])
    if info.sizes["val"] and opts["validation"] != "test":
        raise DatasetError(
            f"dataset {name!r}: {opts['source']} holds its own validation split (x_val, y_val); "
            "drop the validation option"
        )

    def x(key: str) -> torch.Tensor:
        return torch.from_numpy(
            np.ascontiguousarray(arrays[key].reshape(len(arrays[key]), -1), dtype=np.float32)
        )

    def y(key: str) -> torch.Tensor:
        return torch.from_numpy(arrays[key].astype(np.int64))

    val = (x("x_val"), y("y_val")) if info.sizes["val"] else (None, None)
    source = fetching.file_source(name, opts["source"]) | {
        "reader": "numpy.load (initbench.datasets.tensorfile)"
    }
    classes = [str(c) for c in range(info.classes)]
    return Raw(
        x("x_train"), y("y_train"), x("x_test"), y("y_test"), classes, list(info.input_shape), source, *val
    )


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
