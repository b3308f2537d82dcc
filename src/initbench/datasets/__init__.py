"""The datasets of initbench: fetch the raw files, verify them, generate the toy sets, prepare one tensor file.

The public API, called by the Snakemake scripts (``workflow/scripts/``):

    fetch(name, options, root, manifest) -> dict    raw files into ``root`` (torchvision's layout) + JSON manifest
    prepare(name, options, root, out) -> dict       one cached .pt (splits, normalisation, meta) + its .json meta
    load(path) -> dict                              that file: x/y for train, val, test, and meta
    DatasetError                                    every failure the user must act on
    DOWNLOADABLE                                    the kinds that have raw files to fetch

``options`` is the config's ``datasets.<name>`` block; see ``options.DEFAULTS`` for every key.
Module map: ``options`` (defaults, checks); ``sources`` (layout, checksums, installing a folder);
``download`` (torchvision's download with a timeout); ``fetching`` (the source order, the manifest);
``generated`` (toy1d, mnist1d); ``shapeset``; ``tensorfile`` (the user's .npz, numpy only);
``readers`` (any kind -> flat tensors); ``cache``
(prepare and load: splits, normalisation, the .pt file); ``files`` (hashing, atomic writes).
data/README.md says what lands where and how to fill it by hand.

The kinds themselves are records in ``initbench.kinds``. Importing this package does not import
torch (``prepare`` and ``load`` import it when first used), so the DAG can read a ``tensors``
file's shape with ``tensorfile`` (numpy only).
"""

from .fetching import fetch
from .files import DatasetError
from .options import DOWNLOADABLE

__all__ = ["DOWNLOADABLE", "DatasetError", "fetch", "load", "prepare"]


def __getattr__(name: str):
    """``prepare`` and ``load`` on first use: they import torch."""
    if name in ("load", "prepare"):
        from . import cache

        return getattr(cache, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
