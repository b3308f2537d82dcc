"""Write a small dataset of your own as a .npz for initbench's ``tensors`` kind: three spirals.

    python examples/plugins/make_spirals.py                 # -> data/spirals.npz
    python examples/plugins/make_spirals.py --out my.npz --per-class 2000 --seed 1

Three interleaved spiral arms in the plane, one class each (the classic toy problem of CS231n's
"Putting it together: minimal neural network case study"), with Gaussian noise. Two inputs, three
classes: a small MLP learns it in a few epochs, but only once its first layers are not saturated
or dead, which is what an init decides. The file holds ``x_train, y_train, x_val, y_val, x_test,
y_test`` (x float32 (N, 2), y int64 class ids), drawn from one seeded generator: the same seed
writes the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = 3
TURNS = 1.25  # how far each arm winds round the centre
NOISE = 0.15  # std of the Gaussian noise on the angle, in radians


def spirals(per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` points of each arm, shuffled: x (N, 2) float32, y (N,) int64."""
    radius = np.tile(np.linspace(0.05, 1.0, per_class), CLASSES)
    y = np.repeat(np.arange(CLASSES), per_class)
    angle = 2 * np.pi * (TURNS * radius + y / CLASSES) + rng.normal(0.0, NOISE, size=y.size)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    order = rng.permutation(y.size)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/spirals.npz"))
    parser.add_argument("--per-class", type=int, default=1000, help="training points per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    splits = {
        "train": spirals(args.per_class, rng),
        "val": spirals(args.per_class // 5, rng),
        "test": spirals(args.per_class // 5, rng),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **{f"{k}_{s}": a for s, (x, y) in splits.items() for k, a in (("x", x), ("y", y))})
    print(f"wrote {args.out}: " + ", ".join(f"{s} {len(y)}" for s, (_, y) in splits.items()))


if __name__ == "__main__":
    main()
