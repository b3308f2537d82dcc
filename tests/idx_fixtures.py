"""Small IDX files (LeCun's MNIST format) that the dataset tests write and serve themselves.

IDX: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions, each size as a
big-endian int32, then the data in C order. The .gz files are written with mtime 0 so their bytes,
and so their md5, are the same on every run.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array with 1 or 3 dimensions."""
    assert array.dtype == np.uint8 and array.ndim in (1, 3)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def mnist_like(n_train: int = 40, n_test: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    """Random 28x28 uint8 images and labels 0-9, keyed by the MNIST file names (every image is distinct)."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }


def write_idx_set(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> list[tuple[str, str]]:
    """Write the arrays as IDX files into ``folder`` (gzipped or not).

    Returns torchvision-style ``resources``: (file name, md5) per file, in MNIST's order, to patch
    ``torchvision.datasets.MNIST.resources`` with.
    """
    folder.mkdir(parents=True, exist_ok=True)
    resources = []
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            data, name = gzip.compress(data, mtime=0), f"{name}.gz"
        (folder / name).write_bytes(data)
        resources.append((name, hashlib.md5(data).hexdigest()))
    return resources


def gz_resources(arrays: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """The (name.gz, md5) list ``write_idx_set(..., gz=True)`` would return, without writing anything."""
    return [
        (f"{n}.gz", hashlib.md5(gzip.compress(idx_bytes(a), mtime=0)).hexdigest()) for n, a in arrays.items()
    ]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # torchvision probes for redirects with a GET it closes after the headers: a broken pipe is expected.
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) in a thread; yield the base URL, ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
