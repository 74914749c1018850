"""Peer runtimes for the inference benchmark: onnxruntime (float and int8) and
TensorFlow Lite Micro, all on the same ONNX network, batch 1.

Sessions
--------
Every session has ``.predict(x) -> int64 labels`` for ``x`` of shape (N, 1, 8, 8)
float32 (any N) and ``.time_per_inference(x_list, repeat=...) -> seconds`` (median
per-inference wall time over ``repeat`` passes of batch-1 calls, see
:func:`time_per_call`).

* :func:`ort_float_session` -- ``onnxruntime.InferenceSession`` on the float model,
  ``intra_op_num_threads = inter_op_num_threads = 1``, sequential execution, CPU EP.
* :func:`ort_int8_session` -- ``onnxruntime.quantization.quantize_static`` to a temp
  file: QDQ format, int8 activations and weights, per-channel weights with
  ``reduce_range=True`` (see its docstring: AVX2 u8s8 saturation), MinMax calibration
  on the given samples (fed one at a time); same single-thread options.  onnxruntime
  fuses the QDQ graph into QLinearConv / QLinearAveragePool / QGemm kernels.
* :func:`tflm_model_from_onnx` + :func:`tflm_session` -- TensorFlow Lite Micro.

TFLM (PyPI ``tflite-micro``, tested with 0.dev20261023182759; no TensorFlow needed)
-------------------------------------------------------------------------------
*Builder*: ``tflite_micro.tensorflow.lite.micro.compression.model_editor`` (shipped
with the wheel's compression tools) -- a small object model
(``Model``, ``Subgraph``, ``Tensor``, ``Operator``, ``Quantization``, ``Buffer``) whose
``Model.build()`` packs a ``TFL3`` flatbuffer with the schema classes of
``tflite_micro.tensorflow.lite.micro.python.schema_py_generated`` (``*OptionsT``,
``BuiltinOperator``, ``BuiltinOptions``, ``TensorType``...).  Operator options are
set on ``op._fb.builtinOptionsType`` / ``op._fb.builtinOptions``.

*Interpreter*: ``tflite_micro.runtime.Interpreter.from_bytes(model_bytes,
arena_size=N)`` with ``set_input(array, 0)``, ``invoke()``, ``get_output(0)``,
``get_input_details(0)`` / ``get_output_details(0)``.  With the default
``InterpreterConfig.kAllocationRecording`` it uses TFLM's RecordingMicroAllocator.

*Arena size*: the Python API has no getter.  ``Interpreter.print_allocations()``
writes ``[RecordingMicroAllocator] Arena allocation total N bytes`` (plus head/tail
and per-kind lines) to the process's C-level stderr; :meth:`TflmSession.arena_bytes`
captures fd 2 around that call and parses N (the bytes the allocator actually used).
:meth:`TflmSession.min_arena_size` additionally bisects the smallest ``arena_size`` the
interpreter accepts (a little larger than N: alignment slack), probing in child
processes because this TFLM build segfaults, rather than raising, when the arena is too
small even for its interpreter structures.

*How the int8 model is built* (:func:`tflm_model_from_onnx`): the ONNX graph (Conv,
Clip/Relu, AveragePool, Flatten/Reshape, Gemm) is walked in order.  Activation ranges
come from calibration: onnxruntime runs the float model on ``calib_x`` with every
intermediate tensor exposed as an output; each tensor's range [min(0, lo), max(0, hi)]
gives an asymmetric int8 scale/zero point (the input's range is taken as [0, 1] at
least).  A Clip/Relu after Conv/Gemm is fused: the op's output tensor is the clip's
output (range within [0, lambda]) with ``fusedActivationFunction = RELU`` (the upper
bound is enforced by int8 saturation, as the calibrated max is <= lambda).  Layouts
are NHWC: conv weights OIHW -> OHWI, per-channel symmetric int8 (scale max|w|/127,
``quantizedDimension`` 0), int32 biases at scale ``s_in * s_w[c]``; AVERAGE_POOL_2D
keeps its input's quantisation (as TFLM requires); Flatten becomes RESHAPE to
(1, C*H*W) and the following FULLY_CONNECTED weight columns are permuted from ONNX's
CHW order to NHWC's HWC order; FULLY_CONNECTED weights are per-channel int8 as well.
The model's input is int8 (1, 8, 8, 1) and its output int8 logits; the session
quantises the float input on the host (outside the timed call, as a device would
receive int8 data) and takes the argmax of the int8 logits.
"""
from __future__ import annotations

