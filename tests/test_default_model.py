"""The model that ships in the package is what its recipe produces, and good enough."""
from __future__ import annotations

import os

import numpy as np

import edgesnn
from edgesnn.cli import main

MODELS = os.path.join(os.path.dirname(edgesnn.__file__), "models")


def test_shipped_blob_is_reproduced_bit_for_bit_from_shipped_onnx(tmp_path, capsys):
    out = tmp_path / "digits.esnn"
    assert main(["pack", os.path.join(MODELS, "digits_cnn.onnx"), "-o", str(out),
                 "--calib", "digits", "--steps", "16", "--name", "digits-cnn"]) == 0
    capsys.readouterr()
    with open(edgesnn.default_model_path(), "rb") as f:
        assert out.read_bytes() == f.read()


def test_shipped_model_is_a_conv_snn_above_95_percent(default_model, digits):
    ops = [layer["op"] for layer in default_model.meta["layers"]]
    assert "CONV2D" in ops or "conv2d" in [o.lower() for o in ops]
    for steps in (8, 16):
        acc = float(np.mean(default_model.predict(digits[2], steps=steps) == digits[3]))
        assert acc >= 0.95, f"T={steps}: {acc:.2%}"
    assert default_model.meta["quant_accuracy"] >= 0.95
