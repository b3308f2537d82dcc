"""CIFAR-10 through fetch and prepare, on a tiny fake cifar-10-python.tar.gz in the real layout.

The fake batches are pickled dicts like the real ones ("data": N x 3072 uint8 rows, channel-major;
"labels"); torchvision's per-file md5 list is patched to match them.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile

import numpy as np
import pytest

from idx_fixtures import serve

torchvision = pytest.importorskip("torchvision")

from initbench.datasets import DatasetError, fetch, load, prepare  # noqa: E402

PER_BATCH = 4
LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture
def cifar(tmp_path, monkeypatch):
    """Write fake batches and their tarball under tmp_path/src; patch CIFAR10's checksums. Yields the batches."""
    folder = tmp_path / "src/cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches, md5 = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = {
            "data": rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
            "labels": [1, 3, 5, 7],
        }
        (folder / name).write_bytes(pickle.dumps(batches[name]))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": LABELS}))
    for p in folder.iterdir():
        md5[p.name] = hashlib.md5(p.read_bytes()).hexdigest()
    archive = tmp_path / "src/cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(
        cls, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5["batches.meta"]}
    )
    monkeypatch.setattr(cls, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    return batches


def test_source_tarball_then_prepare_keeps_channel_major_order(tmp_path, cifar):
    only_tar = tmp_path / "tar"
    only_tar.mkdir()
    (tmp_path / "src/cifar-10-python.tar.gz").rename(only_tar / "cifar-10-python.tar.gz")
    record = fetch("cifar10", {"source": str(only_tar)}, tmp_path / "data", tmp_path / "c.json")
    assert {f["check"] for f in record["files"]} == {"md5 (torchvision)"} and len(record["files"]) == 7
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar-10-batches-py"]  # no scratch left

    meta = prepare("cifar10", {}, tmp_path / "data", tmp_path / "c.pt")
    data = load(tmp_path / "c.pt")
    assert meta["sizes"] == {"train": 5 * PER_BATCH, "val": PER_BATCH, "test": PER_BATCH}
    assert meta["input_shape"] == [3, 32, 32] and meta["classes"] == LABELS
    # ToTensor gives C x H x W; flattened, that is the row as stored in the batch file.
    want = cifar["data_batch_2"]["data"][1].astype(np.float32) / 255
    np.testing.assert_array_equal(data["x_train"][PER_BATCH + 1].numpy(), want)
    ds = torchvision.datasets.CIFAR10(
        tmp_path / "data", train=False, transform=torchvision.transforms.ToTensor()
    )
    assert data["x_test"][2].equal(ds[2][0].flatten()) and data["y_test"][2].item() == 5


def test_download_from_a_mirror_and_a_corrupt_one(tmp_path, cifar):
    with serve(tmp_path / "src") as url:
        record = fetch("cifar10", {"mirrors": [url]}, tmp_path / "data", tmp_path / "c.json")
        assert record["source"]["mirror"] == url and len(record["files"]) == 7

        archive = tmp_path / "src/cifar-10-python.tar.gz"
        blob = bytearray(archive.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        archive.write_bytes(bytes(blob))
        with pytest.raises(
            DatasetError, match=r"(?s)checksum mismatch.*cifar-10-python\.tar\.gz: md5 [0-9a-f]{32}, expected"
        ):
            fetch("cifar10", {"mirrors": [url]}, tmp_path / "fresh", tmp_path / "c2.json")
    assert [p for p in (tmp_path / "fresh").rglob("*")] == []


def test_a_damaged_batch_file_is_refused(tmp_path, cifar):
    batch = tmp_path / "src/cifar-10-batches-py/data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-1])
    with pytest.raises(DatasetError, match="checksum mismatch for data_batch_3"):
        fetch(
            "cifar10",
            {"source": str(tmp_path / "src/cifar-10-batches-py")},
            tmp_path / "data",
            tmp_path / "c.json",
        )
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []
