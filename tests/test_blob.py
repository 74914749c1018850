"""Blob writer/reader: exact layout, round trip and corruption detection."""
import json
import struct
import zlib

import numpy as np
import pytest

from _graphs import random_conv, random_input, random_mlp, random_residual
from edgesnn.format.blob import read_blob, write_blob
from edgesnn.errors import BlobError
from edgesnn.format.plan import plan_memory
from edgesnn.compile.quantize import quantize_graph

META = {"name": "t", "classes": ["a", "b"], "input_shape": [2, 6, 6]}


def packed(factory=random_residual, seed=0):
    rng = np.random.default_rng(seed)
    g = factory(rng)
    model, _ = quantize_graph(g, random_input(rng, g, 16, signed=True), steps=12)
    plan = plan_memory(model)
    return model, plan, write_blob(model, plan, META)


@pytest.mark.parametrize("factory", [random_mlp, random_conv, random_residual])
def test_round_trip(factory):
    model, plan, blob = packed(factory)
    view = read_blob(blob)
    assert view.version == (1, 0) and view.total_length == len(blob)
    assert view.scratch_bytes == plan.scratch_bytes and view.arena_offsets == plan.offsets
    assert view.default_steps == 12 and view.meta == META
    assert view.input_scale == np.float32(model.input_scale) and view.input_zero_point == model.input_zero_point
    assert (view.input_tensor, view.output_tensor) == (model.input_tensor, model.output_tensor)
    assert [(t.dtype, t.dims) for t in view.tensors] == [(t.dtype, t.dims) for t in model.tensors]
    for a, b in zip(model.layers, view.layers):
        assert (a.op, a.neuron, a.in0, a.in1, a.out, a.kernel) == (b.op, b.neuron, b.in0, b.in1, b.out, tuple(b.kernel))
        for key in ("weights", "bias", "shift", "mult"):
            x, y = getattr(a, key), getattr(b, key)
            assert (x is None and y is None) or np.array_equal(x, y)
    assert write_blob(view, plan, view.meta) == blob  # reading loses nothing


def test_layout_rules():
    model, plan, blob = packed()
    magic, vmaj, vmin, total, crc = struct.unpack_from("<4sHHII", blob)
    assert magic == b"ESNN" and (vmaj, vmin) == (1, 0) and total == len(blob)
    assert crc == zlib.crc32(blob[16:])
    layer_off, tensor_off, scratch, data_off, data_len = struct.unpack_from("<5I", blob, 28)
    assert layer_off == 64 and tensor_off == 64 + 64 * len(model.layers) and data_off % 16 == 0
    for i in range(len(model.layers)):
        pairs = struct.unpack_from("<8I", blob, layer_off + 64 * i + 20)
        for (off, ln), align in zip(zip(pairs[0::2], pairs[1::2]), (16, 4, 1, 2)):
            assert (off, ln) == (0, 0) or (off % align == 0 and data_off <= off and off + ln <= data_off + data_len)
    meta_off, meta_len = struct.unpack_from("<II", blob, 56)
    assert json.loads(blob[meta_off:meta_off + meta_len]) == META and meta_off + meta_len == len(blob)


def test_no_metadata():
    model, plan, _ = packed(random_mlp)
    blob = write_blob(model, plan, None)
    assert struct.unpack_from("<II", blob, 56) == (0, 0)
    assert read_blob(blob).meta == {}


def _status(buf):
    with pytest.raises(BlobError) as exc:
        read_blob(buf)
    return exc.value.name


def test_corruption_detected():
    _, _, blob = packed()
    for pos in (16, 100, len(blob) // 2, len(blob) - 1):
        bad = bytearray(blob)
        bad[pos] ^= 0x40
        assert _status(bad) == "ESNN_ERR_CRC"
    bad = bytearray(blob)
    bad[12] ^= 1  # the stored CRC itself
    assert _status(bad) == "ESNN_ERR_CRC"


def test_truncation_and_header_errors():
    _, _, blob = packed()
    assert _status(blob[:40]) == "ESNN_ERR_TRUNCATED"
    assert _status(blob[:-1]) == "ESNN_ERR_TRUNCATED"
    assert _status(b"ONNX" + blob[4:]) == "ESNN_ERR_MAGIC"
    assert _status(blob[:4] + struct.pack("<H", 2) + blob[6:]) == "ESNN_ERR_VERSION"
    read_blob(blob + b"\0" * 7)  # trailing bytes beyond total_length are ignored


def _patched(blob, offset, fmt, value):
    b = bytearray(blob)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])))
    return bytes(b)


def test_structural_rules_with_valid_crc():
    model, plan, blob = packed()
    err = BlobError("x", status=-5)
    assert err.status == -5 and err.name == "ESNN_ERR_CRC"
    assert _status(_patched(blob, 16, "<H", 0)) == "ESNN_ERR_LIMITS"
    assert _status(_patched(blob, 24, "<H", 64)) == "ESNN_ERR_STEPS"
    assert _status(_patched(blob, 26, "<H", 1)) == "ESNN_ERR_RESERVED"
    assert _status(_patched(blob, 36, "<I", plan.scratch_bytes + 8)) == "ESNN_ERR_ALIGN"
    assert _status(_patched(blob, 36, "<I", 16)) == "ESNN_ERR_BOUNDS"
    tensor_off = 64 + 64 * len(model.layers)
    assert _status(_patched(blob, tensor_off, "<B", 3)) == "ESNN_ERR_DTYPE"
    assert _status(_patched(blob, 64, "<B", 9)) == "ESNN_ERR_OP"
    conv0_shift = struct.unpack_from("<I", blob, 64 + 36)[0]
    assert _status(_patched(blob, conv0_shift, "<B", 21)) == "ESNN_ERR_SHIFT"
    w_off = struct.unpack_from("<I", blob, 64 + 20)[0]
    assert _status(_patched(blob, 64 + 20, "<I", w_off + 1)) in ("ESNN_ERR_ALIGN", "ESNN_ERR_BOUNDS")
    assert _status(_patched(blob, 22, "<H", model.input_tensor)) == "ESNN_ERR_GRAPH"
    assert _status(_patched(blob, 64 + 4, "<H", model.layers[1].out)) in ("ESNN_ERR_SHAPE", "ESNN_ERR_GRAPH")
