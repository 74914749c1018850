"""Write and read .esnn blobs exactly as docs/format.md specifies (pure Python, no cffi).

read_blob validates every loader rule of the format itself, so a blob can be checked
on the host without the C runtime, and the packer's output is cross-checked against
an implementation written from the spec rather than from the writer.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

from .arrayops import conv_out_size
from ..errors import BlobError, ShapeError
from .intmodel import (
    ACC_LIMIT, DTYPE_BYTES, DTYPE_I32, DTYPE_U8, LF_KNOWN, LF_TARGET_HI, MAX_LAYERS, MAX_NUMEL,
    MAX_SHIFT, MAX_STEPS, MAX_TENSORS, NEURON_IF, NEURON_LI, NEURON_LIF, NEURON_NONE, NO_TENSOR,
    OP_ADD, OP_CONV2D, OP_COUPLE, OP_DENSE, OP_SUMPOOL2D, SPIKING, HDR_CAUSAL, HDR_SEQUENCE,
    IntModel, LayerSpec, TensorSpec, layer_bounds,
)
from .plan import MemoryPlan, align_up

MAGIC = b"ESNN"
# A writer emits the lowest minor version whose features it uses (IntModel.format_minor):
# 1.0 plain, 1.1 causal dynamics, 1.2 reversible blocks (COUPLE); readers take 1.0-1.2.
VERSION_MAJOR, VERSION_MINOR = 1, 2
HEADER = struct.Struct("<4sHHIIHHHHHHIIIIIfiII")
LAYER = struct.Struct("<BBBBHHHH8BIIIIIIII12s")
TENSOR = struct.Struct("<BBH3HHI")
assert HEADER.size == 64 and LAYER.size == 64 and TENSOR.size == 16
# The header's fields in HEADER's order (docs/format.md, section 2): the one place that
# knows the layout; everybody else reads them by name through read_header.
Header = namedtuple("Header", (
    "magic", "version_major", "version_minor", "total_length", "crc32", "num_layers",
    "num_tensors", "input_tensor", "output_tensor", "default_steps", "flags", "layer_offset",
    "tensor_offset", "scratch_bytes", "data_offset", "data_length", "input_scale",
    "input_zero_point", "meta_offset", "meta_length"))
# Alignment of each per-layer array in the data section: weights, bias, shift, mult.
ARRAY_ALIGN = {"weights": 16, "bias": 4, "shift": 1, "mult": 2}
ARRAY_DTYPE = {"weights": "<i1", "bias": "<i4", "shift": "<u1", "mult": "<i2"}
ARRAYS = ("weights", "bias", "shift", "mult")


@dataclass
class BlobView(IntModel):
    """A parsed blob: an IntModel (arrays are read-only views of the bytes) plus the header."""

    version: tuple = (VERSION_MAJOR, VERSION_MINOR)
    total_length: int = 0
    crc32: int = 0
    scratch_bytes: int = 0
    arena_offsets: list = field(default_factory=list)
    data_offset: int = 0
    data_length: int = 0
    meta_error: str = ""


def write_blob(model: IntModel, plan: MemoryPlan, meta: dict | None = None) -> bytes:
    """Serialise `model` with the arena offsets of `plan` and JSON metadata `meta`."""
    nl, nt = len(model.layers), len(model.tensors)
    if not (1 <= nl <= MAX_LAYERS and 2 <= nt <= MAX_TENSORS):
        raise ShapeError(f"{nl} layers / {nt} tensors: the format allows 1..{MAX_LAYERS} / 2..{MAX_TENSORS}")
    layer_off = HEADER.size
    tensor_off = layer_off + nl * LAYER.size
    data_off = align_up(tensor_off + nt * TENSOR.size)

    data = bytearray()
    pairs = []
    for layer in model.layers:
        row = []
        for key in ARRAYS:
            arr = getattr(layer, key)
            if arr is None or arr.size == 0:
                row += [0, 0]
                continue
            data += bytes(align_up(len(data), ARRAY_ALIGN[key]) - len(data))
            raw = np.ascontiguousarray(arr, dtype=ARRAY_DTYPE[key]).tobytes()
            row += [data_off + len(data), len(raw)]
            data += raw
        pairs.append(row)
    meta_bytes = json.dumps(meta, default=_json_default).encode("utf-8") if meta else b""
    meta_off = align_up(data_off + len(data), 4) if meta_bytes else 0
    total = (meta_off + len(meta_bytes)) if meta_bytes else data_off + len(data)

    out = bytearray(total)
    for i, (layer, row) in enumerate(zip(model.layers, pairs)):
        LAYER.pack_into(out, layer_off + i * LAYER.size, layer.op, layer.neuron, layer.leak_shift, layer.flags,
                        layer.in0, layer.in1, layer.out, 0, *layer.kernel, *row, bytes(12))
    for i, (t, off) in enumerate(zip(model.tensors, plan.offsets)):
        dims = tuple(t.dims) + (1,) * (3 - len(t.dims))
        TENSOR.pack_into(out, tensor_off + i * TENSOR.size, t.dtype, len(t.dims), 0, *dims, 0, off)
    out[data_off:data_off + len(data)] = data
    if meta_bytes:
        out[meta_off:total] = meta_bytes
    hflags = model.header_flags
    minor = model.format_minor
    check_input_scale(model.input_scale)  # never write a blob the readers refuse
    HEADER.pack_into(out, 0, MAGIC, VERSION_MAJOR, minor, total, 0, nl, nt,
                     model.input_tensor, model.output_tensor, model.default_steps, hflags,
                     layer_off, tensor_off, plan.scratch_bytes, data_off, len(data),
                     model.input_scale, model.input_zero_point, meta_off, len(meta_bytes))
    struct.pack_into("<I", out, 12, zlib.crc32(bytes(out[16:])))
    return bytes(out)


def read_header(buf) -> Header:
    """The header's fields by name, unchecked (read_blob or the C loader validates)."""
    return Header(*HEADER.unpack_from(buf, 0))


