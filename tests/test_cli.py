"""The `edgesnn` command line: each verb's happy path, --json, and clean failures."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

import edgesnn
from edgesnn.cli import main

MODELS = os.path.join(os.path.dirname(edgesnn.__file__), "models")


def test_pack_inspect_infer_round_trip(tmp_path, capsys):
    out = tmp_path / "m.esnn"
    assert main(["pack", os.path.join(MODELS, "digits_mlp.onnx"), "-o", str(out),
                 "--calib", "digits", "--steps", "8"]) == 0
    text = capsys.readouterr().out
    assert "accuracy float" in text and "arena one-step" in text and "validated" in text
    assert main(["inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["default_steps"] == 8 and info["flash_bytes"] == out.stat().st_size
    assert info["arena_bytes"] > 0 and len(info["layers"]) == 2
    x = np.random.default_rng(0).uniform(0, 1, (3, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["infer", str(out), "--input", str(tmp_path / "x.npy"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["predictions"] == edgesnn.load(str(out)).predict(x).tolist()


def test_infer_on_digits_prints_accuracy(capsys):
    assert main(["infer", edgesnn.default_model_path(), "--input", "digits",
                 "--mode", "tstep", "--steps", "8"]) == 0
    assert "accuracy: " in capsys.readouterr().out


def test_unsupported_op_names_the_node(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"], name="squash")],
                              "g", [x], [y])
    path = tmp_path / "sig.onnx"
    onnx.save(helper.make_model(graph), str(path))
    np.savez(tmp_path / "c.npz", x=np.zeros((4, 4), np.float32))
    code = main(["pack", str(path), "-o", str(tmp_path / "o.esnn"), "--calib",
                 str(tmp_path / "c.npz")])
    err = capsys.readouterr().err
    assert code == 2 and '"squash"' in err and "Sigmoid" in err
    assert not (tmp_path / "o.esnn").exists()  # nothing half-written


def test_corrupted_model_is_a_one_line_error(tmp_path, capsys):
    bad = bytearray(edgesnn.load_default().blob)
    bad[-5] ^= 1
    path = tmp_path / "bad.esnn"
    path.write_bytes(bytes(bad))
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "corrupted" in err and "Traceback" not in err


def test_every_verb_has_help_with_an_example():
    for verb in ["pack", "inspect", "infer", "demo"]:
        r = subprocess.run([sys.executable, "-m", "edgesnn", verb, "--help"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "example:" in r.stdout, verb


def test_demo_runs_the_main_job(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "identical to one-step: yes" in out and "accuracy 99." in out
    # the on-board fine-tuning step: a real gain on the drifted digits, board == host
    import re
    before = float(re.search(r"drifted held-out digits ([\d.]+)%", out).group(1))
    after = float(re.search(r"fine-tuned on the board.*accuracy ([\d.]+)%", out).group(1))
    assert after >= before + 30 and "board model == host run: yes" in out
