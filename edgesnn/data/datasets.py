"""The default data set: scikit-learn's 8x8 handwritten digits, loaded offline.

One fixed, stratified split is shared by the default model's training script, the
tests and the benchmarks, so every accuracy figure in the project is measured on the
same held-out samples.
"""
from __future__ import annotations

import numpy as np

SPLIT_SEED = 0
TEST_FRACTION = 0.25


def load_digits_split():
    """Return (x_train, y_train, x_test, y_test).

    x is float32 of shape (N, 1, 8, 8) scaled to [0, 1] (pixel / 16); y is int64.
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise RuntimeError(
            "the digits data set needs scikit-learn: pip install 'edgesnn[test]'"
        ) from exc
    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    return x_tr, y_tr, x_te, y_te
