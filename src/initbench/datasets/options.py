"""The dataset options: their defaults, and the checks that turn a bad value into a clear DatasetError.

``options`` is the ``datasets.<name>`` block of the config. Every key is optional; ``resolve``
fills in the defaults so the resolved dict can be written into the manifest and the tensor meta.
The config schema (``workflow/schemas/config.schema.yaml``) gives the same keys and defaults; a
test checks that they agree. Which options apply depends on the kind's origin (``initbench.kinds``).
"""

from __future__ import annotations

import numbers
import os

from initbench import kinds
from initbench.names import DATASET_KINDS

from .files import DatasetError

DOWNLOADABLE: tuple[str, ...] = kinds.of_origin(kinds.DOWNLOAD)
GENERATED: tuple[str, ...] = kinds.of_origin(kinds.GENERATED)
FILES: tuple[str, ...] = kinds.of_origin(kinds.FILE)

DEFAULTS: dict[str, object] = {
    "kind": None,  # the dataset's name when it is one of names.DATASET_KINDS
    "source": None,  # a folder holding the raw files (tried before Debian's copy and the download); tensors: the .npz
    "mirrors": None,  # replaces torchvision's mirror list, e.g. ["http://127.0.0.1:8123/"]
    "timeout": None,  # socket timeout in s: $INITBENCH_DOWNLOAD_TIMEOUT, else 10, so a dead network fails fast
    "normalize": "none",  # the labs feed raw ToTensor pixels in [0, 1]
    "validation": "test",  # the labs validate on the test set; a float holds that fraction out of train
    "train_subset": None,  # keep the first N training samples of a seeded permutation
    "seed": 0,  # seeds the generated data, the validation split and the subset (mnist1d's own seed is 42)
    "n_samples": None,  # generated kinds only: how many samples in all, train + test
    "n_test": None,  # generated kinds only: how many of them form the test set; default 20 %
}

GENERATED_SIZES: dict[str, int] = {
    k: r.samples for k, r in kinds.KINDS.items() if r.sized
}  # default n_samples
TEST_SHARE = kinds.TEST_SHARE
NORMALIZATIONS = ("none", "standardize")
DEFAULT_TIMEOUT_S = 10.0


def resolve(name: str, options: dict | None) -> dict:
    """Check ``options`` for dataset ``name`` and return them with every default filled in."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise DatasetError(
            f"dataset {name!r}: unknown option(s) {', '.join(unknown)}; valid options are: {', '.join(DEFAULTS)}"
        )
    opts = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    kind = opts["kind"] or name
    if kind not in DATASET_KINDS:
        raise DatasetError(
            f"dataset {name!r}: unknown kind {kind!r}; set datasets.{name}.kind to one of: {', '.join(DATASET_KINDS)}"
        )
    opts["kind"] = kind

    def bad(key: str, why: str) -> DatasetError:
        return DatasetError(f"dataset {name!r}: option {key}={opts[key]!r} {why}")

    if opts["normalize"] not in NORMALIZATIONS:
        raise bad("normalize", f"must be one of: {', '.join(NORMALIZATIONS)}")
    val = opts["validation"]
    if val != "test":
        if isinstance(val, bool) or not isinstance(val, numbers.Real) or not 0 < float(val) < 1:
            raise bad("validation", "must be 'test' or a fraction strictly between 0 and 1")
        if kind == "toy1d":
            raise bad("validation", "does not apply: toy1d is the lab's 40 points, validation = test = train")
        opts["validation"] = float(val)
    for key in ("train_subset", "n_samples", "n_test"):
        v = opts[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1):
            raise bad(key, "must be a positive integer")
    seed = opts["seed"]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise bad("seed", "must be a non-negative integer")

    if kind in DOWNLOADABLE:
        _resolve_download(opts, bad)
    elif kind in FILES:
        _resolve_file(name, opts, bad)
    else:
        _resolve_generated(opts, bad)
    return opts


def _resolve_download(opts: dict, bad) -> None:
    for key in ("n_samples", "n_test"):
        if opts[key] is not None:
            raise bad(key, f"applies only to generated kinds ({', '.join(GENERATED)})")
    if opts["source"] is not None:
        opts["source"] = os.fspath(os.path.expanduser(os.fspath(opts["source"])))
    mirrors = opts["mirrors"]
    if mirrors is not None:
        if isinstance(mirrors, str) or not mirrors or not all(isinstance(m, str) and m for m in mirrors):
            raise bad("mirrors", "must be a non-empty list of base URLs")
        # torchvision joins mirror + file name, so a mirror must end with a slash.
        opts["mirrors"] = [m if m.endswith("/") else m + "/" for m in mirrors]
    if opts["timeout"] is None:
        env = os.environ.get("INITBENCH_DOWNLOAD_TIMEOUT")
        try:
            opts["timeout"] = float(env) if env else DEFAULT_TIMEOUT_S
        except ValueError:
            raise DatasetError(f"INITBENCH_DOWNLOAD_TIMEOUT={env!r} must be a number of seconds") from None
    t = opts["timeout"]
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not t > 0:
        raise bad("timeout", "must be a positive number of seconds")
    opts["timeout"] = float(t)


def _resolve_file(name: str, opts: dict, bad) -> None:
    kind = opts["kind"]
    for key in ("mirrors", "timeout", "n_samples", "n_test"):
        if opts[key] is not None:
            raise bad(key, f"does not apply: a {kind} dataset is the arrays of its file")
    if not isinstance(opts["source"], str) or not opts["source"]:
        raise DatasetError(f"dataset {name!r}: a {kind} dataset needs source: the path of its .npz file")
    opts["source"] = os.path.expanduser(
        opts["source"]
    )  # relative paths stay relative to the working directory


def _resolve_generated(opts: dict, bad) -> None:
    kind = opts["kind"]
    for key in ("source", "mirrors", "timeout"):
        if opts[key] is not None:
            raise bad(key, f"does not apply: {kind} is generated locally, not fetched")
    if not kinds.KINDS[kind].sized:
        for key in ("n_samples", "n_test"):
            if opts[key] is not None:
                raise bad(key, f"does not apply: {kind} has a fixed size ({kinds.KINDS[kind].provenance})")
        return
    opts["n_samples"] = opts["n_samples"] or GENERATED_SIZES[kind]
    opts["n_test"] = opts["n_test"] or max(1, round(TEST_SHARE * opts["n_samples"]))
    if opts["n_test"] >= opts["n_samples"]:
        raise bad("n_test", f"must be smaller than n_samples={opts['n_samples']}")
    if kind == "mnist1d" and opts["n_samples"] % 10:
        # make_dataset draws num_samples // 10 per class and silently drops the rest.
        raise bad("n_samples", "must be a multiple of 10 for mnist1d (it draws n_samples/10 per class)")
