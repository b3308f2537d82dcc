"""Shapeset-3x2: a generator of Glorot & Bengio's (2010, section 2.1) synthetic image task, in numpy.

Each image is 32x32 grey and holds one or two shapes, each a triangle, a parallelogram or an ellipse,
with a random position, scale, rotation and grey level. The class is which shapes the image holds,
regardless of order; 3 singles + 6 unordered pairs (same-shape pairs included) = 9 classes:

    0 triangle                 3 triangle+triangle        6 parallelogram+parallelogram
    1 parallelogram            4 triangle+parallelogram   7 parallelogram+ellipse
    2 ellipse                  5 triangle+ellipse         8 ellipse+ellipse

The paper gives the task, not a generator, so these choices are ours:
- background 0; each shape's grey level is uniform in [0.3, 1] (always visible against the background),
  and the two shapes of an image differ by at least 0.15, so their outlines stay visible;
- a shape lies inside its circumscribed circle of radius 15-35 % of the image side, fully inside the image;
  triangles are equilateral squashed along one axis, parallelograms are sheared rectangles, and both
  they and ellipses have an aspect ratio in [0.5, 1]; the rotation is uniform;
- the second shape is drawn over the first but may hide at most half of the smaller one, otherwise
  it is redrawn (an image with one shape mostly hidden would carry the wrong label);
- pixels are the mean of 2x2 samples (light anti-aliasing); values are float32 in [0, 1];
- classes are balanced: counts differ by at most one.
Same seed, same bytes: every random draw comes from one ``numpy.random.Generator`` in a fixed order.
"""

from __future__ import annotations

import numpy as np

