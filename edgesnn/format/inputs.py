"""Input quantisation: the float samples -> uint8 codes step of the blob contract.

It lives with the format (not the quantiser) because the runtime applies it to every
sample with the scale and zero point the blob header stores, and the packer applies it
to calibration data: both must round exactly alike.
"""
from __future__ import annotations

import numpy as np


def quantize_input(x, scale: float, zero_point: int) -> np.ndarray:
    """q = clamp(round(x / scale) + zero_point, 0, 255) as uint8 (round half to even)."""
    q = np.rint(np.asarray(x, dtype=np.float64) / np.float64(np.float32(scale))) + zero_point
    return np.clip(q, 0, 255).astype(np.uint8)
