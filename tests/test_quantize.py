"""ANN-to-SNN conversion: integer parameters, shift choice, errors and digits accuracy."""
import warnings

import numpy as np
import pytest

from _graphs import random_conv, random_input, random_mlp, random_residual
from edgesnn.format.blob import read_blob
from edgesnn.data.datasets import load_digits_split
from edgesnn.errors import QuantizeError
from edgesnn.format.intmodel import DTYPE_I32, NEURON_IF, NEURON_NONE, OP_ADD, layer_bounds
from edgesnn.compile.ir import GraphBuilder
from edgesnn.compile.pack import pack_graph, pack_onnx
from edgesnn.compile.quantize import choose_input_quant, quantize_graph
from edgesnn.format.inputs import quantize_input
from edgesnn.format.reference import run_onestep


@pytest.fixture(scope="module")
def digits_mlp():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_tr, y_tr, x_te, y_te = load_digits_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(48,), max_iter=200, random_state=0)
        clf.fit(x_tr.reshape(len(x_tr), -1), y_tr)
    gb = GraphBuilder((1, 8, 8))  # digits are (N, 1, 8, 8); DENSE reads them flat
    h = gb.relu(gb.dense(gb.input, clf.coefs_[0].T, clf.intercepts_[0]))
    graph = gb.build(gb.dense(h, clf.coefs_[1].T, clf.intercepts_[1]))
    return graph, clf, (x_tr, y_tr, x_te, y_te)


@pytest.mark.parametrize("steps,max_drop", [(16, 0.03), (8, 0.05)])
def test_digits_mlp_quantised_accuracy_close_to_float(digits_mlp, steps, max_drop):
    graph, _, (x_tr, y_tr, x_te, y_te) = digits_mlp
    blob, rep = pack_graph(graph, x_tr, steps=steps, eval_x=x_te, eval_y=y_te, name="digits")
    assert rep.float_accuracy > 0.93
    assert rep.quant_accuracy >= rep.float_accuracy - max_drop, rep.to_text()
    meta = read_blob(blob).meta
    assert meta["quant_accuracy"] == rep.quant_accuracy and meta["input_shape"] == [1, 8, 8]
    assert rep.flash_bytes == len(blob) and rep.tstep_arena_bytes == steps * rep.scratch_bytes


def test_pack_onnx_end_to_end(digits_mlp, tmp_path):
    import torch

    _, clf, (x_tr, y_tr, x_te, y_te) = digits_mlp
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10))
    with torch.no_grad():
        for lin, w, b in ((net[1], clf.coefs_[0], clf.intercepts_[0]), (net[3], clf.coefs_[1], clf.intercepts_[1])):
            lin.weight.copy_(torch.tensor(w.T))
            lin.bias.copy_(torch.tensor(b))
    path = tmp_path / "digits_mlp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), torch.zeros(1, 1, 8, 8), str(path), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "n"}})
    blob, rep = pack_onnx(path, x_tr, y_tr, steps=16, eval_x=x_te, eval_y=y_te)
    meta = read_blob(blob).meta
    assert meta["name"] == "digits_mlp" and meta["source"] == "digits_mlp.onnx"
    assert meta["classes"] == [str(i) for i in range(10)]
    assert [r["neuron"] for r in meta["layers"]] == ["IF", "NONE"]
    assert rep.quant_accuracy >= rep.float_accuracy - 0.03


def test_input_quantisation():
    s, zp = choose_input_quant(np.array([0.0, 0.5, 2.0]))
    assert zp == 0 and s == np.float32(2.0 / 255)
    np.testing.assert_array_equal(quantize_input([0.0, 0.5, 2.0, 9.0, -1.0], s, zp), [0, 64, 255, 255, 0])
    s, zp = choose_input_quant(np.array([-1.0, 3.0]))
    assert 0 < zp < 255 and s == np.float32(s)
    q = quantize_input(np.array([-1.0, 0.0, 3.0]), s, zp)
    assert q[0] == 0 and q[1] == zp and q[2] == 255


@pytest.mark.parametrize("factory", [random_mlp, random_conv, random_residual])
def test_shifts_are_maximal_and_within_limits(factory):
    rng = np.random.default_rng(5)
    g = factory(rng)
    model, rep = quantize_graph(g, random_input(rng, g, 64), steps=16)
    for layer, bound in zip(model.layers, layer_bounds(model)):
        if bound is not None:
            assert (bound < 2 ** 31).all()
        if layer.weights is None:
            continue
        w = np.abs(layer.weights.reshape(layer.weights.shape[0], -1).astype(int)).max(axis=1)
        assert w.max() <= 127
        if layer.neuron == NEURON_IF:  # shift k+1 would have needed a weight > 127
            assert np.all((layer.shift == 20) | (w >= 64))
    readout = model.layers[-1]
    assert readout.neuron == NEURON_NONE and model.tensors[readout.out].dtype == DTYPE_I32
    assert np.abs(readout.weights).max() >= 64 or rep.layers[-1]["shift_max"] == 20
    assert not rep.warnings


