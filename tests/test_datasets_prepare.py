"""prepare() and load(): splits, subset, normalisation, meta hashes, atomic writes, clear option errors."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from idx_fixtures import gz_resources, mnist_like, write_idx_set

torchvision = pytest.importorskip("torchvision")

from initbench.datasets import DatasetError, fetch, load, prepare  # noqa: E402

N_TRAIN, N_TEST = 100, 20


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    """A root holding small MNIST-like files, fetched from a source folder; yields (root, arrays)."""
    arrays = mnist_like(N_TRAIN, N_TEST)
    arrays["train-images-idx3-ubyte"][:, :, 0] = 0  # a constant column, like MNIST's empty borders
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", gz_resources(arrays))
    write_idx_set(tmp_path / "src", arrays)
    fetch("mnist", {"source": str(tmp_path / "src")}, tmp_path / "data", tmp_path / "mnist.json")
    return tmp_path / "data", arrays


def _rows(x: torch.Tensor) -> set[bytes]:
    return {r.tobytes() for r in x.numpy()}


def test_default_is_the_labs_setup(tmp_path, mnist_root):
    root, arrays = mnist_root
    meta = prepare("mnist", {}, root, tmp_path / "out.pt")
    data = load(tmp_path / "out.pt")
    assert meta["sizes"] == {"train": N_TRAIN, "val": N_TEST, "test": N_TEST} and meta["val_is_test"]
    assert data["x_val"].equal(data["x_test"])
    # ToTensor's scaling, bit for bit
    ds = torchvision.datasets.MNIST(root, train=True, transform=torchvision.transforms.ToTensor())
    assert data["x_train"][7].equal(ds[7][0].flatten()) and data["y_train"][7].item() == ds[7][1]
    assert data["x_train"].dtype == torch.float32 and data["y_train"].dtype == torch.int64
    assert (
        meta["source"]["files"]["MNIST/raw/train-images-idx3-ubyte"]
        == json.loads((tmp_path / "mnist.json").read_text())["files"][0]["sha256"]
    )


def test_validation_fraction_and_subset(tmp_path, mnist_root):
    root, _ = mnist_root
    opts = {"validation": 0.25, "train_subset": 30, "seed": 3}
    meta = prepare("mnist", opts, root, tmp_path / "a.pt")
    prepare("mnist", {}, root, tmp_path / "full.pt")
    a, full = load(tmp_path / "a.pt"), load(tmp_path / "full.pt")
    assert meta["sizes"] == {"train": 30, "val": 25, "test": N_TEST} and not meta["val_is_test"]
    train, val, everything = _rows(a["x_train"]), _rows(a["x_val"]), _rows(full["x_train"])
    assert not train & val and train <= everything and val <= everything
    # the same seed gives the same split; another seed another one
    prepare("mnist", opts, root, tmp_path / "b.pt")
    assert load(tmp_path / "b.pt")["meta"]["tensors"] == a["meta"]["tensors"]
    prepare("mnist", {**opts, "seed": 4}, root, tmp_path / "c.pt")
    assert _rows(load(tmp_path / "c.pt")["x_val"]) != val
    # a subset alone: the first N of a seeded permutation, kept in the original order
    prepare("mnist", {"train_subset": 10}, root, tmp_path / "d.pt")
    d = load(tmp_path / "d.pt")
    index = {r.tobytes(): i for i, r in enumerate(full["x_train"].numpy())}
    picked = [index[r.tobytes()] for r in d["x_train"].numpy()]
    assert picked == sorted(picked) and picked != list(range(10))
    with pytest.raises(DatasetError, match="train_subset=80 but only 75 training samples remain"):
        prepare("mnist", {"validation": 0.25, "train_subset": 80}, root, tmp_path / "e.pt")


def test_standardize_uses_train_statistics(tmp_path, mnist_root):
    root, arrays = mnist_root
    meta = prepare("mnist", {"normalize": "standardize"}, root, tmp_path / "s.pt")
    data = load(tmp_path / "s.pt")
    x = data["x_train"].double()
    varying = x.std(0) > 0
    assert meta["normalize"]["constant_features"] == 28  # the zeroed column: 28 pixels
    assert torch.allclose(x.mean(0), torch.zeros(784, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(
        x.std(0, unbiased=False)[varying], torch.ones(int(varying.sum()), dtype=torch.float64), atol=1e-4
    )
    raw_train = torch.from_numpy(arrays["train-images-idx3-ubyte"].reshape(N_TRAIN, -1)).double() / 255
    raw_test = torch.from_numpy(arrays["t10k-images-idx3-ubyte"].reshape(N_TEST, -1)).double() / 255
    std = raw_train.std(0, unbiased=False)
    want = ((raw_test - raw_train.mean(0)) / torch.where(std < 1e-6, torch.ones_like(std), std)).float()
    assert torch.allclose(data["x_test"], want, atol=1e-5)  # the test set uses train's mean and std
    assert data["x_val"].data_ptr() == data["x_test"].data_ptr()


def test_meta_hashes_json_and_tamper_detection(tmp_path, mnist_root):
    root, _ = mnist_root
    out = tmp_path / "m.pt"
    meta = prepare("mnist", {"validation": 0.1}, root, out)
    assert json.loads(out.with_suffix(".json").read_text()) == json.loads(json.dumps(meta))
    data = load(out)
    for key, info in meta["tensors"].items():
        t = data[key].numpy()
        assert info == {
            "shape": list(t.shape),
            "dtype": str(t.dtype),
            "sha256": hashlib.sha256(t.tobytes()).hexdigest(),
        }
    data["x_train"][0, 0] += 1
    torch.save(data, out)
    with pytest.raises(DatasetError, match="x_train does not match its sha256"):
        load(out)
    with pytest.raises(DatasetError, match="does not exist"):
        load(tmp_path / "none.pt")


def test_writes_are_atomic(tmp_path, mnist_root, monkeypatch):
    root, _ = mnist_root
    out = tmp_path / "results/m.pt"
    prepare("mnist", {}, root, out)
    before = out.read_bytes(), out.with_suffix(".json").read_bytes()

    def dies_halfway(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"half a file")
        raise KeyboardInterrupt  # as if the job were killed mid-write

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        prepare("mnist", {"normalize": "standardize"}, root, out)
    assert (out.read_bytes(), out.with_suffix(".json").read_bytes()) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.json", "m.pt"]  # no temporary file left


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"normalise": "none"}, "unknown option"),
        ({"normalize": "zscore"}, "normalize='zscore' must be one of: none, standardize"),
        ({"validation": 1.5}, "validation=1.5 must be 'test' or a fraction"),
        ({"train_subset": 0}, "train_subset=0 must be a positive integer"),
        ({"n_samples": 100}, "applies only to generated kinds"),
        ({"kind": "svhn"}, "unknown kind 'svhn'"),
        ({"mirrors": "http://x/"}, "must be a non-empty list"),
        ({"timeout": 0}, "timeout=0 must be a positive number"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, options, message):
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare("mnist", options, tmp_path, tmp_path / "x.pt")