import contextlib
import os
import re
import statistics
import tempfile
import time

import numpy as np

__all__ = [
    "time_per_call",
    "ort_float_session",
    "ort_int8_session",
    "tflm_model_from_onnx",
    "tflm_session",
    "OrtSession",
    "TflmSession",
]


# --------------------------------------------------------------------------- timing


def time_per_call(fn, inputs, repeat=5, warmup=None):
    """Median over ``repeat`` passes of the per-call time of ``fn(x)`` for x in inputs.

    Each pass calls ``fn`` once per element of ``inputs`` and divides the pass's
    ``time.perf_counter`` span by ``len(inputs)``.  ``warmup`` calls (default: up to
    20, cycling through ``inputs``) run first and are not timed.
    """
    inputs = list(inputs)
    if not inputs:
        raise ValueError("time_per_call needs at least one input")
    if warmup is None:
        warmup = min(20, max(1, len(inputs)))
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    per_call = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        for x in inputs:
            fn(x)
        per_call.append((time.perf_counter() - t0) / len(inputs))
    return statistics.median(per_call)


def _batch1_list(x):
    """A list of (1, ...) float32 arrays from an array (N, ...) or an iterable."""
    if isinstance(x, np.ndarray):
        return [np.ascontiguousarray(x[i : i + 1], dtype=np.float32) for i in range(len(x))]
    out = []
    for xi in x:
        xi = np.asarray(xi, dtype=np.float32)
        out.append(np.ascontiguousarray(xi.reshape((1,) + xi.shape[-3:])))
    return out


# --------------------------------------------------------------------------- onnxruntime


def _ort_options():
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return so