def test_add_multipliers():
    rng = np.random.default_rng(2)
    g = random_residual(rng)
    x = random_input(rng, g, 64)
    model, rep = quantize_graph(g, x, steps=8)
    adds = [(i, l) for i, l in enumerate(model.layers) if l.op == OP_ADD]
    assert len(adds) == 2
    lam = {r["name"]: r["lambda"] for r in rep.layers}
    for i, layer in adds:
        for j, t in enumerate(layer.inputs):
            if model.tensors[t].dtype == DTYPE_I32:
                assert (layer.mult[j] == 1).all()  # the NONE conv is already in the ADD's scale
            else:  # m = round(u_in * 2^k / lambda), u_in = lambda of the producing IF layer
                producer = next(l for l in model.layers if l.out == t)
                want = np.rint(lam[producer.name] * 2.0 ** layer.shift.astype(float) / lam[layer.name])
                np.testing.assert_array_equal(layer.mult[j], want)


def test_conversion_tracks_float_outputs_with_signed_input():
    rng = np.random.default_rng(7)
    g = random_mlp(rng, sizes=(12, 24, 8))
    x = random_input(rng, g, 400, signed=True)
    blob, rep = pack_graph(g, x, steps=63)
    view = read_blob(blob)
    assert view.input_zero_point > 0
    q = quantize_input(x, view.input_scale, view.input_zero_point)
    approx = run_onestep(view, q, 63) / (rep.layers[-1]["output_scale"] * 63)
    ref = g.forward(x)
    assert np.corrcoef(approx.ravel(), ref.ravel())[0, 1] > 0.98
    assert np.mean(approx.argmax(1) == ref.argmax(1)) > 0.85


def test_clip_threshold_and_percentile():
    rng = np.random.default_rng(1)
    g = random_mlp(rng, clip=0.6)
    x = random_input(rng, g, 50)
    _, rep = quantize_graph(g, x)
    assert [r["lambda"] for r in rep.layers[:-1]] == [0.6, 0.6]
    g = random_mlp(rng)
    x = random_input(rng, g, 50)
    _, rep = quantize_graph(g, x, percentile=90.0)
    first_act = g.forward_all(x)[g.nodes[2].output]
    assert rep.layers[0]["lambda"] == pytest.approx(np.percentile(first_act, 90.0))


def test_fan_in_limited_by_overflow_rule():
    rng = np.random.default_rng(0)
    gb = GraphBuilder((4000,))
    h = gb.relu(gb.dense(gb.input, rng.choice([-1.0, 1.0], size=(3, 4000)), np.zeros(3)))
    g = gb.build(gb.dense(h, rng.normal(size=(2, 3))))
    blob, _ = pack_graph(g, rng.uniform(0, 1, size=(20, 4000)))
    view = read_blob(blob)  # re-checks the overflow rule
    assert np.abs(view.layers[0].weights).max() < 64  # reduced below the int8 optimum


def _builder():
    gb = GraphBuilder((2, 4, 4))
    w = np.ones((2, 2, 1, 1))
    return gb, w


def test_errors():
    x = np.random.default_rng(0).uniform(size=(4, 2, 4, 4))
    gb, w = _builder()
    with pytest.raises(QuantizeError, match="network input"):
        quantize_graph(gb.build(gb.relu(gb.conv(gb.avgpool(gb.input, 2), w))), x)
    gb, w = _builder()
    h = gb.conv(gb.input, w)
    with pytest.raises(QuantizeError, match="without ReLU"):
        quantize_graph(gb.build(gb.relu(gb.conv(h, w))), x)
    gb, w = _builder()
    h = gb.relu(gb.conv(gb.input, w))
    with pytest.raises(QuantizeError, match="followed by ReLU"):
        quantize_graph(gb.build(gb.conv(gb.add(gb.conv(h, w), h), w)), x)
    gb, w = _builder()
    h = gb.relu(gb.conv(gb.input, w))
    g = gb.build(gb.dense(gb.avgpool(h, 4), np.ones((1, 2))))
    with pytest.raises(QuantizeError, match="at most T=15"):
        quantize_graph(g, x, steps=16)
    quantize_graph(g, x, steps=15)
    with pytest.raises(QuantizeError, match="steps"):
        quantize_graph(g, x, steps=64)
