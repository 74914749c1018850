"""Named, deterministic domain shifts of the digits data (the shifted-domain scenario).

Each shift maps float digits of shape (N, 1, 8, 8) in [0, 1] to the same shape and range,
the same way every time (no randomness), so a host, a test and a board see identical
samples:

* ``gain``: a sensor offset/gain drift, ``x * 0.5 + 0.35`` (half the contrast on a raised
  black level).
* ``misalign``: the sensor moved by one pixel right and one pixel down (zero fill).
* ``thick``: thicker strokes, a 2x2 max-filter dilation (each pixel takes the maximum of
  itself and its right, lower and lower-right neighbours; zero beyond the border).

``shifted_split(name)`` gives the fine-tuning samples (at most ``n_train`` from the
training split, balanced over the classes) and the 450 held-out test samples, all
shifted.
"""
from __future__ import annotations

import numpy as np

GAIN, OFFSET = 0.5, 0.35
MISALIGN = (1, 1)  # (down, right) in pixels


def _check(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != (1, 8, 8):
        raise ValueError(f"expected digits of shape (N, 1, 8, 8), got {x.shape}")
    return x


def translate(x, dy: int, dx: int) -> np.ndarray:
    """Move the image content down by `dy` and right by `dx` pixels (negative: up/left);
    pixels that enter from the border are 0."""
    x = _check(x)
    h, w = x.shape[2:]
    out = np.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[:, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[:, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def dilate(x, size: int = 2) -> np.ndarray:
    """Max filter over a size x size window anchored at the top-left pixel (zero padding
    on the right and bottom)."""
    x = _check(x)
    p = np.pad(x, ((0, 0), (0, 0), (0, size - 1), (0, size - 1)))
    h, w = x.shape[2:]
    return np.maximum.reduce([p[:, :, a:a + h, b:b + w] for a in range(size) for b in range(size)])


def gain(x) -> np.ndarray:
    """Sensor offset/gain drift: x * 0.5 + 0.35, clipped to [0, 1]."""
    return np.clip(_check(x) * GAIN + OFFSET, 0.0, 1.0).astype(np.float32)


def misalign(x) -> np.ndarray:
    """One-pixel misalignment: content moved 1 px down and 1 px right (zero fill)."""
    return translate(x, *MISALIGN)


def thick(x) -> np.ndarray:
    """Thicker strokes: 2x2 max-filter dilation."""
    return dilate(x, 2)


SHIFTS = {"gain": gain, "misalign": misalign, "thick": thick}

DESCRIPTIONS = {
    "gain": f"sensor gain/offset drift x*{GAIN}+{OFFSET}",
    "misalign": "1 px right + 1 px down, zero fill",
    "thick": "thicker strokes, 2x2 max-filter dilation",
}


def apply(name: str, x) -> np.ndarray:
    """Apply the shift called `name` (one of SHIFTS) to x."""
    if name not in SHIFTS:
        raise ValueError(f"unknown shift {name!r}; choose one of {sorted(SHIFTS)}")
    return SHIFTS[name](x)


def select_balanced(y, n: int, seed: int = 0) -> np.ndarray:
    """Indices of `n` samples of labels `y`, as even over the classes as possible,
    chosen with a fixed seed (sorted)."""
    y = np.asarray(y)
    classes = np.unique(y)
    rng = np.random.default_rng(seed)
    n = min(int(n), y.size)
    per = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    base, extra = divmod(n, classes.size)
    take = []
    for i, idx in enumerate(per):
        take.append(idx[:base + (1 if i < extra else 0)])
    return np.sort(np.concatenate(take))


def shifted_split(name: str, n_train: int = 200, seed: int = 0):
    """(x_ft, y_ft, x_eval, y_eval) of shift `name`: `n_train` fine-tuning samples
    (at most 200 by default) drawn class-balanced from the training split with `seed`,
    and the 450 held-out test samples, all shifted."""
    from .datasets import load_digits_split

    x_tr, y_tr, x_te, y_te = load_digits_split()
    idx = select_balanced(y_tr, n_train, seed)
    return apply(name, x_tr[idx]), y_tr[idx], apply(name, x_te), y_te
