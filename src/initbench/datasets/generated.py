"""The small generated datasets: the course lab's toy1d and MNIST-1D.

Each function returns plain tensors ``(x_train, y_train, x_test, y_test)`` with x float32 (N, D).
Shapeset-3x2 has its own module, ``shapeset.py``.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def toy1d() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The lab "Initialization with same weights": X = arange(-20, 20, 1), Y = 1 where -4 < x < 4, else 0.

    40 points, x float32 (40, 1), y float32 0/1 of shape (40,) (the lab trains a BCE model on it).
    The lab has no held-out data: the test set is the training set itself (the same tensor).
    """
    x = torch.arange(-20, 20, 1, dtype=torch.float32).view(-1, 1)
    y = ((x[:, 0] > -4) & (x[:, 0] < 4)).to(torch.float32)
    return x, y, x, y


def mnist1d(
    n_samples: int, n_test: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """MNIST-1D (Greydanus 2020, PyPI ``mnist1d``): 40 inputs, 10 classes, ``n_samples`` in all, the last ``n_test`` for test.

    Uses ``make_dataset`` directly: ``get_dataset`` tries a download and writes a pickle into the
    working directory. ``make_dataset`` reseeds Python's and numpy's global RNGs (``set_seed``), so
    their states are restored afterwards and the caller's randomness is untouched. With
    n_test = 0.2 * n_samples this is exactly the package's own 80/20 split.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = n_samples, seed
    args.train_split = 1.0  # we split by count below, so float rounding cannot move one sample
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    x = torch.from_numpy(np.ascontiguousarray(data["x"], dtype=np.float32))
    y = torch.from_numpy(np.asarray(data["y"], dtype=np.int64))
    n_train = n_samples - n_test
    return x[:n_train].clone(), y[:n_train].clone(), x[n_train:].clone(), y[n_train:].clone()
