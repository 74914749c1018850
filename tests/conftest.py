"""Shared fixtures: the digits split, the shipped model, small packed networks and the
host emulator board."""
from __future__ import annotations

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def digits():
    from edgesnn.data.datasets import load_digits_split
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


def digits_architectures(seed: int = 0):
    """Three digits-shaped float graphs (MLP, conv, conv with residual adds), random
    weights: bit-exactness must not depend on a lucky trained model."""
    from _graphs import random_conv, random_residual
    from edgesnn.compile.ir import GraphBuilder

    rng = np.random.default_rng(seed)
    gb = GraphBuilder((1, 8, 8))
    h = gb.flatten(gb.input)
    for n_in, n_out in [(64, 48), (48, 24)]:
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        h = gb.relu(gb.dense(h, w, rng.normal(0.0, 0.1, n_out)))
    mlp = gb.build(gb.dense(h, rng.normal(0.0, 0.3, size=(10, 24)), rng.normal(0.0, 0.1, 10)))
    conv = random_conv(rng, in_shape=(1, 8, 8), ch=(6, 8), n_out=10)
    residual = random_residual(rng, in_shape=(1, 8, 8), c=4, n_out=10)
    return {"mlp": mlp, "conv": conv, "residual": residual}


@pytest.fixture(scope="session")
def packed_archs(digits):
    """name -> .esnn bytes for the three architectures, calibrated on digits."""
    from edgesnn.compile.pack import pack_graph
    x_tr = digits[0]
    return {name: pack_graph(g, x_tr[:300], steps=16, name=name)[0]
            for name, g in digits_architectures().items()}


@pytest.fixture(scope="session")
def host_board_exe():
    """The host emulator board, built once (boards/host); a missing board is a failure."""
    from edgesnn.emulate import build_host_board
    return build_host_board()


@pytest.fixture
def emu(host_board_exe, tmp_path):
    """A host emulator board of the test's own, on a fresh flash file (no model). Modules
    that share one board across their tests override this fixture."""
    from edgesnn.emulate import HostEmulator
    with HostEmulator(flash=str(tmp_path / "flash.bin")) as e:
        yield e


def board_state(board):
    """What a board runs: (active slot, generation, crc32, length), None without a model."""
    info = board.info()
    a = info["active"]
    return None if a is None else (info["active_slot"], a["generation"], a["crc32"], a["length"])


def blob_variant(blob: bytes, default_steps: int) -> bytes:
    """The same model with another default T: a valid, different image (new CRC)."""
    import struct
    import zlib
    b = bytearray(blob)
    struct.pack_into("<H", b, 24, default_steps)
    total = struct.unpack_from("<I", b, 8)[0]
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:total])))
    return bytes(b)


@pytest.fixture(scope="session")
def reversible_blobs(digits):
    """name -> .esnn bytes of a reversible MLP (3 blocks) and CNN (2 blocks), format 1.2."""
    from edgesnn.compile.build import reversible_cnn, reversible_mlp
    from edgesnn.compile.pack import pack_graph
    x_tr = digits[0][:300]
    graphs = {"rev_mlp": reversible_mlp((1, 8, 8), width=32, blocks=3, seed=1),
              "rev_cnn": reversible_cnn((1, 8, 8), channels=8, blocks=2, seed=2)}
    return {name: pack_graph(g, x_tr, steps=16, name=name)[0] for name, g in graphs.items()}
