"""Loading sample arrays given on the command line (.npy / .npz / the built-in digits)."""
from __future__ import annotations

import os

import numpy as np

from ..errors import EdgesnnError

DIGITS = "digits"


def open_arrays(path: str, kinds: str = ".npy/.npz"):
    """np.load(path) (an array or an NpzFile), with one-line errors for a missing or
    unreadable file; `kinds` names the accepted file kinds in the message."""
    if not os.path.exists(path):
        raise EdgesnnError(f"no such file: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise EdgesnnError(f"{path} is not a {kinds} array file ({exc})") from exc


def load_xy(spec: str, split: str = "test"):
    """Return (x, y or None) from `digits`, X.npy, or DATA.npz with arrays x [, y]."""
    if spec == DIGITS:
        from ..datasets import load_digits_split
        x_tr, y_tr, x_te, y_te = load_digits_split()
        return (x_tr, y_tr) if split == "train" else (x_te, y_te)
    data = open_arrays(spec)
    if isinstance(data, np.ndarray):
        return data, None
    keys = set(data.files)
    if "x" not in keys:
        raise EdgesnnError(f"{spec} has arrays {sorted(keys)}; expected 'x' (and optionally 'y')")
    return data["x"], (data["y"] if "y" in keys else None)