def meta_section(buf) -> bytes:
    """The raw metadata bytes the header points at (b"" when there are none)."""
    h = read_header(buf)
    return bytes(buf[h.meta_offset:h.meta_offset + h.meta_length]) if h.meta_length else b""


def check_input_scale(scale) -> float:
    """The header's input_scale as the float32 it is stored as: finite and > 0, or a
    BlobError naming it (a NaN, 0, inf or negative scale quantises every input to 0 or
    255, silently)."""
    s = float(np.float32(scale))
    if not (np.isfinite(s) and s > 0):
        raise BlobError(f"ESNN_ERR_RESERVED: input_scale is {s!r}; it must be a finite number "
                        "> 0 (re-pack the model with calibration data in a normal range)",
                        status="ESNN_ERR_RESERVED")
    return s


# Metadata is host-only JSON nobody checks on the device: treat it as untrusted. These
# keys are used by the host tools; a value of another type is dropped with a warning.
_META_TYPES = {"name": str, "source": str, "classes": list, "input_shape": list,
               "layers": list, "output_scale": (int, float), "float_accuracy": (int, float),
               "quant_accuracy": (int, float)}


def parse_meta(raw: bytes) -> tuple[dict, str]:
    """(metadata, problem): the JSON object of the metadata section with every part the
    tools use checked; what is malformed is left out and `problem` says what (empty when
    all is well). Never raises: the metadata cannot make a valid model unusable."""
    if not raw:
        return {}, ""
    try:
        meta = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"metadata is not valid UTF-8 JSON ({exc}); ignored"
    except RecursionError:
        return {}, "metadata is nested too deeply to read; ignored"
    if not isinstance(meta, dict):
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
            type(meta), "number")
        return {}, f"metadata is a JSON {kind}, not an object; ignored"
    dropped = []
    for key, kind in _META_TYPES.items():
        if key in meta and (not isinstance(meta[key], kind) or isinstance(meta[key], bool)):
            dropped.append(key)
            del meta[key]
    scale = meta.get("output_scale")
    try:
        scale_ok = scale is None or (math.isfinite(float(scale)) and scale > 0)
    except OverflowError:  # an integer beyond float range
        scale_ok = False
    if not scale_ok:
        dropped.append("output_scale")
        del meta["output_scale"]
    if "layers" in meta:  # per-layer records: objects whose "name" is a string
        layers = meta["layers"]
        if not all(isinstance(r, dict) and isinstance(r.get("name", ""), str) for r in layers):
            dropped.append("layers")
            meta["layers"] = [r if isinstance(r, dict) and isinstance(r.get("name", ""), str)
                              else {} for r in layers]
    problem = (f"metadata field{'s' if len(dropped) > 1 else ''} {', '.join(dropped)} "
               "malformed; ignored") if dropped else ""
    return meta, problem


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"metadata value {o!r} is not JSON serialisable")


