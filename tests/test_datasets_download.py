"""fetch() through torchvision's real download code, against a local HTTP server serving IDX files we wrote.

torchvision checks each download's md5 against ``MNIST.resources``; those values are for the real
files, so each test patches them with the md5 of its own fixture files. No test touches the network.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest

from idx_fixtures import mnist_like, serve, write_idx_set

torchvision = pytest.importorskip("torchvision")

from initbench.datasets import DatasetError, fetch, load, prepare  # noqa: E402


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A mirror on 127.0.0.1 holding small gzipped MNIST files; MNIST's md5 list patched to match them."""
    arrays = mnist_like()
    mirror_dir = tmp_path / "mirror"
    resources = write_idx_set(mirror_dir, arrays, gz=True)
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
    with serve(mirror_dir) as url:
        yield url, mirror_dir, arrays


def _files_under(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def test_download_installs_verified_files_and_writes_manifest(tmp_path, served):
    url, _, arrays = served
    root, manifest = tmp_path / "data", tmp_path / "data/manifests/mnist.json"
    record = fetch("mnist", {"mirrors": [url]}, root, manifest)

    assert record["source"] == {"type": "download", "mirror": url, "mirrors": [url]}
    assert json.loads(manifest.read_text()) == record
    assert {f["check"] for f in record["files"]} == {"md5 of .gz (torchvision)"}
    names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    # torchvision's layout, .gz kept beside the decompressed files; the scratch folder is gone.
    assert _files_under(root) == sorted(
        ["manifests/mnist.json"] + [f"MNIST/raw/{n}" for n in names] + [f"MNIST/raw/{n}.gz" for n in names]
    )
    prepare("mnist", {}, root, tmp_path / "mnist.pt")  # torchvision reads what fetch installed
    data = load(tmp_path / "mnist.pt")
    want = arrays["train-images-idx3-ubyte"].reshape(40, -1).astype(np.float32) / 255
    np.testing.assert_array_equal(data["x_train"].numpy(), want)


def test_corrupt_download_is_a_checksum_error_and_leaves_nothing(tmp_path, served):
    url, mirror_dir, _ = served
    labels = mirror_dir / "train-labels-idx1-ubyte.gz"  # the second file: the first arrives intact
    blob = bytearray(labels.read_bytes())
    blob[-5] ^= 0xFF
    labels.write_bytes(bytes(blob))
    root, manifest = tmp_path / "data", tmp_path / "data/mnist.json"

    with pytest.raises(DatasetError) as err:
        fetch("mnist", {"mirrors": [url]}, root, manifest)
    msg = str(err.value)
    assert "checksum mismatch" in msg and f"{url}train-labels-idx1-ubyte.gz" in msg and "expected" in msg
    assert _files_under(root) == []  # neither the good first file nor the bad one, nor a scratch folder
    assert not manifest.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_fails_fast_with_urls_and_the_folder_to_fill(tmp_path):
    root = tmp_path / "data"
    mirrors = [f"http://127.0.0.1:{_closed_port()}/", "http://no-such-host.invalid/mnist/"]
    start = time.monotonic()
    with pytest.raises(DatasetError) as err:
        fetch("mnist", {"mirrors": mirrors, "timeout": 2}, root, root / "mnist.json")
    assert time.monotonic() - start < 5
    msg = str(err.value)
    for mirror in mirrors:
        assert f"{mirror}train-images-idx3-ubyte.gz" in msg
    assert str((root / "MNIST/raw").absolute()) in msg
    assert "train-labels-idx1-ubyte.gz" in msg and "datasets.mnist.source" in msg
    assert _files_under(root) == []


def test_a_silent_mirror_times_out_instead_of_hanging(tmp_path):
    listener = socket.socket()  # accepts connections (the kernel's backlog), never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    mirror = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    outcome = []

    def run():
        try:
            fetch("mnist", {"mirrors": [mirror], "timeout": 1}, tmp_path, tmp_path / "m.json")
        except DatasetError as err:
            outcome.append(err)

    worker = threading.Thread(target=run, daemon=True)  # a watchdog, so a regression fails, not hangs
    start = time.monotonic()
    worker.start()
    worker.join(timeout=10)
    listener.close()
    assert not worker.is_alive(), "fetch hung on a mirror that never answers"
    assert time.monotonic() - start < 5
    assert len(outcome) == 1 and "timed out" in str(outcome[0])


def test_files_already_in_place_are_verified_not_downloaded(tmp_path, served):
    """Files put in root/MNIST/raw by hand (gzipped) are used; no mirror is contacted."""
    _, mirror_dir, _ = served
    raw = tmp_path / "data/MNIST/raw"
    raw.mkdir(parents=True)
    for gz in mirror_dir.iterdir():
        (raw / gz.name).write_bytes(gz.read_bytes())
    record = fetch(
        "mnist", {"mirrors": ["http://no-such-host.invalid/"]}, tmp_path / "data", tmp_path / "m.json"
    )
    assert record["source"]["type"] == "present"
    assert (raw / "train-images-idx3-ubyte").is_file()
    # Running it again re-verifies the same files and gives the same manifest.
    again = fetch(
        "mnist", {"mirrors": ["http://no-such-host.invalid/"]}, tmp_path / "data", tmp_path / "m.json"
    )
    assert again == record


def test_env_var_sets_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("INITBENCH_DOWNLOAD_TIMEOUT", "3.5")
    with pytest.raises(DatasetError, match=r"socket timeout 3\.5 s"):
        fetch("mnist", {"mirrors": [f"http://127.0.0.1:{_closed_port()}/"]}, tmp_path, tmp_path / "m.json")
