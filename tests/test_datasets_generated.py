"""The generated datasets: the lab's toy1d and MNIST-1D (which must never touch the cwd or the caller's RNGs)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from initbench.datasets import DatasetError, load, prepare
from initbench.datasets.generated import mnist1d, toy1d


def test_toy1d_is_the_labs_40_points(tmp_path):
    x, y, x_test, _ = toy1d()
    assert x.shape == (40, 1) and x[0, 0] == -20 and x[-1, 0] == 19 and x_test is x
    assert (
        y.dtype == torch.float32
        and y.sum() == 7
        and y[x[:, 0] == -3].item() == 1
        and y[x[:, 0] == 4].item() == 0
    )
    meta = prepare("toy1d", {}, tmp_path, tmp_path / "toy1d.pt")
    assert meta["sizes"] == {"train": 40, "val": 40, "test": 40} and meta["task"] == "binary"
    data = load(tmp_path / "toy1d.pt")
    assert data["x_train"].data_ptr() == data["x_val"].data_ptr() == data["x_test"].data_ptr()
    with pytest.raises(DatasetError, match="validation = test = train"):
        prepare("toy1d", {"validation": 0.2}, tmp_path, tmp_path / "bad.pt")


def test_mnist1d_shapes_determinism_and_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    random.seed(123)
    np.random.seed(123)
    before = random.random(), np.random.rand()
    random.seed(123)
    np.random.seed(123)

    x, y, x_test, y_test = mnist1d(1000, 200, seed=5)
    after = random.random(), np.random.rand()
    assert after == before  # make_dataset reseeds both global RNGs; we restore them
    assert list(tmp_path.iterdir()) == []  # nothing written into the working directory
    assert x.shape == (800, 40) and x_test.shape == (200, 40) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    again = mnist1d(1000, 200, seed=5)
    assert x.equal(again[0]) and y_test.equal(again[3])
    assert not x.equal(mnist1d(1000, 200, seed=6)[0])


def test_mnist1d_is_the_packages_own_split():
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = 500  # train_split 0.8 and seed 42 are the package's defaults
    ref = make_dataset(args)
    x, y, x_test, y_test = mnist1d(500, 100, seed=42)
    np.testing.assert_array_equal(x.numpy(), ref["x"].astype(np.float32))
    np.testing.assert_array_equal(y_test.numpy(), ref["y_test"])


def test_generated_options_are_checked(tmp_path):
    with pytest.raises(DatasetError, match="multiple of 10"):
        prepare("mnist1d", {"n_samples": 1005}, tmp_path, tmp_path / "m.pt")
    with pytest.raises(DatasetError, match="smaller than n_samples"):
        prepare("shapeset", {"n_samples": 100, "n_test": 100}, tmp_path, tmp_path / "s.pt")
    with pytest.raises(DatasetError, match="does not apply"):
        prepare("mnist1d", {"source": "/tmp"}, tmp_path, tmp_path / "m.pt")
    meta = prepare("shapeset", {"n_samples": 100}, tmp_path, tmp_path / "s.pt")
    assert meta["sizes"] == {"train": 80, "val": 20, "test": 20}  # n_test defaults to 20 %
    assert meta["input_shape"] == [1, 32, 32] and meta["n_classes"] == 9