SIZE = 32
SHAPES = ("triangle", "parallelogram", "ellipse")
CLASSES: tuple[tuple[int, ...], ...] = ((0,), (1,), (2,), (0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
CLASS_NAMES: tuple[str, ...] = tuple("+".join(SHAPES[s] for s in c) for c in CLASSES)

SUPERSAMPLE = 2  # samples per pixel side
RADIUS = (0.15 * SIZE, 0.35 * SIZE)  # circumscribed radius in pixels
ASPECT = (0.5, 1.0)
SHEAR = (-0.5, 0.5)  # parallelograms: how far the top edge slides, in half-widths
GREY = (0.3, 1.0)
MIN_GREY_GAP = 0.15
MAX_HIDDEN = 0.5  # the most of the smaller shape the pair may share
MAX_REDRAWS = 100  # after this many tries a pair is kept as drawn (never reached in practice)
CHUNK = 256  # images rasterised at once: bounds the memory of the point grids


def generate_split(n_samples: int, n_test: int, seed: int) -> tuple[np.ndarray, ...]:
    """``n_samples - n_test`` training and ``n_test`` test images: (x_train, y_train, x_test, y_test).

    The two splits come from independent child seeds, so the test set does not change with the
    training set's size.
    """
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    return (*generate(n_samples - n_test, train_seed), *generate(n_test, test_seed))


def generate(n: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images: x float32 (n, 1024) in [0, 1] (row-major 32x32), y int64 (n,) class ids as above."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    kinds = np.full((n, 2), -1)
    for c, shapes in enumerate(CLASSES):
        kinds[y == c, : len(shapes)] = shapes
    two = kinds[:, 1] >= 0
    swap = two & (rng.random(n) < 0.5)  # which shape of a mixed pair lies on top
    kinds[swap] = kinds[swap, ::-1]

    first, second = _draw(rng, n), _draw(rng, n)
    cover0 = _coverage(kinds[:, 0], first)
    cover1 = np.zeros_like(cover0)
    todo = np.flatnonzero(two)
    for _ in range(MAX_REDRAWS):
        cover1[todo] = _coverage(kinds[todo, 1], _take(second, todo))
        bad = todo[_conflicts(cover0[todo], cover1[todo], first["grey"][todo], second["grey"][todo])]
        if bad.size == 0:
            break
        for key, values in _draw(rng, bad.size).items():
            second[key][bad] = values
        todo = bad

    image = cover0 * first["grey"][:, None, None]
    image = image * (1 - cover1) + cover1 * second["grey"][:, None, None]
    return image.reshape(n, SIZE * SIZE).astype(np.float32), y


def _draw(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    """The random parameters of ``m`` shapes (the same draws whatever the shape, to keep the stream simple)."""
    r = rng.uniform(*RADIUS, m)
    return {
        "r": r,
        "cx": r + rng.random(m) * (SIZE - 2 * r),  # the circumscribed circle stays inside the image
        "cy": r + rng.random(m) * (SIZE - 2 * r),
        "angle": rng.uniform(0, 2 * np.pi, m),
        "aspect": rng.uniform(*ASPECT, m),
        "shear": rng.uniform(*SHEAR, m),
        "grey": rng.uniform(*GREY, m),
    }


def _take(params: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in params.items()}


def _conflicts(c0: np.ndarray, c1: np.ndarray, g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """Pairs to redraw: the shapes share more than MAX_HIDDEN of the smaller one, or their greys are too close."""
    shared = (c0 * c1).sum(axis=(1, 2))
    smaller = np.minimum(c0.sum(axis=(1, 2)), c1.sum(axis=(1, 2)))
    return (shared > MAX_HIDDEN * smaller) | (np.abs(g0 - g1) < MIN_GREY_GAP)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Sample points in pixel units, row-major: SUPERSAMPLE x SUPERSAMPLE per pixel."""
    t = (np.arange(SIZE * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    py, px = np.meshgrid(t, t, indexing="ij")
    return px.ravel(), py.ravel()


def _coverage(kinds: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """The fraction of each pixel that each shape covers: float64 (m, SIZE, SIZE)."""
    px, py = _grid()
    out = np.zeros((len(kinds), SIZE, SIZE))
    for start in range(0, len(kinds), CHUNK):
        rows = slice(start, start + CHUNK)
        cos, sin, r = (
            np.cos(p["angle"][rows])[:, None],
            np.sin(p["angle"][rows])[:, None],
            p["r"][rows][:, None],
        )
        dx, dy = px - p["cx"][rows][:, None], py - p["cy"][rows][:, None]
        u, v = (
            (cos * dx + sin * dy) / r,
            (cos * dy - sin * dx) / r,
        )  # shape coordinates: unit circumscribed circle
        inside = np.zeros(u.shape, dtype=bool)
        kind, aspect, shear = kinds[rows], p["aspect"][rows], p["shear"][rows]
        for k in range(len(SHAPES)):
            sel = kind == k
            if sel.any():
                inside[sel] = _inside(k, u[sel], v[sel], aspect[sel], shear[sel])
        m = inside.shape[0]
        out[rows] = inside.reshape(m, SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(2, 4))
    return out


def _inside(kind: int, u: np.ndarray, v: np.ndarray, aspect: np.ndarray, shear: np.ndarray) -> np.ndarray:
    """Which points (u, v) of shape coordinates fall inside the canonical shape, for ``m`` shapes at once."""
    a = aspect[:, None]
    if kind == 2:  # ellipse with semi-axes 1 and a
        return u**2 + (v / a) ** 2 <= 1
    if kind == 0:  # equilateral triangle inscribed in the unit circle, squashed by a along v
        xs = np.array([0.0, -np.sqrt(3) / 2, np.sqrt(3) / 2])
        vx = np.broadcast_to(xs, (len(aspect), 3))
        vy = np.array([1.0, -0.5, -0.5])[None, :] * a
    else:  # parallelogram: a rectangle 2 x 2a whose top edge slides by `shear`, scaled into the unit circle
        s = shear[:, None]
        vx = np.concatenate([-1 - s, 1 - s, 1 + s, -1 + s], axis=1)
        vy = np.concatenate([-a, -a, a, a], axis=1)
        scale = np.sqrt((1 + np.abs(s)) ** 2 + a**2)
        vx, vy = vx / scale, vy / scale
    inside = np.ones(u.shape, dtype=bool)
    k = vx.shape[1]
    for i in range(k):  # a convex polygon with counter-clockwise corners: left of every edge
        ex, ey = vx[:, (i + 1) % k] - vx[:, i], vy[:, (i + 1) % k] - vy[:, i]
        inside &= ex[:, None] * (v - vy[:, i, None]) - ey[:, None] * (u - vx[:, i, None]) >= 0
    return inside
