"""Loading sample arrays given on the command line (.npy / .npz / the built-in digits)."""
from __future__ import annotations

import os

import numpy as np

from ..errors import EdgesnnError

DIGITS = "digits"


def load_xy(spec: str, split: str = "test"):
    """Return (x, y or None) from `digits`, X.npy, or DATA.npz with arrays x [, y]."""
    if spec == DIGITS:
        from ..datasets import load_digits_split
        x_tr, y_tr, x_te, y_te = load_digits_split()
        return (x_tr, y_tr) if split == "train" else (x_te, y_te)
    if not os.path.exists(spec):
        raise EdgesnnError(f"no such file: {spec}")
    try:
        data = np.load(spec, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise EdgesnnError(f"{spec} is not a .npy/.npz array file ({exc})") from exc
    if isinstance(data, np.ndarray):
        return data, None
    keys = set(data.files)
    if "x" not in keys:
        raise EdgesnnError(f"{spec} has arrays {sorted(keys)}; expected 'x' (and optionally 'y')")
    return data["x"], (data["y"] if "y" in keys else None)
