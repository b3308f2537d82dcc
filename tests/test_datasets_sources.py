"""fetch() from files on disk: a user's source folder, files already in place, and Debian's Fashion-MNIST."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from idx_fixtures import gz_resources, idx_bytes, mnist_like, write_idx_set

torchvision = pytest.importorskip("torchvision")

from initbench.datasets import DatasetError, fetch, load, prepare, sources  # noqa: E402

DEBIAN = sources.DEBIAN_FASHION_MNIST


@pytest.fixture
def arrays(monkeypatch):
    """Small MNIST-like arrays, with torchvision's md5 list patched to their (gzipped) files."""
    a = mnist_like()
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", gz_resources(a))
    return a


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_source_folder(tmp_path, arrays, gz):
    write_idx_set(tmp_path / "mine", arrays, gz=gz)
    record = fetch("mnist", {"source": str(tmp_path / "mine")}, tmp_path / "data", tmp_path / "m.json")
    assert record["source"] == {"type": "folder", "path": str(tmp_path / "mine")}
    want = "md5 of .gz (torchvision)" if gz else "idx header only (no known checksum)"
    assert {f["check"] for f in record["files"]} == {want}
    for f in record["files"]:
        name = f["path"].rsplit("/", 1)[1]
        assert f["sha256"] == hashlib.sha256(idx_bytes(arrays[name])).hexdigest()
        assert f["size"] == len(idx_bytes(arrays[name]))
    prepare("mnist", {}, tmp_path / "data", tmp_path / "mnist.pt")
    data = load(tmp_path / "mnist.pt")
    np.testing.assert_array_equal(data["y_test"].numpy(), arrays["t10k-labels-idx1-ubyte"])


def test_source_folder_in_torchvision_layout(tmp_path, arrays):
    write_idx_set(tmp_path / "old/MNIST/raw", arrays, gz=False)
    record = fetch("mnist", {"source": str(tmp_path / "old")}, tmp_path / "data", tmp_path / "m.json")
    assert len(record["files"]) == 4 and (tmp_path / "data/MNIST/raw/t10k-images-idx3-ubyte").is_file()


def test_source_folder_missing_a_file(tmp_path, arrays):
    write_idx_set(tmp_path / "mine", arrays, gz=True)
    (tmp_path / "mine/t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"lacks t10k-labels-idx1-ubyte \(plain or \.gz\)"):
        fetch("mnist", {"source": str(tmp_path / "mine")}, tmp_path / "data", tmp_path / "m.json")
    with pytest.raises(DatasetError, match="does not exist"):
        fetch("mnist", {"source": str(tmp_path / "nowhere")}, tmp_path / "data", tmp_path / "m.json")


def test_truncated_file_is_refused_and_nothing_installed(tmp_path, arrays):
    write_idx_set(tmp_path / "mine", arrays, gz=False)
    images = tmp_path / "mine/t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated"):
        fetch("mnist", {"source": str(tmp_path / "mine")}, tmp_path / "data", tmp_path / "m.json")
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def test_damaged_gzip_is_refused(tmp_path, arrays):
    write_idx_set(tmp_path / "mine", arrays, gz=True)
    gz = tmp_path / "mine/train-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-12])  # cut gzip's CRC trailer
    with pytest.raises(DatasetError, match="damaged"):
        fetch("mnist", {"source": str(tmp_path / "mine")}, tmp_path / "data", tmp_path / "m.json")
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def test_fashion_files_must_match_the_known_sha256(tmp_path, arrays):
    """Fixture files are not the real Fashion-MNIST: its known sha256 values reject them."""
    write_idx_set(tmp_path / "fake", arrays, gz=True)
    with pytest.raises(DatasetError, match="checksum mismatch for train-images-idx3-ubyte.*sha256"):
        fetch("fashion_mnist", {"source": str(tmp_path / "fake")}, tmp_path / "data", tmp_path / "f.json")
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def test_source_order(tmp_path, arrays, monkeypatch):
    """source, then files in place, then Debian; with Debian's folder and the known sha256 faked."""
    fake_debian = tmp_path / "debian"
    for name, a in arrays.items():  # recompressed, as Debian's are: their md5 differs from torchvision's
        fake_debian.mkdir(exist_ok=True)
        (fake_debian / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(a), compresslevel=1, mtime=1))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", fake_debian)
    known = {n: hashlib.sha256(idx_bytes(a)).hexdigest() for n, a in arrays.items()}
    monkeypatch.setitem(sources.KNOWN_SHA256, "fashion_mnist", known)
    root = tmp_path / "data"

    record = fetch("fashion_mnist", {"mirrors": ["http://no-such-host.invalid/"]}, root, tmp_path / "f.json")
    assert record["source"]["type"] == "debian"
    assert {f["check"] for f in record["files"]} == {"sha256 (known)"}
    assert not (root / "FashionMNIST/raw/train-images-idx3-ubyte.gz").exists()  # its md5 is not torchvision's

    assert fetch("fashion_mnist", {}, root, tmp_path / "f.json")["source"]["type"] == "present"
    write_idx_set(tmp_path / "mine", arrays, gz=False)
    assert (
        fetch("fashion_mnist", {"source": str(tmp_path / "mine")}, root, tmp_path / "f.json")["source"][
            "type"
        ]
        == "folder"
    )


def test_generated_kinds_get_a_generated_manifest(tmp_path):
    for kind in ("mnist1d", "toy1d", "shapeset"):
        record = fetch(kind, {}, tmp_path / "data", tmp_path / f"{kind}.json")
        assert record["source"]["type"] == "generated" and record["files"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist1d.json", "shapeset.json", "toy1d.json"]


@pytest.mark.skipif(not DEBIAN.is_dir(), reason=f"{DEBIAN} is absent (Debian package dataset-fashion-mnist)")
def test_debian_fashion_mnist(tmp_path):
    record = fetch("fashion_mnist", {}, tmp_path / "data", tmp_path / "fashion_mnist.json")
    assert record["source"]["type"] == "debian"
    assert {f["path"].rsplit("/", 1)[1]: f["sha256"] for f in record["files"]} == sources.KNOWN_SHA256[
        "fashion_mnist"
    ]
    meta = prepare("fashion_mnist", {}, tmp_path / "data", tmp_path / "fashion_mnist.pt")
    assert meta["sizes"] == {"train": 60000, "val": 10000, "test": 10000}
    assert meta["classes"][0] == "T-shirt/top" and meta["input_dim"] == 784
    data = load(tmp_path / "fashion_mnist.pt")
    # The labs' input, bit for bit: torchvision's dataset with ToTensor(), flattened.
    ds = torchvision.datasets.FashionMNIST(
        tmp_path / "data", train=False, transform=torchvision.transforms.ToTensor()
    )
    for i in (0, 1234, 9999):
        image, label = ds[i]
        assert data["x_test"][i].equal(image.flatten()) and data["y_test"][i].item() == label
    assert data["x_val"].data_ptr() == data["x_test"].data_ptr()  # validation is the test set, stored once
