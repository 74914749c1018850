"""Acceptance: models exported from PyTorch (torch.onnx.export, Clip/ReLU ANNs) pack,
and their fixed-point one-step predictions agree with onnxruntime's float
predictions on >= 98% of the held-out digits."""
from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import pytest
import torch

import edgesnn
from edgesnn.compile.pack import pack_onnx

MODELS = os.path.join(os.path.dirname(edgesnn.__file__), "models")


def _ort_predict(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x.astype(np.float32)})[0].argmax(axis=1)


def _train_relu_mlp(x, y, path):
    """A plain-ReLU MLP (thresholds come from calibration percentiles, not Clip)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 48), torch.nn.ReLU(),
                              torch.nn.Linear(48, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    net.eval()
    torch.onnx.export(net, xt[:1], path, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "n"}}, opset_version=17, dynamo=False)


def _agreement(path, digits, steps=16):
    x_tr, y_tr, x_te, y_te = digits
    blob, report = pack_onnx(path, x_tr, y_tr, steps=steps, eval_x=x_te, eval_y=y_te)
    ours = edgesnn.load(blob).predict(x_te)
    theirs = _ort_predict(path, x_te)
    return float(np.mean(ours == theirs)), float(np.mean(theirs == y_te)), report


@pytest.mark.parametrize("name", ["digits_cnn.onnx", "digits_mlp.onnx"])
def test_shipped_onnx_exports_agree_with_onnxruntime(name, digits):
    agree, float_acc, report = _agreement(os.path.join(MODELS, name), digits)
    assert float_acc > 0.95, "the float model itself should be good"
    assert agree >= 0.98, f"{name}: fixed point agrees with onnxruntime on {agree:.2%}"
    assert report.quant_accuracy >= report.float_accuracy - 0.02


def test_relu_mlp_exported_in_test_agrees_with_onnxruntime(digits, tmp_path):
    path = str(tmp_path / "relu_mlp.onnx")
    _train_relu_mlp(digits[0], digits[1], path)
    agree, float_acc, _ = _agreement(path, digits)
    assert float_acc > 0.93
    assert agree >= 0.98, f"fixed point agrees with onnxruntime on {agree:.2%}"


def test_shipped_model_accuracy_at_least_95(default_model, digits):
    acc = float(np.mean(default_model.predict(digits[2]) == digits[3]))
    assert acc >= 0.95, f"shipped model: {acc:.2%}"