def _check(cond: bool, status: str, msg: str):
    if not cond:
        raise BlobError(f"{status}: {msg}", status=status)


def read_blob(buf) -> BlobView:
    """Parse and validate a blob; raises BlobError (with the loader's status) on any rule broken."""
    buf = bytes(buf)
    _check(len(buf) >= HEADER.size, "ESNN_ERR_TRUNCATED", f"{len(buf)} bytes is shorter than the 64-byte header")
    (magic, vmaj, vmin, total, crc, nl, nt, tin, tout, steps, res, layer_off, tensor_off, scratch,
     data_off, data_len, scale, zp, meta_off, meta_len) = HEADER.unpack_from(buf, 0)
    _check(magic == MAGIC, "ESNN_ERR_MAGIC", f"magic is {magic!r}, expected {MAGIC!r}: not an .esnn file")
    _check(vmaj == VERSION_MAJOR and vmin <= VERSION_MINOR, "ESNN_ERR_VERSION",
           f"format version {vmaj}.{vmin}; this reader handles {VERSION_MAJOR}.0 to {VERSION_MAJOR}.{VERSION_MINOR}")
    _check(HEADER.size <= total <= len(buf), "ESNN_ERR_TRUNCATED",
           f"header says {total} bytes but {len(buf)} were given (file truncated?)")
    actual = zlib.crc32(buf[16:total])
    _check(actual == crc, "ESNN_ERR_CRC", f"CRC-32 stored 0x{crc:08x}, computed 0x{actual:08x}: the blob is corrupted")
    _check(1 <= nl <= MAX_LAYERS and 2 <= nt <= MAX_TENSORS, "ESNN_ERR_LIMITS",
           f"{nl} layers / {nt} tensors outside 1..{MAX_LAYERS} / 2..{MAX_TENSORS}")
    _check(tin < nt and tout < nt and tin != tout, "ESNN_ERR_GRAPH", f"input tensor {tin} / output tensor {tout} invalid for {nt} tensors")
    _check(1 <= steps <= MAX_STEPS, "ESNN_ERR_STEPS", f"default_steps {steps} outside 1..{MAX_STEPS}")
    _check(not (vmin == 0 and res) and not (res & ~(HDR_CAUSAL | HDR_SEQUENCE))
           and not (res & HDR_SEQUENCE and not res & HDR_CAUSAL), "ESNN_ERR_RESERVED",
           f"header flags 0x{res:04x} invalid (none in 1.0; causal=1, sequence=2 needs causal)")
    causal = bool(res & HDR_CAUSAL)
    _check(layer_off % 4 == 0 and tensor_off % 4 == 0 and data_off % 16 == 0 and scratch % 16 == 0,
           "ESNN_ERR_ALIGN", "misaligned table/data offset or scratch_bytes")
    _check(0 <= zp <= 255, "ESNN_ERR_RESERVED", f"input zero point {zp} outside 0..255")
    _check(meta_len > 0 or meta_off == 0, "ESNN_ERR_BOUNDS", "meta_offset must be 0 when meta_length is 0")
    sections = [("layer table", layer_off, nl * LAYER.size), ("tensor table", tensor_off, nt * TENSOR.size),
                ("data", data_off, data_len), ("metadata", meta_off, meta_len)]
    sections = [s for s in sections if s[2] > 0]
    for name, off, ln in sections:
        _check(HEADER.size <= off and off + ln <= total, "ESNN_ERR_BOUNDS", f"{name} [{off}, {off + ln}) outside [64, {total})")
    sections.sort(key=lambda s: s[1])
    for a, b in zip(sections, sections[1:]):
        _check(a[1] + a[2] <= b[1], "ESNN_ERR_BOUNDS", f"{a[0]} overlaps {b[0]}")

    check_input_scale(scale)
    # host-only data: a malformed part is left out (meta_error says what), never fatal
    meta, meta_error = parse_meta(buf[meta_off:meta_off + meta_len])

    tensors, arena_offsets = [], []
    for i in range(nt):
        dtype, rank, r0, d0, d1, d2, r1, aoff = TENSOR.unpack_from(buf, tensor_off + i * TENSOR.size)
        _check(dtype in DTYPE_BYTES, "ESNN_ERR_DTYPE", f"tensor {i}: dtype {dtype} is neither U8 (1) nor I32 (2)")
        _check(rank in (1, 3), "ESNN_ERR_SHAPE", f"tensor {i}: rank {rank} is neither 1 nor 3")
        _check(r0 == 0 and r1 == 0, "ESNN_ERR_RESERVED", f"tensor {i}: reserved field not 0")
        _check(min(d0, d1, d2) >= 1 and (rank == 3 or d1 == d2 == 1), "ESNN_ERR_SHAPE", f"tensor {i}: dims {(d0, d1, d2)} invalid for rank {rank}")
        t = TensorSpec(f"t{i}", dtype, (d0, d1, d2)[:rank])
        _check(t.numel <= MAX_NUMEL, "ESNN_ERR_LIMITS", f"tensor {i}: {t.numel} elements > {MAX_NUMEL}")
        _check(aoff % 16 == 0, "ESNN_ERR_ALIGN", f"tensor {i}: arena offset {aoff} not 16-aligned")
        _check(aoff + t.nbytes <= scratch, "ESNN_ERR_BOUNDS", f"tensor {i}: [{aoff}, {aoff + t.nbytes}) beyond scratch_bytes {scratch}")
        tensors.append(t)
        arena_offsets.append(aoff)

    names = [r.get("name") for r in meta.get("layers", [])] if isinstance(meta.get("layers"), list) else []
    layers = [_read_layer(buf, i, layer_off + i * LAYER.size, data_off, data_len, tensors, tin, causal, vmin)
              for i in range(nl)]
    for i, layer in enumerate(layers):
        if i < len(names) and isinstance(names[i], str):
            layer.name = names[i]
    view = BlobView(tensors, layers, tin, tout, float(scale), int(zp), steps, meta,
                    version=(vmaj, vmin), total_length=total, crc32=crc, scratch_bytes=scratch,
                    arena_offsets=arena_offsets, data_offset=data_off, data_length=data_len,
                    meta_error=meta_error)
    view.causal, view.sequence = causal, bool(res & HDR_SEQUENCE)
    _check_graph(view)
    return view


