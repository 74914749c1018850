"""Numpy kernels shared by the float IR (float64) and the integer oracle (int64).

One implementation of the sliding-window arithmetic, so the float reference, the
importer's shape logic and the integer reference can never disagree on output sizes
or on which input pixels a window covers.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError


def conv_out_size(size: int, k: int, stride: int, pad_before: int = 0, pad_after: int = 0) -> int:
    """Output length of a window of length k sliding with `stride` over a padded axis.

    The formula of docs/format.md: (size + pads - k) // stride + 1, which must be >= 1.
    """
    if k < 1 or stride < 1:
        raise ShapeError(f"kernel size {k} and stride {stride} must be >= 1")
    if pad_before < 0 or pad_after < 0:
        raise ShapeError(f"negative padding ({pad_before}, {pad_after}) is not allowed")
    span = size + pad_before + pad_after - k
    if span < 0:
        raise ShapeError(
            f"kernel {k} is larger than the padded input {size + pad_before + pad_after}"
        )
    return span // stride + 1


def _windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, pads) -> np.ndarray:
    """View of x [B,C,H,W] as windows [B,C,kh,kw,Ho,Wo] (zero padding, no copy after pad)."""
    pt, pl, pb, pr = pads
    ho = conv_out_size(x.shape[2], kh, sh, pt, pb)
    wo = conv_out_size(x.shape[3], kw, sw, pl, pr)
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    x = np.ascontiguousarray(x)
    s0, s1, s2, s3 = x.strides
    shape = (x.shape[0], x.shape[1], kh, kw, ho, wo)
    return np.lib.stride_tricks.as_strided(
        x, shape, (s0, s1, s2, s3, s2 * sh, s3 * sw), writeable=False
    )


def conv2d(x: np.ndarray, w: np.ndarray, stride=(1, 1), pads=(0, 0, 0, 0)) -> np.ndarray:
    """Cross-correlation without bias: x [B,Cin,H,W], w [C,Cin,kh,kw] -> [B,C,Ho,Wo]."""
    c, cin, kh, kw = w.shape
    if x.shape[1] != cin:
        raise ShapeError(f"conv expects {cin} input channels, got {x.shape[1]}")
    cols = _windows(x, kh, kw, stride[0], stride[1], pads)
    out = np.tensordot(cols, w, axes=([1, 2, 3], [1, 2, 3]))  # [B,Ho,Wo,C]
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def window_sum(x: np.ndarray, kh: int, kw: int, stride=None) -> np.ndarray:
    """Sum over kh x kw windows without padding: [B,C,H,W] -> [B,C,Ho,Wo]."""
    sh, sw = stride if stride is not None else (kh, kw)
    return _windows(x, kh, kw, sh, sw, (0, 0, 0, 0)).sum(axis=(2, 3))