class OrtSession:
    """An onnxruntime CPU session, single-threaded."""

    def __init__(self, model, name="onnxruntime"):
        import onnxruntime as ort

        self.name = name
        src = model if isinstance(model, (bytes, str)) else model.SerializeToString()
        self.sess = ort.InferenceSession(src, _ort_options(), providers=["CPUExecutionProvider"])
        self.input_name = self.sess.get_inputs()[0].name
        self.output_name = self.sess.get_outputs()[0].name
        batch = self.sess.get_inputs()[0].shape[0]
        self.dynamic_batch = not isinstance(batch, int)

    def logits(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.dynamic_batch:
            return self.sess.run([self.output_name], {self.input_name: x})[0]
        return np.concatenate(
            [self.sess.run([self.output_name], {self.input_name: xi})[0] for xi in _batch1_list(x)]
        )

    def predict(self, x):
        return self.logits(x).argmax(axis=1).astype(np.int64)

    def run1(self, x1):
        """One batch-1 inference (the timed call)."""
        return self.sess.run([self.output_name], {self.input_name: x1})[0]

    def time_per_inference(self, x_batch1_list, repeat=5):
        return time_per_call(self.run1, _batch1_list(x_batch1_list), repeat)


def ort_float_session(onnx_path):
    """onnxruntime float32 session of ``onnx_path`` (single-threaded CPU)."""
    return OrtSession(str(onnx_path), name="onnxruntime float32")


class _CalibReader:
    def __init__(self, input_name, calib_x):
        self._it = iter({input_name: xi} for xi in _batch1_list(calib_x))

    def get_next(self):
        return next(self._it, None)


def ort_int8_session(onnx_path, calib_x, per_channel=True, reduce_range=True):
    """onnxruntime session of the int8 QDQ model made by ``quantize_static``.

    ``quant_pre_process`` (shape inference, graph clean-up) first, then QDQ format,
    int8 activations and weights (per-channel unless ``per_channel=False``), MinMax
    calibration on ``calib_x`` (N, 1, 8, 8), one sample per calibration batch.

    ``reduce_range=True`` (7-bit weights) is the default because onnxruntime's x86
    u8s8 integer kernels without VNNI (plain AVX2, as on our machines) can saturate
    their 16-bit intermediate sums with full-range int8 weights: on the default
    digits CNN that costs up to ~3.8 in a logit (and accuracy) with
    ``reduce_range=False``, while the 7-bit model matches onnxruntime's own
    unfused QDQ reference within quantisation error.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(str(onnx_path))
    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="edgesnn_ort_int8_") as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        out = os.path.join(tmp, "int8.onnx")
        quant_pre_process(str(onnx_path), pre)
        quantize_static(
            pre,
            out,
            _CalibReader(input_name, calib_x),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            reduce_range=reduce_range,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        with open(out, "rb") as f:
            data = f.read()
    sess = OrtSession(data, name="onnxruntime int8 (QDQ)")
    sess.model_bytes = data
    return sess


# --------------------------------------------------------------------------- TFLM builder


def _calibration_ranges(model, calib_x):
    """{tensor name: (lo, hi)} over calib_x for the graph input and every node output."""
    import onnx
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for node in m.graph.node:
        for name in node.output:
            if name and name not in have:
                m.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
                have.add(name)
    sess = ort.InferenceSession(m.SerializeToString(), _ort_options(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    x = np.ascontiguousarray(calib_x, dtype=np.float32)
    if isinstance(sess.get_inputs()[0].shape[0], int):
        outs = [sess.run(names, {sess.get_inputs()[0].name: xi}) for xi in _batch1_list(x)]
        vals = [np.concatenate([o[k] for o in outs]) for k in range(len(names))]
    else:
        vals = sess.run(names, {sess.get_inputs()[0].name: x})
    ranges = {n: (float(v.min()), float(v.max())) for n, v in zip(names, vals)}
    ranges[model.graph.input[0].name] = (float(x.min()), float(x.max()))
    return ranges


def _act_qparams(lo, hi):
    """Asymmetric int8 (scale, zero_point) covering [min(lo, 0), max(hi, 0)]."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = (hi - lo) / 255.0
    zp = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return float(scale), zp


def _weight_qparams(w):
    """Per-output-channel symmetric int8 weights: (int8 array, scales[oc])."""
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    s = np.abs(flat).max(axis=1) / 127.0
    s[s == 0] = 1e-8
    q = np.clip(np.round(flat / s[:, None]), -127, 127).astype(np.int8)
    return q.reshape(w.shape), s


def tflm_model_from_onnx(onnx_path, calib_x):
    """Build a fully int8 TFLite flatbuffer of the ONNX network; returns ``bytes``.

    Supported graph: Conv (+ Clip(0, lambda)/Relu), AveragePool, Flatten/Reshape,
    Gemm (+ Clip/Relu), batch 1.  See the module docstring for the recipe.
    """
    import onnx
    from onnx import helper, numpy_helper
    from tflite_micro.tensorflow.lite.micro.compression import model_editor as me
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tfl

    model = onnx.load(str(onnx_path))
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    ranges = _calibration_ranges(model, calib_x)
    in_name = g.input[0].name
    lo, hi = ranges[in_name]
    ranges[in_name] = (min(lo, 0.0), max(hi, 1.0))
    dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    c, h, w = dims[1], dims[2], dims[3]

    nodes = list(g.node)
    # Fuse Clip/Relu into the producing Conv/Gemm: producer output -> clip output.
    fused = {}  # producer node index -> activation node
    skip = set()
    for i, n in enumerate(nodes):
        if n.op_type in ("Clip", "Relu") and i > 0 and nodes[i - 1].op_type in ("Conv", "Gemm"):
            if nodes[i - 1].output[0] == n.input[0]:
                if n.op_type == "Clip":
                    lo_c = float(inits[n.input[1]]) if len(n.input) > 1 and n.input[1] else -np.inf
                    if lo_c != 0.0:
                        raise ValueError("only Clip(0, lambda) can be fused")
                fused[i - 1] = n
                skip.add(i)

    sg = me.Subgraph(name="main")
    mdl = me.Model(subgraphs=[sg], description="edgesnn peers.py int8 export")

    def act_tensor(name, shape):
        s, z = _act_qparams(*ranges[name])
        return sg.add_tensor(
            shape=shape, dtype=tfl.TensorType.INT8, name=name,
            quantization=me.Quantization(scales=s, zero_points=z),
        )

    cur = act_tensor(in_name, (1, h, w, c))
    sg.inputs = [cur]
    layout = "nhwc"  # or "flat"
    chw = (c, h, w)
    for i, n in enumerate(nodes):
        if i in skip:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        act = fused.get(i)
        out_name = (act or n).output[0]
        fused_fn = tfl.ActivationFunctionType.RELU if act is not None else tfl.ActivationFunctionType.NONE
        s_in = cur.quantization.scales
        if n.op_type == "Conv":
            wt = inits[n.input[1]]
            oc, ic, kh, kw = wt.shape
            bias = inits[n.input[2]] if len(n.input) > 2 else np.zeros(oc, np.float32)
            if attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise ValueError("grouped/dilated Conv not supported")
            sh, sw = attrs.get("strides", [1, 1])
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            _, ih, iw = chw
            if not any(pads):
                padding = tfl.Padding.VALID
                oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
            else:
                oh, ow = -(-ih // sh), -(-iw // sw)
                ph = max((oh - 1) * sh + kh - ih, 0)
                pw = max((ow - 1) * sw + kw - iw, 0)
                if pads != [ph // 2, pw // 2, ph - ph // 2, pw - pw // 2]:
                    raise ValueError(f"Conv pads {pads} are not TFLite SAME padding")
                padding = tfl.Padding.SAME
            wq, ws = _weight_qparams(wt)
            wq = np.ascontiguousarray(wq.transpose(0, 2, 3, 1))  # OIHW -> OHWI
            bq = np.round(bias.astype(np.float64) / (s_in * ws)).astype(np.int32)
            wten = sg.add_tensor(shape=wq.shape, dtype=tfl.TensorType.INT8, data=wq, name=n.input[1],
                                 quantization=me.Quantization(scales=[float(v) for v in ws],
                                                              zero_points=[0] * oc, axis=0))
            bten = sg.add_tensor(shape=(oc,), dtype=tfl.TensorType.INT32, data=bq, name=f"{n.name}/bias",
                                 quantization=me.Quantization(scales=[float(s_in * v) for v in ws],
                                                              zero_points=[0] * oc, axis=0))
            out = act_tensor(out_name, (1, oh, ow, oc))
            op = sg.add_operator(opcode=tfl.BuiltinOperator.CONV_2D, inputs=[cur, wten, bten], outputs=[out])
            op._fb.builtinOptionsType = tfl.BuiltinOptions.Conv2DOptions
            op._fb.builtinOptions = tfl.Conv2DOptionsT(
                padding=padding, strideW=sw, strideH=sh, fusedActivationFunction=fused_fn)
            chw = (oc, oh, ow)
        elif n.op_type == "AveragePool":
            kh, kw = attrs["kernel_shape"]
            sh, sw = attrs.get("strides", [kh, kw])
            if any(attrs.get("pads", [0, 0, 0, 0])):
                raise ValueError("padded AveragePool not supported")
            ch, ih, iw = chw
            oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
            out = sg.add_tensor(shape=(1, oh, ow, ch), dtype=tfl.TensorType.INT8, name=out_name,
                                quantization=me.Quantization(scales=cur.quantization.scales,
                                                             zero_points=cur.quantization.zero_points))
            op = sg.add_operator(opcode=tfl.BuiltinOperator.AVERAGE_POOL_2D, inputs=[cur], outputs=[out])
            op._fb.builtinOptionsType = tfl.BuiltinOptions.Pool2DOptions
            op._fb.builtinOptions = tfl.Pool2DOptionsT(
                padding=tfl.Padding.VALID, strideW=sw, strideH=sh, filterWidth=kw, filterHeight=kh,
                fusedActivationFunction=tfl.ActivationFunctionType.NONE)
            chw = (ch, oh, ow)
        elif n.op_type in ("Flatten", "Reshape"):
            if n.op_type == "Flatten" and attrs.get("axis", 1) != 1:
                raise ValueError("only Flatten(axis=1) supported")
            if layout == "flat":
                continue
            size = int(np.prod(chw))
            shape_t = sg.add_tensor(shape=(2,), dtype=tfl.TensorType.INT32,
                                    data=np.array([1, size], np.int32), name=f"{n.name}/shape")
            out = sg.add_tensor(shape=(1, size), dtype=tfl.TensorType.INT8, name=out_name,
                                quantization=me.Quantization(scales=cur.quantization.scales,
                                                             zero_points=cur.quantization.zero_points))
            op = sg.add_operator(opcode=tfl.BuiltinOperator.RESHAPE, inputs=[cur, shape_t], outputs=[out])
            op._fb.builtinOptionsType = tfl.BuiltinOptions.ReshapeOptions
            op._fb.builtinOptions = tfl.ReshapeOptionsT(newShape=[1, size])
            layout = "flat"
        elif n.op_type == "Gemm":
            if layout != "flat":
                raise ValueError("Gemm must follow Flatten")
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise ValueError("only Gemm(transA=0, alpha=beta=1) supported")
            wt = inits[n.input[1]]
            if not attrs.get("transB", 0):
                wt = wt.T
            oc, ic = wt.shape
            if len(chw) == 3:  # first Gemm after a flattened CHW tensor: reorder to HWC
                ch, ih, iw = chw
                wt = wt.reshape(oc, ch, ih, iw).transpose(0, 2, 3, 1).reshape(oc, ic)
            bias = inits[n.input[2]] if len(n.input) > 2 else np.zeros(oc, np.float32)
            wq, ws = _weight_qparams(wt)
            bq = np.round(bias.astype(np.float64).reshape(-1) / (s_in * ws)).astype(np.int32)
            wten = sg.add_tensor(shape=wq.shape, dtype=tfl.TensorType.INT8, data=np.ascontiguousarray(wq),
                                 name=n.input[1],
                                 quantization=me.Quantization(scales=[float(v) for v in ws],
                                                              zero_points=[0] * oc, axis=0))
            bten = sg.add_tensor(shape=(oc,), dtype=tfl.TensorType.INT32, data=bq, name=f"{n.name}/bias",
                                 quantization=me.Quantization(scales=[float(s_in * v) for v in ws],
                                                              zero_points=[0] * oc, axis=0))
            out = act_tensor(out_name, (1, oc))
            op = sg.add_operator(opcode=tfl.BuiltinOperator.FULLY_CONNECTED, inputs=[cur, wten, bten],
                                 outputs=[out])
            op._fb.builtinOptionsType = tfl.BuiltinOptions.FullyConnectedOptions
            op._fb.builtinOptions = tfl.FullyConnectedOptionsT(fusedActivationFunction=fused_fn)
            chw = (oc,)
        else:
            raise ValueError(f"ONNX op {n.op_type} not supported by the TFLM exporter")
        cur = out
    sg.outputs = [cur]
    return bytes(mdl.build())


# --------------------------------------------------------------------------- TFLM runtime


@contextlib.contextmanager
def _capture_fd(fd):
    """Capture what C code writes to file descriptor ``fd``; yields a list that
    receives the captured text on exit."""
    import ctypes
    import sys

    libc = ctypes.CDLL(None)
    result = []
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield result
        finally:
            libc.fflush(None)
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            result.append(tmp.read().decode("utf-8", "replace"))


class TflmSession:
    """A TFLM interpreter of an int8 model with int8 (1, H, W, C) input."""

    name = "tflite-micro int8"

    def __init__(self, model_bytes, arena_size=None):
        from tflite_micro import runtime

        self.model_bytes = bytes(model_bytes)
        self._runtime = runtime
        if arena_size is None:
            arena_size = max(16 * 1024, 10 * len(self.model_bytes))
        self.arena_size = arena_size
        self.interp = runtime.Interpreter.from_bytes(self.model_bytes, arena_size=arena_size)
        din = self.interp.get_input_details(0)
        dout = self.interp.get_output_details(0)
        self.in_shape = tuple(int(v) for v in din["shape"])
        self.in_dtype = din["dtype"]
        self.in_scale = float(din["quantization_parameters"]["scales"][0])
        self.in_zp = int(din["quantization_parameters"]["zero_points"][0])
        self.out_scale = float(dout["quantization_parameters"]["scales"][0])
        self.out_zp = int(dout["quantization_parameters"]["zero_points"][0])

    def quantize(self, x):
        """Float (N, C, H, W) -> list of int8 (1, H, W, C) arrays."""
        x = np.asarray(x, dtype=np.float32).reshape((-1,) + (self.in_shape[3], self.in_shape[1], self.in_shape[2]))
        q = np.clip(np.round(x / self.in_scale) + self.in_zp, -128, 127).astype(self.in_dtype)
        q = q.transpose(0, 2, 3, 1)
        return [np.ascontiguousarray(q[i : i + 1]) for i in range(len(q))]

    def run_q(self, q1):
        """One inference on an already quantised (1, H, W, C) input (the timed call)."""
        self.interp.set_input(q1, 0)
        self.interp.invoke()
        return self.interp.get_output(0)

    def logits(self, x):
        outs = [self.run_q(q).reshape(-1).astype(np.float32) for q in self.quantize(x)]
        return (np.stack(outs) - self.out_zp) * self.out_scale

    def predict(self, x):
        return self.logits(x).argmax(axis=1).astype(np.int64)

    def time_per_inference(self, x_batch1_list, repeat=5):
        """Median per-inference time of set_input + invoke + get_output on int8 data
        quantised beforehand (host-side quantisation is not timed)."""
        xs = np.concatenate(_batch1_list(x_batch1_list))
        return time_per_call(self.run_q, self.quantize(xs), repeat)

    def arena_bytes(self):
        """Bytes of the tensor arena the interpreter used, from the
        RecordingMicroAllocator report ("Arena allocation total N bytes")."""
        if not hasattr(self, "_arena_bytes"):
            # Make sure at least one inference ran (the report is made after invoke).
            self.run_q(np.full(self.in_shape, self.in_zp, dtype=self.in_dtype))
            with _capture_fd(2) as text:
                self.interp.print_allocations()
            m = re.search(r"Arena allocation total (\d+) bytes", text[0])
            if not m:
                raise RuntimeError(f"could not parse TFLM allocation report: {text[0]!r}")
            self._arena_bytes = int(m.group(1))
        return self._arena_bytes

    def min_arena_size(self, hi=None):
        """The smallest ``arena_size`` (bytes, multiple of 16) with which the
        interpreter allocates and runs the model, by bisection upward from
        :meth:`arena_bytes`.

        Each probe runs in a child Python process: this TFLM build can crash
        (SIGSEGV) instead of raising when an arena is far too small.
        """
        import subprocess
        import sys

        lo = self.arena_bytes() // 16
        hi = -(-(hi or self.arena_size) // 16)
        with tempfile.TemporaryDirectory(prefix="edgesnn_tflm_") as tmp:
            path = os.path.join(tmp, "model.tflite")
            with open(path, "wb") as f:
                f.write(self.model_bytes)

            def ok(size):
                r = subprocess.run([sys.executable, "-c", _PROBE, path, str(size)],
                                   capture_output=True, text=True)
                return r.returncode == 0 and r.stdout.strip() == "ok"

            if not ok(hi * 16):
                raise RuntimeError(f"model does not run with arena_size={hi * 16}")
            while lo < hi:
                mid = (lo + hi) // 2
                if ok(mid * 16):
                    hi = mid
                else:
                    lo = mid + 1
        return hi * 16


_PROBE = """
import sys
import numpy as np
from tflite_micro import runtime
it = runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
d = it.get_input_details(0)
it.set_input(np.zeros(tuple(d["shape"]), d["dtype"]), 0)
it.invoke()
print("ok")
"""


def tflm_session(model_bytes, arena_size=None):
    """A :class:`TflmSession` on ``model_bytes`` (from :func:`tflm_model_from_onnx`)."""
    return TflmSession(model_bytes, arena_size=arena_size)


# --------------------------------------------------------------------------- CLI


def _main(argv=None):
    import argparse
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="Accuracy and batch-1 latency of the peer runtimes")
    ap.add_argument("--model", default=os.path.join(root, "edgesnn", "models", "digits_cnn.onnx"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n-time", type=int, default=200, help="test samples used for timing")
    ap.add_argument("--save-tflite", default=None, help="also write the int8 .tflite here")
    args = ap.parse_args(argv)

    sys.path.insert(0, root)
    from edgesnn.data.datasets import load_digits_split

    x_tr, y_tr, x_te, y_te = load_digits_split()
    t0 = time.perf_counter()
    sessions = [ort_float_session(args.model), ort_int8_session(args.model, x_tr)]
    tfl_bytes = tflm_model_from_onnx(args.model, x_tr)
    if args.save_tflite:
        with open(args.save_tflite, "wb") as f:
            f.write(tfl_bytes)
    tf = tflm_session(tfl_bytes)
    sessions.append(tf)
    print(f"built sessions in {time.perf_counter() - t0:.1f} s; tflite model {len(tfl_bytes)} bytes")
    xs = x_te[: args.n_time]
    for s in sessions:
        acc = float((s.predict(x_te) == y_te).mean())
        t = s.time_per_inference(xs, repeat=args.repeat)
        print(f"{s.name:28s} accuracy {acc:.4f}  {t * 1e6:8.2f} us/inference")
    print(f"TFLM arena used {tf.arena_bytes()} bytes (min arena_size {tf.min_arena_size()} bytes)")


if __name__ == "__main__":
    _main()
