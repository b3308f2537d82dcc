"""The Shapeset-3x2 generator: balanced, deterministic, and each image holds as many shapes as its class says."""

from __future__ import annotations

import numpy as np

from initbench.datasets import shapeset


def _interior_levels(image: np.ndarray) -> int:
    """How many grey levels fill some pixel whose 3x3 neighbourhood is constant: one per visible shape."""
    img = image.reshape(shapeset.SIZE, shapeset.SIZE)
    p = np.pad(img, 1)
    windows = np.stack([p[i : i + shapeset.SIZE, j : j + shapeset.SIZE] for i in range(3) for j in range(3)])
    flat = (windows.max(0) == windows.min(0)) & (img > 0)
    return len(np.unique(img[flat]))


def test_shapes_range_and_balance():
    x_train, y_train, x_test, y_test = shapeset.generate_split(1000, 100, seed=0)
    assert x_train.shape == (900, 1024) and x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_test.shape == (100, 1024)
    assert (
        0 <= x_train.min() and x_train.max() <= 1 and (x_train.max(axis=1) >= shapeset.GREY[0] - 1e-6).all()
    )
    for y in (y_train, y_test):
        counts = np.bincount(y, minlength=9)
        assert len(counts) == 9 and counts.max() - counts.min() <= 1
    assert len(shapeset.CLASS_NAMES) == 9 and shapeset.CLASS_NAMES[5] == "triangle+ellipse"


def test_same_seed_same_bytes_other_seed_other_data():
    a, b = shapeset.generate(300, 7), shapeset.generate(300, 7)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    c = shapeset.generate(300, 8)
    assert a[0].tobytes() != c[0].tobytes()


def test_test_split_does_not_depend_on_the_training_size():
    small, large = shapeset.generate_split(500, 90, 3), shapeset.generate_split(900, 90, 3)
    assert small[2].tobytes() == large[2].tobytes() and small[3].tobytes() == large[3].tobytes()


def test_images_hold_as_many_shapes_as_their_class_says():
    x, y = shapeset.generate(900, 1)
    n_shapes = np.array([len(shapeset.CLASSES[c]) for c in y])
    levels = np.array([_interior_levels(img) for img in x])
    assert (levels[n_shapes == 1] <= 1).all()  # a single shape has one grey level
    assert (levels[n_shapes == 1] == 1).mean() > 0.95  # (a tiny triangle may have no interior pixel)
    assert (levels[n_shapes == 2] == 2).mean() > 0.9  # both shapes of a pair stay visible
