"""prepare() and load(): one cached tensor file per dataset, with its splits, normalisation and provenance.

The file ``out`` (.pt) holds ``x_train, y_train, x_val, y_val, x_test, y_test`` and ``meta``; the same
``meta`` is written beside it as JSON. Training jobs read it with ``load`` and never touch the raw data,
which is what makes an epoch cost a matmul and not a DataLoader (docs: environment.md, "Speed").

When validation is the test set (the labs' setup), ``x_val`` *is* ``x_test``: one storage in the file,
one in memory after loading. toy1d goes further: train, validation and test are the same 40 points.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from initbench.atomic import atomic_write

from . import readers
from .files import DatasetError, write_json
from .options import resolve

KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
FORMAT = 1  # bump when the layout of the file changes
CONSTANT_STD = 1e-6  # below this a feature is constant on train (MNIST's border pixels): divide by 1 instead


def prepare(name: str, options: dict, root: Path, out: Path) -> dict:
    """Read dataset ``name``, split and normalise it, and write ``out`` (.pt) and ``out.with_suffix(".json")``.

    Splits: ``validation="test"`` validates on the test set (or on the file's own x_val, y_val, for a
    ``tensors`` file that has them); a fraction f holds out round(f * N)
    training samples chosen by a permutation seeded with ``seed``. ``train_subset=N`` then keeps the first
    N of the remaining permuted training samples. Selected samples keep their original order.
    Normalisation: "none" keeps ToTensor's [0, 1] pixels; "standardize" subtracts the per-feature mean
    and divides by the per-feature std of the final training split (features constant there are only
    centred). Both files are written atomically. Returns the meta dict.
    """
    opts = resolve(name, options)
    raw = readers.read(name, opts, Path(root))
    tensors = _split(name, raw, opts)
    norm = _normalize(tensors, opts["normalize"])
    meta = {
        "format": FORMAT,
        "dataset": name,
        "kind": opts["kind"],
        "options": opts,
        "source": raw.source,
        "task": "binary" if raw.y_train.is_floating_point() else "multiclass",
        "classes": raw.classes,
        "n_classes": len(raw.classes),
        "input_shape": raw.input_shape,
        "input_dim": int(tensors["x_train"].shape[1]),
        "sizes": {split: int(len(tensors[f"y_{split}"])) for split in ("train", "val", "test")},
        "val_is_test": tensors["x_val"] is tensors["x_test"],
        "normalize": norm,
        "tensors": {k: _describe(t) for k, t in tensors.items()},
        "versions": {p: metadata.version(p) for p in ("torch", "torchvision", "numpy", "mnist1d")},
    }
    out = Path(out)
    atomic_write(out, lambda tmp: torch.save({**tensors, "meta": meta}, tmp))
    write_json(out.with_suffix(".json"), meta)
    return meta


def load(path: Path, verify: bool = True) -> dict:
    """Load a file written by ``prepare``: the six tensors and ``meta``.

    Uses ``torch.load(weights_only=True)`` (plain tensors and dicts only, no pickled code). With
    ``verify`` each tensor's sha256 is checked against the meta (about 0.2 s for MNIST), so a damaged
    cache fails here and not as a silent wrong result.
    """
    path = Path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist; run the prepare step") from None
    except Exception as err:  # torch raises many types for a damaged zip or pickle
        raise DatasetError(f"cannot read {path} ({err}); delete it and run the prepare step again") from None
    missing = [k for k in (*KEYS, "meta") if k not in data]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}: not a file written by initbench's prepare")
    if verify:
        for key in KEYS:
            if _describe(data[key])["sha256"] != data["meta"]["tensors"][key]["sha256"]:
                raise DatasetError(
                    f"{path}: {key} does not match its sha256; delete the file and run prepare again"
                )
    return data


def _split(name: str, raw: readers.Raw, opts: dict) -> dict[str, torch.Tensor]:
    """Hold out the validation set and take the training subset, both from one seeded permutation."""
    n, frac, subset = len(raw.x_train), opts["validation"], opts["train_subset"]
    n_val = 0 if frac == "test" else min(n - 1, max(1, round(frac * n)))
    x_val, y_val = (raw.x_test, raw.y_test) if raw.x_val is None else (raw.x_val, raw.y_val)
    x_train, y_train = raw.x_train, raw.y_train
    if n_val or subset is not None:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(opts["seed"]))
        val_idx, pool = perm[:n_val].sort().values, perm[n_val:]
        if subset is not None:
            if subset > len(pool):
                raise DatasetError(
                    f"dataset {name!r}: train_subset={subset} but only {len(pool)} training samples remain"
                    + (f" after holding out {n_val} for validation" if n_val else "")
                )
            pool = pool[:subset]
        train_idx = pool.sort().values
        if n_val:
            x_val, y_val = raw.x_train[val_idx], raw.y_train[val_idx]
        x_train, y_train = raw.x_train[train_idx], raw.y_train[train_idx]
    return {
        "x_train": x_train,
        "y_train": y_train,
        "x_val": x_val,
        "y_val": y_val,
        "x_test": raw.x_test,
        "y_test": raw.y_test,
    }


def _normalize(tensors: dict[str, torch.Tensor], how: str) -> dict:
    """Standardise the x tensors in place of the dict with the training split's statistics; describe what was done."""
    if how == "none":
        return {
            "method": "none",
            "note": "values as read: ToTensor's [0, 1] for images, as in the course labs",
        }
    x = tensors["x_train"].to(torch.float64)  # float64 sums: 60k samples would lose digits in float32
    mean, std = x.mean(0), x.std(0, unbiased=False)
    constant = std < CONSTANT_STD
    std = torch.where(constant, torch.ones_like(std), std)
    done: dict[int, torch.Tensor] = {}  # by identity: a tensor shared between splits stays shared
    for key in ("x_train", "x_val", "x_test"):
        t = tensors[key]
        if id(t) not in done:
            done[id(t)] = ((t.to(torch.float64) - mean) / std).to(torch.float32)
        tensors[key] = done[id(t)]
    return {"method": "standardize", "statistics_from": "train", "constant_features": int(constant.sum())}


def _describe(t: torch.Tensor) -> dict:
    """Shape, dtype and sha256 of a tensor's bytes (C order)."""
    a = np.ascontiguousarray(t.detach().cpu().numpy())
    return {"shape": list(a.shape), "dtype": str(a.dtype), "sha256": hashlib.sha256(a).hexdigest()}
