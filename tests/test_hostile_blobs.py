"""Hostile blobs and inputs through the Python API (issue 12, items 2, 5 and 9):
malformed metadata is ignored with a MetadataWarning and never raises, a bad input scale
is refused by the reader and the writer with the number, odd inputs are refused."""
from __future__ import annotations

import os
import struct
import warnings
import zlib

import numpy as np
import pytest

import edgesnn
from edgesnn.format.blob import read_blob, write_blob
from edgesnn.format.plan import plan_memory

ONNX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "edgesnn",
                    "models", "digits_mlp.onnx")


def _crc(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])))
    return bytes(b)


def with_meta(blob: bytes, raw: bytes) -> bytes:
    off = struct.unpack_from("<I", blob, 56)[0]
    b = bytearray(blob[:off]) + raw
    struct.pack_into("<I", b, 8, len(b))
    struct.pack_into("<II", b, 56, off, len(raw))
    return _crc(b)


def with_scale(blob: bytes, scale: float) -> bytes:
    b = bytearray(blob)
    struct.pack_into("<f", b, 48, scale)
    return _crc(b)


META = [b"[1,2]", b"null", b"42", b'"name"', b"true", b'{"layers": ["a", 7, null]}',
        b'{"layers": 5}', b'{"name": 5, "classes": "x"}', b'{"output_scale": "x"}',
        b'{"output_scale": -1}', b'{"output_scale": 1e999}', b'{"output_scale": ' + b"9" * 400 + b"}",
        b"[" * 100000 + b"]" * 100000, b'{"a":' * 50000 + b"1" + b"}" * 50000, b"\xff\xfe",
        b"{nope"]


@pytest.mark.parametrize("raw", META, ids=[r[:24].decode("latin-1") for r in META])
def test_malformed_metadata_never_raises(default_model, digits, raw):
    blob = with_meta(default_model.blob, raw)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        m = edgesnn.load(blob)
    assert [w.category.__name__ for w in seen] == ["MetadataWarning"], seen
    assert isinstance(m.meta, dict)
    info = m.info()
    assert info["name"] is None or isinstance(info["name"], str)
    assert m.finetune_memory()["arena_bytes"] > 0
    view = read_blob(blob)
    assert isinstance(view.meta, dict) and view.meta_error
    assert all(isinstance(layer.name, str) for layer in view.layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = m.finetune(digits[0][:10], digits[1][:10], epochs=1)
        tuned = edgesnn.load(res.blob)  # keeps the malformed metadata: warns again
    assert tuned.predict(digits[0][:3]).shape == (3,)


def test_wellformed_metadata_gives_no_warning(default_model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = edgesnn.load(default_model.blob)
    assert m.info()["name"] == default_model.meta["name"]


@pytest.mark.parametrize("scale", [float("nan"), 0.0, float("inf"), -1.0, -0.0, 1e-46])
def test_bad_input_scale_is_refused_by_both_readers(default_model, scale):
    blob = with_scale(default_model.blob, scale)
    with pytest.raises(edgesnn.BlobError, match="input_scale is"):
        edgesnn.load(blob)
    with pytest.raises(edgesnn.BlobError, match="input_scale is"):
        read_blob(blob)


def test_writer_refuses_a_bad_input_scale(default_model):
    view = read_blob(default_model.blob)
    view.input_scale = float("inf")
    with pytest.raises(edgesnn.BlobError, match="input_scale is inf"):
        write_blob(view, plan_memory(view), {})


@pytest.mark.parametrize("calib,match", [(1e300, "input scale"), (np.nan, "NaN or infinite"),
                                         (np.inf, "NaN or infinite")])
def test_packer_refuses_calibration_that_breaks_the_scale(digits, calib, match):
    from edgesnn.compile.pack import pack_onnx
    x = digits[0][:50].astype(np.float64)
    x[0, 0, 0, 0] = calib
    with pytest.raises(edgesnn.QuantizeError, match=match):
        pack_onnx(ONNX, x, None, steps=8)


def test_odd_inputs_are_refused(default_model, digits):
    m = default_model
    with pytest.raises(edgesnn.ShapeError, match="no samples"):
        m.predict(np.zeros((0, 1, 8, 8)))
    with pytest.raises(edgesnn.ShapeError, match="real numbers"):
        m.predict(np.zeros((2, 1, 8, 8), dtype=complex))
    with pytest.raises(ValueError, match="integers"):
        edgesnn.load(m.blob).finetune(digits[0][:4], np.array([True, False, True, True]),
                                      epochs=1)


def test_learning_rate_that_saturates_stops_and_leaves_the_model(default_model, digits):
    m = edgesnn.load(default_model.blob)
    from edgesnn.runtime.finetune import TrainError
    with pytest.raises(TrainError, match=r"clamped .* > the limit 10%"):
        m.finetune(digits[0][:20], digits[1][:20], epochs=1, lr=1e30)
    assert m.blob == default_model.blob
    # an ordinary rate passes the same check
    res = m.finetune(digits[0][:20], digits[1][:20], epochs=1)
    assert res.updates == 20
