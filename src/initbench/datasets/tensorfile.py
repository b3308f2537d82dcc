"""Your own data: a ``.npz`` file of arrays, read and checked with numpy alone (no torch).

A dataset of kind ``tensors`` names such a file as its ``source``. It holds ``x_train, y_train,
x_test, y_test`` and optionally ``x_val, y_val`` (``numpy.savez(path, x_train=..., ...)``):

- ``x_*``: numbers (float or integer), one sample per row, ``(N, ...)``; more axes are flattened,
  so images ``(N, C, H, W)`` give C*H*W inputs, as for the built-in kinds. Values are used as
  they are (``normalize: standardize`` standardises them with the training split's statistics);
- ``y_*``: integer class ids ``(N,)``; the classes are 0..C-1 with C = 1 + the largest training
  label, and the other splits' labels must lie in that range.

``inspect`` checks all of it (shapes, dtypes, label range, non-finite values), each problem with
one ``DatasetError`` naming the dataset and the array; the DAG calls it (through ``kinds``) before
any job runs, and the prepare job's reader calls ``read`` again, on the file as it is then.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import DatasetError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL = ("x_val", "y_val")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Info:
    """What the workflow needs to know of a file without loading it into torch."""

    input_shape: tuple[int, ...]  # one sample, before flattening
    classes: int
    sizes: dict[str, int]  # samples per split; val is 0 when the file has no x_val

    @property
    def inputs(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def samples(self) -> int:
        return sum(self.sizes.values())


def read(name: str, path: str | Path) -> tuple[dict[str, np.ndarray], Info]:
    """Load every array of the file and check them; return the arrays (by key) and their ``Info``."""
    path = Path(os.path.expanduser(os.fspath(path)))
    where = f"dataset {name!r}: {path}"
    if not path.is_file():
        raise DatasetError(f"{where} does not exist (source is read relative to the working directory)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in REQUIRED if k not in keys]
            if missing:
                raise DatasetError(
                    f"{where} lacks {', '.join(missing)}; it holds {', '.join(sorted(keys)) or 'nothing'}"
                )
            extra = sorted(keys - set(REQUIRED) - set(OPTIONAL))
            if extra:
                raise DatasetError(
                    f"{where} holds unexpected arrays {', '.join(extra)}; "
                    f"expected {', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}"
                )
            if ("x_val" in keys) != ("y_val" in keys):
                raise DatasetError(f"{where} holds only one of x_val and y_val; give both or neither")
            arrays = {k: npz[k] for k in sorted(keys)}
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:  # not a zip; an object array
        raise DatasetError(f"{where} is not a .npz of plain numeric arrays (numpy.savez): {err}") from None
    return arrays, check(where, arrays)


def check(where: str, arrays: dict[str, np.ndarray]) -> Info:
    """The checks of the module docstring; ``where`` names the dataset and file in each message."""
    splits = [s for s in SPLITS if f"x_{s}" in arrays]
    for s in splits:
        x, y = arrays[f"x_{s}"], arrays[f"y_{s}"]
        if x.dtype.kind not in "fiu":
            raise DatasetError(f"{where}: x_{s} has dtype {x.dtype}; inputs must be float or integer numbers")
        if x.ndim < 2 or len(x) == 0:
            raise DatasetError(
                f"{where}: x_{s} has shape {x.shape}; expected (samples, features...), samples > 0"
            )
        if y.dtype.kind not in "iu":
            raise DatasetError(
                f"{where}: y_{s} has dtype {y.dtype}; labels must be integer class ids (y.astype(numpy.int64))"
            )
        if y.shape != (len(x),):
            raise DatasetError(
                f"{where}: y_{s} has shape {y.shape}; expected ({len(x)},), one label per row of x_{s}"
            )
        if x.shape[1:] != arrays["x_train"].shape[1:]:
            raise DatasetError(
                f"{where}: x_{s} has samples of shape {x.shape[1:]}, x_train {arrays['x_train'].shape[1:]}; they must agree"
            )
        if x.dtype.kind == "f":
            bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
            if bad.any():
                raise DatasetError(
                    f"{where}: x_{s} holds non-finite values (NaN or inf) in {int(bad.sum())} samples, "
                    f"the first at row {int(np.argmax(bad))}"
                )
        if y.min() < 0:
            raise DatasetError(f"{where}: y_{s} holds the label {int(y.min())}; class ids start at 0")
    classes = int(arrays["y_train"].max()) + 1
    if classes < 2:
        raise DatasetError(f"{where}: y_train holds one class only; a classifier needs at least 2")
    for s in splits:
        top = int(arrays[f"y_{s}"].max())
        if top >= classes:
            raise DatasetError(
                f"{where}: y_{s} holds the label {top}, but y_train's labels are 0..{classes - 1}; "
                "every class must occur in training"
            )
    sizes = {s: len(arrays[f"y_{s}"]) if s in splits else 0 for s in SPLITS}
    return Info(tuple(int(d) for d in arrays["x_train"].shape[1:]), classes, sizes)


_SEEN: dict[tuple, Info] = {}


def inspect(name: str, path: str | Path) -> Info:
    """``read``'s checks and ``Info``, remembered per file version (path, size, mtime) in this process:
    the DAG asks for a file's shape once per pack."""
    p = Path(os.path.expanduser(os.fspath(path)))
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key not in _SEEN:
        info = read(name, p)[1]
        if key is None:
            return info
        _SEEN[key] = info
    return _SEEN[key]
