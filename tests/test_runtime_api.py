"""The Python API over the C core: clear exceptions for bad input, nothing half-done."""
from __future__ import annotations

import os

import numpy as np
import pytest

import edgesnn
from edgesnn.errors import ArenaError, BlobError, EdgesnnError, ShapeError


def test_info_and_memory_of_shipped_model(default_model):
    info = default_model.info()
    assert info["input_shape"] == [1, 8, 8] and info["output_shape"] == [10]
    assert info["onestep_ok"] and info["default_steps"] == 16
    assert info["flash_bytes"] == len(default_model.blob)
    assert info["macs"] == 8 * 64 * 9 + 16 * 16 * 72 + 10 * 64  # conv1 + conv2 + dense
    mem = default_model.memory()
    assert mem.persistent == 0 and mem.scratch == default_model.arena_bytes
    assert default_model.memory("tstep", 8).total == 8 * default_model.arena_bytes


def test_arena_too_small_reports_both_numbers(default_model):
    need = default_model.arena_bytes
    small = edgesnn.load(default_model.blob, arena_limit=need - 16)
    with pytest.raises(ArenaError, match=rf"needs {need} bytes, got {need - 16}"):
        small.predict(np.zeros((1, 8, 8)))
    # enough for one-step but not for T-step at T=4: the C core checks per call
    ok = edgesnn.load(default_model.blob, arena_limit=need)
    assert ok.predict(np.zeros((1, 1, 8, 8))).shape == (1,)
    with pytest.raises(ArenaError, match=rf"needs {4 * need} bytes, got {need}"):
        ok.simulate(np.zeros((1, 1, 8, 8)), steps=4)


@pytest.mark.parametrize("shape", [(8, 8), (2, 64), (3, 1, 8, 7), (1, 2, 8, 8)])
def test_wrong_input_shape_names_the_expected_shape(default_model, shape):
    with pytest.raises(ShapeError, match=r"expects one sample of shape \(1, 8, 8\)"):
        default_model.predict(np.zeros(shape))


def test_nan_input_and_bad_steps_and_mode(default_model):
    x = np.zeros((2, 1, 8, 8))
    x[1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        default_model.predict(x)
    with pytest.raises(ValueError, match="steps must be 1..63"):
        default_model.predict(np.zeros((1, 8, 8)), steps=64)
    with pytest.raises(ValueError, match="mode must be one of"):
        default_model.predict(np.zeros((1, 8, 8)), mode="fast")


def test_quantized_input_must_be_uint8(default_model):
    with pytest.raises(ShapeError, match="uint8"):
        default_model.predict(np.zeros((1, 1, 8, 8), dtype=np.int16), quantized=True)


def test_corrupted_blob_is_refused_with_crc_numbers(default_model):
    bad = bytearray(default_model.blob)
    bad[200] ^= 0x40
    with pytest.raises(BlobError, match=r"corrupted \(stored CRC 0x[0-9a-f]{8}, computed"):
        edgesnn.load(bytes(bad))


def test_truncated_and_foreign_files_are_refused(default_model, tmp_path):
    with pytest.raises(BlobError, match="TRUNCATED") as e:
        edgesnn.load(default_model.blob[:-1])
    assert e.value.status == -2
    with pytest.raises(BlobError, match="MAGIC"):
        edgesnn.load(b"GIF89a" + bytes(100))
    with pytest.raises(EdgesnnError, match="cannot read model"):
        edgesnn.load(str(tmp_path / "missing.esnn"))


def test_save_round_trips_and_leaves_no_temp_file(default_model, tmp_path):
    path = tmp_path / "copy.esnn"
    default_model.save(str(path))
    assert path.read_bytes() == default_model.blob
    assert not os.path.exists(str(path) + ".tmp")
    again = edgesnn.load(str(path))
    x = np.random.default_rng(0).uniform(0, 1, (5, 1, 8, 8))
    np.testing.assert_array_equal(again.outputs(x), default_model.outputs(x))


def test_single_sample_and_batch_agree(default_model, digits):
    x = digits[2][:6]
    batch = default_model.outputs(x)
    singles = np.stack([default_model.outputs(s)[0] for s in x])
    np.testing.assert_array_equal(batch, singles)
    assert batch.shape == (6, 10)