def _read_layer(buf, i, off, data_off, data_len, tensors, tin, causal=False, minor=VERSION_MINOR) -> LayerSpec:
    (op, neuron, leak, flags, in0, in1, out, res, kh, kw, sh, sw, pt, pl, pb, pr,
     *pairs, reserved) = LAYER.unpack_from(buf, off)
    where = f"layer {i}"
    _check(op in (OP_DENSE, OP_CONV2D, OP_SUMPOOL2D, OP_ADD, OP_COUPLE), "ESNN_ERR_OP", f"{where}: unknown op {op}")
    couple = op == OP_COUPLE
    if couple:
        _check(minor >= 2 and not causal and neuron == NEURON_IF, "ESNN_ERR_OP",
               f"{where}: COUPLE needs format 1.2, a non-causal blob and neuron IF "
               f"(version 1.{minor}, causal {causal}, neuron {neuron})")
    known = (NEURON_NONE, NEURON_IF, NEURON_LIF) + ((NEURON_LI,) if causal else ())
    _check(neuron in known, "ESNN_ERR_OP", f"{where}: unknown neuron {neuron} (LI needs a causal blob)")
    if op == OP_SUMPOOL2D:
        _check(neuron == NEURON_NONE, "ESNN_ERR_OP", f"{where}: SUMPOOL2D has neuron NONE")
    leaky = neuron in (NEURON_LIF, NEURON_LI)
    _check((1 <= leak <= 15) if leaky else leak == 0, "ESNN_ERR_SHIFT", f"{where}: leak_shift {leak} invalid for neuron {neuron}")
    if couple:
        _check(not flags & ~LF_TARGET_HI, "ESNN_ERR_RESERVED", f"{where}: COUPLE flags 0x{flags:02x} invalid (only TARGET_HI = 0x08)")
    else:
        _check(flags == 0 or (causal and neuron in SPIKING and not flags & ~LF_KNOWN), "ESNN_ERR_RESERVED",
               f"{where}: neuron flags 0x{flags:02x} invalid (IF/LIF layers of causal blobs only)")
    _check(res == 0 and reserved == bytes(12), "ESNN_ERR_RESERVED", f"{where}: reserved field not 0")
    nt = len(tensors)
    _check(in0 < nt and out < nt and (in1 < nt if op == OP_ADD else in1 == NO_TENSOR), "ESNN_ERR_GRAPH",
           f"{where}: tensor indices in0={in0} in1={in1} out={out} invalid")
    kernel = (kh, kw, sh, sw, pt, pl, pb, pr)
    if couple:
        _check(in0 != tin, "ESNN_ERR_GRAPH", f"{where}: a COUPLE cannot read the network input")
    src, dst = tensors[in0], tensors[out]
    c = dst.dims[0]
    nin = src.numel

    # Shapes and the expected byte length of each array (0 = must be unused).
    if couple:
        _check(src.dims == dst.dims, "ESNN_ERR_SHAPE", f"{where}: COUPLE output dims {dst.dims} differ from its input's {src.dims}")
        _check(c % 2 == 0, "ESNN_ERR_SHAPE", f"{where}: COUPLE needs an even channel count, got {c}")
        if len(dst.dims) == 1:
            _check(kernel == (0,) * 8, "ESNN_ERR_RESERVED", f"{where}: kernel fields must be 0 for a rank-1 COUPLE")
        else:
            _check(kh % 2 == 1 and kw % 2 == 1 and sh == sw == 1 and pt == pb == (kh - 1) // 2
                   and pl == pr == (kw - 1) // 2, "ESNN_ERR_SHAPE",
                   f"{where}: COUPLE convolution {kernel} must be odd, stride 1, 'same' padding")
    elif op in (OP_CONV2D, OP_SUMPOOL2D):
        _check(src.dims.__len__() == 3 and len(dst.dims) == 3, "ESNN_ERR_SHAPE", f"{where}: needs rank-3 input and output")
        _check(min(kh, kw, sh, sw) >= 1 and pt < kh and pb < kh and pl < kw and pr < kw, "ESNN_ERR_SHAPE", f"{where}: kernel {kernel} invalid")
        if op == OP_SUMPOOL2D:
            _check(pt == pl == pb == pr == 0, "ESNN_ERR_SHAPE", f"{where}: SUMPOOL2D has no padding")
        try:
            ho = conv_out_size(src.dims[1], kh, sh, pt, pb)
            wo = conv_out_size(src.dims[2], kw, sw, pl, pr)
        except ShapeError as exc:
            raise BlobError(f"ESNN_ERR_SHAPE: {where}: {exc}", status="ESNN_ERR_SHAPE") from None
        cout = src.dims[0] if op == OP_SUMPOOL2D else c
        _check(dst.dims == (cout, ho, wo), "ESNN_ERR_SHAPE", f"{where}: output dims {dst.dims}, expected {(cout, ho, wo)}")
    else:
        _check(kernel == (0,) * 8, "ESNN_ERR_RESERVED", f"{where}: kernel fields must be 0 for this op")
    if op == OP_DENSE:
        _check(len(dst.dims) == 1, "ESNN_ERR_SHAPE", f"{where}: DENSE output must be rank 1")
    if op == OP_ADD:
        _check(src.dims == dst.dims and tensors[in1].dims == dst.dims, "ESNN_ERR_SHAPE", f"{where}: ADD inputs must have the output's shape")
    if op == OP_SUMPOOL2D:
        _check(neuron == NEURON_NONE, "ESNN_ERR_OP", f"{where}: SUMPOOL2D has neuron NONE")
    wshape = {OP_DENSE: (c, nin), OP_CONV2D: (c, src.dims[0], kh, kw)}.get(op)
    if couple:  # parameters of the target half: C/2 channels
        c //= 2
        wshape = (c, c) if len(dst.dims) == 1 else (c, c, kh, kw)
    spiking = neuron in SPIKING
    expect = {
        "weights": int(np.prod(wshape)) if wshape else 0,
        "bias": 4 * c if wshape else 0,
        "shift": c if spiking and op != OP_SUMPOOL2D else 0,
        "mult": 4 * c if op == OP_ADD else 0,
    }
    arrays = {}
    for key, (aoff, alen) in zip(ARRAYS, zip(pairs[0::2], pairs[1::2])):
        if expect[key] == 0:
            _check(aoff == 0 and alen == 0, "ESNN_ERR_RESERVED", f"{where}: unused {key} pair must be (0, 0)")
            arrays[key] = None
            continue
        _check(data_off <= aoff and aoff + alen <= data_off + data_len, "ESNN_ERR_BOUNDS", f"{where}: {key} outside the data section")
        _check(aoff % ARRAY_ALIGN[key] == 0, "ESNN_ERR_ALIGN", f"{where}: {key} offset {aoff} not {ARRAY_ALIGN[key]}-aligned")
        _check(alen == expect[key], "ESNN_ERR_SHAPE", f"{where}: {key} has {alen} bytes, expected {expect[key]}")
        arrays[key] = np.frombuffer(buf, dtype=ARRAY_DTYPE[key], count=alen // np.dtype(ARRAY_DTYPE[key]).itemsize, offset=aoff)
    if arrays["weights"] is not None:
        arrays["weights"] = arrays["weights"].reshape(wshape)
    if arrays["mult"] is not None:
        arrays["mult"] = arrays["mult"].reshape(2, c)
    if arrays["shift"] is not None:
        _check(int(arrays["shift"].max()) <= MAX_SHIFT, "ESNN_ERR_SHIFT", f"{where}: shift {int(arrays['shift'].max())} > {MAX_SHIFT}")
    return LayerSpec(f"layer{i}", op, neuron, in0, out, in1=in1, leak_shift=leak, flags=flags, kernel=kernel, **arrays)


def _check_graph(view: BlobView):
    """Execution-order, dtype, arena-overlap and overflow rules (format.md section 4)."""
    readers = {}
    for layer in view.layers:
        for t in layer.inputs:
            readers[t] = readers.get(t, 0) + 1
    for i, layer in enumerate(view.layers):
        if layer.op == OP_COUPLE:
            _check(readers[layer.in0] == 1, "ESNN_ERR_GRAPH",
                   f"layer {i}: the input {layer.in0} of a COUPLE is read by {readers[layer.in0]} layers; only by it is allowed")
    written = {view.input_tensor}
    for i, layer in enumerate(view.layers):
        where = f"layer {i}"
        for t in layer.inputs:
            _check(t in written, "ESNN_ERR_GRAPH", f"{where}: reads tensor {t} before any layer writes it")
            if t == view.input_tensor:
                _check(layer.op in (OP_DENSE, OP_CONV2D), "ESNN_ERR_GRAPH", f"{where}: the network input is only read by DENSE/CONV2D")
            if view.tensors[t].dtype == DTYPE_I32:
                _check(layer.op == OP_ADD, "ESNN_ERR_DTYPE", f"{where}: only ADD may read an I32 tensor")
                _check(not view.causal, "ESNN_ERR_DTYPE", f"{where}: a causal blob cannot read an I32 tensor")
                m = layer.mult[layer.inputs.index(t)]
                _check(bool((m == 1).all()), "ESNN_ERR_DTYPE", f"{where}: the multiplier of I32 input {t} must be 1")
            a0, a1 = view.arena_offsets[t], view.arena_offsets[t] + view.tensors[t].nbytes
            b0, b1 = view.arena_offsets[layer.out], view.arena_offsets[layer.out] + view.tensors[layer.out].nbytes
            _check(a1 <= b0 or b1 <= a0, "ESNN_ERR_GRAPH", f"{where}: input {t} and output {layer.out} overlap in the arena")
        _check(layer.out not in written, "ESNN_ERR_GRAPH", f"{where}: tensor {layer.out} is written twice (or is the input)")
        written.add(layer.out)
        want = DTYPE_U8 if layer.neuron in SPIKING or layer.op == OP_SUMPOOL2D else DTYPE_I32
        _check(view.tensors[layer.out].dtype == want, "ESNN_ERR_DTYPE", f"{where}: output dtype must be {'U8' if want == DTYPE_U8 else 'I32'}")
        if layer.op != OP_ADD:
            _check(view.tensors[layer.in0].dtype == DTYPE_U8, "ESNN_ERR_DTYPE", f"{where}: input must be U8")
    _check(view.output_tensor in written and view.output_tensor != view.input_tensor, "ESNN_ERR_GRAPH", "no layer writes the output tensor")
    for i, bound in enumerate(layer_bounds(view)):
        if bound is not None:
            _check(bool((bound < ACC_LIMIT).all()), "ESNN_ERR_OVERFLOW",
                   f"layer {i}: worst-case current {int(bound.max())} >= 2^31 at T=63")
