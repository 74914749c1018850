"""The benchmark's peer runtimes (tools/peers.py): onnxruntime float / int8 and
TensorFlow Lite Micro int8 on the shipped digits networks.

onnxruntime, tflite-micro and torch are test dependencies: these tests import them
unconditionally and fail (they do not skip) when one is missing.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import onnx
import onnxruntime  # noqa: F401  (hard requirement)
import pytest
import tflite_micro  # noqa: F401  (hard requirement)
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "edgesnn", "models")


def _load_peers():
    spec = importlib.util.spec_from_file_location("peers", os.path.join(ROOT, "tools", "peers.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


peers = _load_peers()


def torch_logits(path, x):
    """Evaluate the ONNX graph's weights with torch.nn.functional (float32)."""
    g = onnx.load(path).graph
    env = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    env[g.input[0].name] = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.no_grad():
        for n in g.node:
            a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
            ins = [env[i] for i in n.input if i]
            if n.op_type == "Conv":
                pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
                y = F.conv2d(F.pad(ins[0], (pl, pr, pt, pb)), ins[1], ins[2] if len(ins) > 2 else None,
                             stride=tuple(a.get("strides", [1, 1])))
            elif n.op_type == "Clip":
                y = torch.clamp(ins[0], float(ins[1]), float(ins[2]))
            elif n.op_type == "Relu":
                y = torch.relu(ins[0])
            elif n.op_type == "AveragePool":
                y = F.avg_pool2d(ins[0], tuple(a["kernel_shape"]), tuple(a.get("strides", a["kernel_shape"])))
            elif n.op_type in ("Flatten", "Reshape"):
                y = ins[0].flatten(1)
            elif n.op_type == "Gemm":
                w = ins[1] if a.get("transB", 0) else ins[1].T
                y = F.linear(ins[0], w, ins[2] if len(ins) > 2 else None)
            else:
                raise AssertionError(f"unexpected ONNX op {n.op_type}")
            env[n.output[0]] = y
    return env[g.output[0].name].numpy()


@pytest.fixture(scope="module", params=["digits_cnn.onnx", "digits_mlp.onnx"])
def model_path(request):
    path = os.path.join(MODELS, request.param)
    assert os.path.isfile(path), f"{path} missing: run tools/train_default.py"
    return path


@pytest.fixture(scope="module")
def tflm(model_path, digits):
    x_tr = digits[0]
    return peers.tflm_session(peers.tflm_model_from_onnx(model_path, x_tr))


def accuracy(pred, y):
    return float((np.asarray(pred) == y).mean())


def test_default_graph_ops():
    g = onnx.load(os.path.join(MODELS, "digits_cnn.onnx")).graph
    assert [n.op_type for n in g.node] == [
        "Conv", "Clip", "AveragePool", "Conv", "Clip", "AveragePool", "Flatten", "Gemm"]


def test_ort_float_matches_torch(model_path, digits):
    _, _, x_te, y_te = digits
    assert len(y_te) == 450
    sess = peers.ort_float_session(model_path)
    acc_ort = accuracy(sess.predict(x_te), y_te)
    acc_torch = accuracy(torch_logits(model_path, x_te).argmax(1), y_te)
    assert abs(acc_ort - acc_torch) <= 0.005
    assert acc_torch >= 0.95
    np.testing.assert_allclose(sess.logits(x_te), torch_logits(model_path, x_te), atol=1e-3)


def test_ort_int8_close_to_float(model_path, digits):
    x_tr, _, x_te, y_te = digits
    acc_f = accuracy(peers.ort_float_session(model_path).predict(x_te), y_te)
    acc_q = accuracy(peers.ort_int8_session(model_path, x_tr).predict(x_te), y_te)
    assert abs(acc_q - acc_f) <= 0.02, (acc_q, acc_f)


def test_tflm_int8_close_to_float(model_path, tflm, digits):
    _, _, x_te, y_te = digits
    f = peers.ort_float_session(model_path)
    acc_f = accuracy(f.predict(x_te), y_te)
    acc_t = accuracy(tflm.predict(x_te), y_te)
    assert abs(acc_t - acc_f) <= 0.02, (acc_t, acc_f)
    # The dequantised int8 logits track the float ones.
    lf, lt = f.logits(x_te), tflm.logits(x_te)
    assert np.abs(lf - lt).mean() < 0.05 * np.abs(lf).max()


def test_tflm_model_is_int8(tflm):
    from tflite_micro.tensorflow.lite.micro.compression import model_editor as me
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tfl

    m = me.read(tflm.model_bytes)
    ops = {op.opcode for op in m.subgraphs[0].operators}
    assert ops <= {tfl.BuiltinOperator.CONV_2D, tfl.BuiltinOperator.AVERAGE_POOL_2D,
                   tfl.BuiltinOperator.RESHAPE, tfl.BuiltinOperator.FULLY_CONNECTED}
    for op in m.subgraphs[0].operators:
        for t in op.inputs[:1] + op.outputs:
            assert t.dtype == tfl.TensorType.INT8
        if op.opcode in (tfl.BuiltinOperator.CONV_2D, tfl.BuiltinOperator.FULLY_CONNECTED):
            assert op.inputs[1].dtype == tfl.TensorType.INT8
            assert op.inputs[2].dtype == tfl.TensorType.INT32


def test_tflm_arena_bytes(tflm):
    n = tflm.arena_bytes()
    assert isinstance(n, int) and n > 0
    # The interpreter runs in an arena of about that size (alignment slack aside).
    m = tflm.min_arena_size()
    assert n <= m <= n + 1024


def test_time_per_call(model_path, tflm, digits):
    x = digits[2][:8]
    for sess in (peers.ort_float_session(model_path), tflm):
        t = sess.time_per_inference(x, repeat=2)
        assert isinstance(t, float) and 0 < t < 0.1
    calls = []
    t = peers.time_per_call(calls.append, [1, 2, 3], repeat=3, warmup=2)
    assert t >= 0 and len(calls) == 2 + 3 * 3
