"""Small real sensor data sets, shipped in the package as .npz (no download, no aeon).

    x, y, provenance = load_sensor("basicmotions", "train")   # x float32 (N, T, C)

| name           | channels                          | frames (T) | classes | train/test |
|----------------|-----------------------------------|------------|---------|------------|
| basicmotions   | 6 (wrist accelerometer + gyro)    | 100        | 4       | 40/40      |
| japanesevowels | 12 (LPC cepstrum coefficients)    | 7-29 -> 29 | 9       | 270/370    |
| gunpoint       | 1 (hand X position)               | 150        | 2       | 50/150     |

They come from the UEA/UCR archive as bundled in the aeon wheel; tools/
make_sensor_datasets.py rebuilds them from a downloaded wheel, and every file carries a
provenance string (aeon version, sha256 of the wheel and of each source .ts, citation).
JapaneseVowels has unequal lengths: its series are zero-padded after their end to 29
frames (the longest of either split) and `sensor_lengths` gives the true lengths.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import EdgesnnError

SENSOR_SETS = ("basicmotions", "japanesevowels", "gunpoint")
SPLITS = ("train", "test")
_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sensors")


def sensor_path(name: str) -> str:
    return os.path.join(_DIR, f"{name}.npz")


def _open(name: str):
    key = str(name).lower()
    if key not in SENSOR_SETS:
        raise EdgesnnError(f"unknown sensor data set {name!r}; choose one of "
                           f"{', '.join(SENSOR_SETS)}")
    path = sensor_path(key)
    if not os.path.exists(path):
        raise EdgesnnError(f"{path} is missing from this installation; rebuild it with "
                           "tools/make_sensor_datasets.py AEON_WHEEL")
    return np.load(path, allow_pickle=False)


def _split(split: str) -> str:
    if split not in SPLITS:
        raise EdgesnnError(f"split must be 'train' or 'test', got {split!r}")
    return split


def load_sensor(name: str, split: str = "train"):
    """(x, y, provenance): x float32 (N, T, C) frames per case, y int64 class indices,
    provenance the data set's origin string."""
    split = _split(split)
    with _open(name) as d:
        return d[f"x_{split}"], d[f"y_{split}"], str(d["provenance"])


def sensor_lengths(name: str, split: str = "train") -> np.ndarray:
    """Frames per case before padding (all equal except for japanesevowels)."""
    split = _split(split)
    with _open(name) as d:
        return d[f"lengths_{split}"]


def sensor_classes(name: str) -> list:
    with _open(name) as d:
        return [str(c) for c in d["class_names"]]


def sensor_provenance(name: str) -> str:
    with _open(name) as d:
        return str(d["provenance"])
