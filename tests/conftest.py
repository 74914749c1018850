"""Shared fixtures: the digits split, the shipped model, and small packed networks."""
from __future__ import annotations

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def digits():
    from edgesnn.datasets import load_digits_split
    return load_digits_split()


@pytest.fixture(scope="session")
def default_model():
    import edgesnn
    return edgesnn.load_default()


@pytest.fixture(scope="session")
def random_inputs():
    """1,000 random float inputs in the digits input range, fixed seed."""
    rng = np.random.default_rng(1234)
    return rng.uniform(0.0, 1.0, size=(1000, 1, 8, 8)).astype(np.float32)
