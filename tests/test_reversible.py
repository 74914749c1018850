"""Reversible blocks (COUPLE layers, format 1.2): the C runtime against the numpy oracle
bit for bit in both modes, one-step == T-step, exact inversion (also when totals wrap
around), the builder and quantizer, ONNX import of PyTorch reversible nets, hostile
blobs, and `edgesnn inspect`."""
from __future__ import annotations

import dataclasses
import io
import json
import struct
import warnings
import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import edgesnn
from edgesnn.format.blob import read_blob, write_blob
from edgesnn.compile.build import reversible_cnn, reversible_mlp
from edgesnn.errors import BlobError, QuantizeError, UnsupportedOpError
from edgesnn.format.intmodel import (
    DTYPE_U8, LF_TARGET_HI, NEURON_IF, NEURON_NONE, OP_CONV2D, OP_COUPLE, OP_DENSE, OP_SUMPOOL2D,
    IntModel, LayerSpec, TensorSpec,
)
from edgesnn.compile.ir import Couple, GraphBuilder
from edgesnn.compile.onnx_import import load_onnx
from edgesnn.compile.pack import pack_graph, pack_onnx
from edgesnn.format.plan import plan_memory
from edgesnn.compile.quantize import quantize_graph
from edgesnn.format.inputs import quantize_input
from edgesnn.format.reference import couple_forward, couple_inverse, run_onestep, run_tstep

STEPS = (1, 4, 16)


def _archs(**kw):
    return {
        "mlp": reversible_mlp((1, 8, 8), width=32, blocks=3, n_classes=10, seed=0, **kw),
        "cnn": reversible_cnn((1, 8, 8), channels=8, blocks=2, n_classes=10, seed=0, **kw),
    }


@pytest.fixture(scope="module")
def packed(digits):
    """name -> (graph, blob) for a reversible MLP and CNN, calibrated on digits. Strong
    couplings and thresholds at the 75th percentile: at T = 1 too, the stem spikes and
    the couplings add counts, so every case below exercises the COUPLE arithmetic."""
    return {name: (g, pack_graph(g, digits[0][:300], steps=16, percentile=75, name=name)[0])
            for name, g in _archs(block_gain=1.0, bias_std=0.3).items()}


@pytest.fixture(scope="module")
def inputs(digits):
    """150 held-out digits and 150 random inputs in the same range."""
    rng = np.random.default_rng(7)
    return np.concatenate([digits[2][:150], rng.uniform(0.0, 1.0, (150, 1, 8, 8))]).astype(np.float32)


def _codes(view, x):
    return quantize_input(np.asarray(x, np.float64), view.input_scale,
                          view.input_zero_point).reshape(len(x), -1)


def _totals(view, q, T, tensor):
    """One-step totals of any tensor of the model (the oracle, output rebound)."""
    return run_onestep(dataclasses.replace(view, output_tensor=tensor), q, T)


# ---------------------------------------------------------------- bit-exactness


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("T", STEPS)
def test_c_runtime_matches_numpy_oracle(packed, inputs, arch, T):
    graph, blob = packed[arch]
    view = read_blob(blob)
    assert view.version == (1, 2)
    assert [l.op for l in view.layers].count(OP_COUPLE) == (6 if arch == "mlp" else 4)
    model = edgesnn.load(blob)
    q = _codes(view, inputs)
    n = len(inputs)
    want_one = run_onestep(view, q, T)
    want_t = run_tstep(view, q, T)
    got_one = model.outputs(inputs, steps=T, mode="onestep").reshape(n, -1)
    got_t = model.outputs(inputs, steps=T, mode="tstep").reshape(n, -1)
    np.testing.assert_array_equal(got_one, want_one)
    np.testing.assert_array_equal(got_t, want_t)
    # one-step == T-step, in the oracle (which simulates the T-step neurons) and in C
    np.testing.assert_array_equal(want_one, want_t)
    np.testing.assert_array_equal(got_one, got_t)
    # the test has teeth: samples differ and every coupling adds counts to its target
    assert len(np.unique(got_one, axis=0)) > n // 2
    moved = [(_totals(view, q, T, l.out) != _totals(view, q, T, l.in0)).mean()
             for l in view.layers if l.op == OP_COUPLE]
    assert min(moved) > 0.005 and max(moved) > 0.02, moved


def test_quantised_reversible_nets_track_the_float_graph(digits, inputs):
    """The builder's default models, packed with the default calibration."""
    for arch, graph in _archs().items():
        blob, report = pack_graph(graph, digits[0][:300], steps=16)
        pred = edgesnn.load(blob).predict(inputs, steps=16)
        agree = float(np.mean(pred == graph.forward(inputs).argmax(axis=1)))
        assert agree >= 0.8, f"{arch}: integer vs float predictions agree on {agree:.2%}"


def test_macs_count_couple_layers(packed):
    view = read_blob(packed["mlp"][1])
    info = edgesnn.load(packed["mlp"][1]).info()
    assert info["format_version"] == "1.2"
    assert info["macs"] == 64 * 32 + 6 * 16 * 16 + 10 * 32
    cnn = edgesnn.load(packed["cnn"][1]).info()
    assert cnn["macs"] == 8 * 9 * 64 + 4 * 4 * 4 * 9 * 64 + 10 * 512
    assert sum(l.weights.size for l in view.layers if l.op == OP_COUPLE) == 6 * 16 * 16


# ---------------------------------------------------------------- inversion


def _wrapping_mlp(digits):
    """Strong couplings and T = 63: totals beyond 255 that wrap around."""
    g = reversible_mlp((1, 8, 8), width=32, blocks=4, n_classes=10, seed=1, block_gain=1.5, bias_std=0.5)
    blob, report = pack_graph(g, digits[0][:300], steps=63)
    return g, blob, report


def test_inverse_is_exact_even_when_totals_wrap(digits):
    g, blob, report = _wrapping_mlp(digits)
    assert any("wrap around" in w for w in report.warnings), report.warnings
    view = read_blob(blob)
    T = 63
    q = _codes(view, digits[2])
    couples = [l for l in view.layers if l.op == OP_COUPLE]
    wrapped = 0
    for layer in couples:
        x, y = _totals(view, q, T, layer.in0), _totals(view, q, T, layer.out)
        np.testing.assert_array_equal(couple_forward(view, layer, x, T), y)
        np.testing.assert_array_equal(couple_inverse(view, layer, y, T), x)
        wrapped += int((y < x).sum())  # target elements that went past 255
    assert wrapped > 0, "no total wrapped around: the test would not exercise mod 256"
    # the whole chain, back from its output to the stem's spike counts
    x = _totals(view, q, T, couples[-1].out)
    for layer in reversed(couples):
        x = couple_inverse(view, layer, x, T)
    np.testing.assert_array_equal(x, _totals(view, q, T, couples[0].in0))
    # the C runtime wraps the same way (no saturation), in both modes
    model = edgesnn.load(blob)
    for mode in ("onestep", "tstep"):
        np.testing.assert_array_equal(model.outputs(digits[2], steps=T, mode=mode).reshape(len(q), -1),
                                      run_onestep(view, q, T))


@pytest.mark.parametrize("rank", [1, 3])
def test_couple_inverse_on_random_totals(rank):
    """Every input totals vector 0..255 comes back, for both targets and both kinds."""
    rng = np.random.default_rng(rank)
    dims = (12,) if rank == 1 else (6, 4, 5)
    h = dims[0] // 2
    wshape = (h, h) if rank == 1 else (h, h, 3, 1)
    kernel = (0,) * 8 if rank == 1 else (3, 1, 1, 1, 1, 0, 1, 0)
    tensors = [TensorSpec("x", DTYPE_U8, dims), TensorSpec("y", DTYPE_U8, dims)]
    x = rng.integers(0, 256, size=(500, int(np.prod(dims))))
    x[:20] = 255  # every positive count wraps these
    for flags in (0, LF_TARGET_HI):
        layer = LayerSpec("c", OP_COUPLE, NEURON_IF, 0, 1, flags=flags, kernel=kernel,
                          weights=rng.integers(-127, 128, wshape).astype(np.int8),
                          bias=rng.integers(-300, 300, h).astype(np.int32),
                          shift=rng.integers(4, 9, h).astype(np.uint8))
        model = IntModel(tensors, [layer], 0, 1, 1.0, 0, 16)
        for T in (1, 16, 63):
            y = couple_forward(model, layer, x, T)
            tgt = slice(x.shape[1] // 2, None) if flags else slice(0, x.shape[1] // 2)
            src = slice(0, x.shape[1] // 2) if flags else slice(x.shape[1] // 2, None)
            np.testing.assert_array_equal(y[:, src], x[:, src])
            assert (y[:, tgt] != x[:, tgt]).any() and (y[:, tgt] < x[:, tgt]).any()  # adds, wraps
            np.testing.assert_array_equal(couple_inverse(model, layer, y, T), x)
            # the T-step neuron's spike count is the one-step count
            np.testing.assert_array_equal(couple_forward(model, layer, x, T, tstep=True), y)


def test_float_couple_inverse():
    g = reversible_cnn((1, 6, 6), channels=6, blocks=2, seed=3)
    x = np.random.default_rng(0).uniform(0, 1, (4, 1, 6, 6))
    vals = g.forward_all(x)
    couples = [n for n in g.nodes if isinstance(n, Couple)]
    y = vals[couples[-1].output]
    for n in reversed(couples):
        y = n.inverse(y)
    np.testing.assert_allclose(y, vals[couples[0].inputs[0]], atol=1e-12)
    assert not np.allclose(vals[couples[-1].output], vals[couples[0].inputs[0]])


# ---------------------------------------------------------------- builder and quantizer


def test_builder_shapes_and_seeds():
    g = reversible_mlp(64, width=16, blocks=2, n_classes=5, seed=4)
    kinds = [n.op for n in g.nodes]
    assert kinds == ["input", "dense", "act", "couple", "couple", "couple", "couple", "dense"]
    assert [n.target_hi for n in g.nodes if isinstance(n, Couple)] == [False, True, False, True]
    assert g.shapes[g.output] == (5,)
    x = np.random.default_rng(0).uniform(0, 1, (3, 64))
    np.testing.assert_array_equal(g.forward(x), reversible_mlp(64, 16, 2, 5, seed=4).forward(x))
    assert not np.array_equal(g.forward(x), reversible_mlp(64, 16, 2, 5, seed=5).forward(x))
    c = reversible_cnn((2, 6, 6), channels=4, blocks=1, n_classes=3, seed=0, kernel=5)
    assert [n.W.shape for n in c.nodes if isinstance(n, Couple)] == [(2, 2, 5, 5)] * 2
    with pytest.raises(ValueError):
        reversible_mlp(64, width=15)


def test_quantizer_chain_unit_and_weights(digits):
    g = reversible_mlp((1, 8, 8), width=16, blocks=1, seed=0)
    model, report = quantize_graph(g, digits[0][:200], steps=16)
    stem, f, gl = model.layers[:3]
    lam = report.layers[0]["lambda"]
    assert report.layers[1]["lambda"] == report.layers[2]["lambda"] == lam
    assert f.op == gl.op == OP_COUPLE and f.flags == 0 and gl.flags == LF_TARGET_HI
    assert f.in0 == stem.out and gl.in0 == f.out and model.layers[3].in0 == gl.out
    node = next(n for n in g.nodes if isinstance(n, Couple))
    k = f.shift.astype(np.int64)
    np.testing.assert_array_equal(f.weights, np.clip(np.rint(node.W * 2.0 ** k[:, None]), -127, 127))
    np.testing.assert_array_equal(f.bias, np.rint(node.b / lam * 2.0 ** k))
    assert f.weights.shape == (8, 8) and f.shift.shape == (8,)


def test_quantizer_warns_about_clipped_f(digits):
    gb = GraphBuilder((1, 8, 8))
    h = gb.relu(gb.dense(gb.flatten(gb.input), np.random.default_rng(0).normal(0, 0.3, (8, 64))))
    big = np.full((4, 4), 2.0)
    h = gb.reversible_block(h, big, np.ones(4), big, np.ones(4), name="blk")
    _, report = quantize_graph(gb.build(h), digits[0][:200], steps=16)
    assert any("blk_f" in w and "clipped at T spikes" in w for w in report.warnings), report.warnings


def test_quantizer_refuses_bad_chains(digits):
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.3, (4, 4))
    gb = GraphBuilder((8,))
    gb.couple(gb.input, w)
    with pytest.raises(QuantizeError, match="must start from the output of a ReLU/Clip"):
        quantize_graph(gb.build(), rng.uniform(0, 1, (20, 8)))
    gb = GraphBuilder((8,))
    h = gb.relu(gb.dense(gb.input, rng.normal(0, 0.3, (8, 8))))
    c = gb.couple(h, w)
    gb.add(gb.dense(h, rng.normal(0, 0.3, (8, 8))), c)
    with pytest.raises(QuantizeError, match="read by it alone"):
        quantize_graph(gb.build(), rng.uniform(0, 1, (20, 8)))
    gb = GraphBuilder((2, 4, 4))
    h = gb.relu(gb.conv(gb.input, rng.normal(0, 0.3, (4, 2, 3, 3)), pads=1))
    h = gb.avgpool(gb.couple(h, rng.normal(0, 0.3, (2, 2, 3, 3))), 2)
    with pytest.raises(QuantizeError, match="reversible block"):
        quantize_graph(gb.build(h), rng.uniform(0, 1, (20, 2, 4, 4)))


def test_plain_and_causal_blobs_keep_their_versions(digits):
    from _graphs import random_mlp
    g = random_mlp(np.random.default_rng(0))
    model, _ = quantize_graph(g, np.random.default_rng(1).uniform(0, 1, (20, 20)), steps=8)
    assert read_blob(write_blob(model, plan_memory(model))).version == (1, 0)
    causal = dataclasses.replace(model, causal=True)
    assert read_blob(write_blob(causal, plan_memory(causal))).version == (1, 1)


# ---------------------------------------------------------------- ONNX import


def _act(kind):
    """ReLU, ReLU6, or clamp(0, 1) (Hardtanh): ONNX Relu, Clip(0, 6), Clip(0, 1)."""
    return {"relu": torch.nn.ReLU, "relu6": torch.nn.ReLU6,
            "clip1": lambda: torch.nn.Hardtanh(0.0, 1.0)}[kind]()


class _Rev(torch.nn.Module):
    """A reversible block as people write it: torch.chunk, two adds, torch.cat."""

    def __init__(self, n, conv=False, act="relu"):
        super().__init__()
        h = n // 2
        if conv:
            self.f = torch.nn.Sequential(torch.nn.Conv2d(h, h, 3, padding=1), torch.nn.BatchNorm2d(h), _act(act))
            self.g = torch.nn.Sequential(torch.nn.Conv2d(h, h, 3, padding=1), _act(act))
        else:
            self.f = torch.nn.Sequential(torch.nn.Linear(h, h), _act(act))
            self.g = torch.nn.Sequential(torch.nn.Linear(h, h), _act(act))

    def forward(self, x):
        x1, x2 = torch.chunk(x, 2, dim=1)
        y1 = x1 + self.f(x2)
        y2 = x2 + self.g(y1)
        return torch.cat([y1, y2], dim=1)


def _torch_net(kind, acts=("clip1", "clip1", "clip1")):
    """Stem, two reversible blocks, readout; acts = (stem, block 1, block 2). With one
    clamp(0, 1) everywhere the SNN's chain unit is 1 and F's clip is the SNN's (T spikes)."""
    torch.manual_seed(0)
    if kind == "mlp":
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), _act(acts[0]),
                                   _Rev(32, act=acts[1]), _Rev(32, act=acts[2]), torch.nn.Linear(32, 10))
    return torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), _act(acts[0]), _Rev(8, True, acts[1]),
                               _Rev(8, True, acts[2]), torch.nn.Flatten(), torch.nn.Linear(512, 10))


def _train(net, x, y, epochs):
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net.eval()


def _export(net, dynamo):
    x = torch.zeros(1, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            return torch.onnx.export(net, (x,), dynamo=True, verbose=False).model_proto
        f = io.BytesIO()
        torch.onnx.export(net, x, f, dynamo=False, input_names=["x"], opset_version=17,
                          dynamic_axes={"x": {0: "n"}})
        return onnx.load_from_string(f.getvalue())


def _ort(proto, x):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1].astype(np.float32)})[0] for i in range(len(x))])


@pytest.fixture(scope="module")
def trained(digits):
    x_tr, y_tr = digits[0], digits[1]
    return {"mlp": _train(_torch_net("mlp"), x_tr, y_tr, 150), "cnn": _train(_torch_net("cnn"), x_tr, y_tr, 60)}


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("dynamo", [False, True])
def test_onnx_relu_relu6_batchnorm_blocks_match_onnxruntime(kind, dynamo):
    """Untrained nets with ReLU and ReLU6 couplings (BatchNorm folded into F of the conv
    blocks): the imported float graph computes what onnxruntime computes."""
    net = _torch_net(kind, ("relu", "relu", "relu6")).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    proto = _export(net, dynamo)
    graph = load_onnx(proto)
    couples = [n for n in graph.nodes if isinstance(n, Couple)]
    assert [(n.act, n.max) for n in couples] == [("relu", None)] * 2 + [("clip", 6.0)] * 2
    x = np.random.default_rng(0).uniform(0, 1, (8, 1, 8, 8))
    np.testing.assert_allclose(graph.forward(x), _ort(proto, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("dynamo", [False, True])
def test_onnx_reversible_block_import(trained, digits, kind, dynamo, tmp_path):
    proto = _export(trained[kind], dynamo)
    ops = {n.op_type for n in proto.graph.node}
    assert ("Split" in ops) if dynamo else ("Slice" in ops and "Shape" in ops)  # what torch emits
    graph = load_onnx(proto)
    assert [n.op for n in graph.nodes].count("couple") == 4
    assert [n.target_hi for n in graph.nodes if isinstance(n, Couple)] == [False, True, False, True]
    x_te, y_te = digits[2], digits[3]
    ref = _ort(proto, x_te)
    np.testing.assert_allclose(graph.forward(x_te), ref, rtol=1e-4, atol=1e-4)
    float_pred = ref.argmax(axis=1)
    assert np.mean(float_pred == y_te) > 0.9, "the trained float model itself should be good"
    path = tmp_path / "rev.onnx"
    onnx.save(proto, str(path))
    blob, report = pack_onnx(str(path), digits[0], digits[1], steps=16, eval_x=x_te, eval_y=y_te)
    assert not [w for w in report.warnings if "clip" in w], report.warnings  # one unit: no clipping
    model = edgesnn.load(blob)
    assert model.info()["format_version"] == "1.2"
    agree = float(np.mean(model.predict(x_te) == float_pred))
    assert agree >= 0.95, f"{kind}: quantised vs float agree on {agree:.2%}"
    np.testing.assert_array_equal(model.predict(x_te, mode="tstep"), model.predict(x_te))


def _bad_export(body):
    class Bad(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.f = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
            self.g = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4),
                                         torch.nn.ReLU())

        def forward(self, x):
            return body(self, *torch.chunk(x, 2, dim=1))

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), Bad()).eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.zeros(1, 8), f, dynamo=False, input_names=["x"], opset_version=17,
                          dynamic_axes={"x": {0: "n"}})
    return onnx.load_from_string(f.getvalue())


def _mul_g(m, x1, x2):
    y1 = x1 + m.f(x2)
    return torch.cat([y1, x2 * m.f(y1)], 1)


def _swapped_cat(m, x1, x2):
    y1 = x1 + m.f(x2)
    y2 = x2 + m.f(y1)
    return torch.cat([y2, y1], 1)


def _deep_g(m, x1, x2):
    y1 = x1 + m.f(x2)
    return torch.cat([y1, x2 + m.g(y1)], 1)


@pytest.mark.parametrize("body, node, what", [
    (_mul_g, "Mul", "second half must be added"),
    (_swapped_cat, "Concat", r"Concat\(\[y1, y2\]\)"),
    (_deep_g, "Add", "G must be one Linear/Conv followed by ReLU/Clip"),
])
def test_onnx_unrecognised_coupling_names_the_node(body, node, what):
    with pytest.raises(UnsupportedOpError, match=rf'node "[^"]+" \(op {node}\): .*{what}.*reversible block'):
        load_onnx(_bad_export(body))


# ---------------------------------------------------------------- hostile blobs


def _patch(blob, fn):
    b = bytearray(blob)
    fn(b)
    total = struct.unpack_from("<I", b, 8)[0]
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:total])))
    return bytes(b)


def _layer_at(blob, i):
    return struct.unpack_from("<I", blob, 28)[0] + 64 * i


def _expect(blob, status):
    with pytest.raises(BlobError) as c_err:
        edgesnn.load(blob)
    with pytest.raises(BlobError) as py_err:
        read_blob(blob)
    assert c_err.value.name == py_err.value.name == status, (str(c_err.value), str(py_err.value))


def _odd_blob():
    """A dense stem of 7 channels and a COUPLE over them (3 x 3 weights)."""
    rng = np.random.default_rng(0)
    t = [TensorSpec("x", DTYPE_U8, (4,)), TensorSpec("h", DTYPE_U8, (7,)), TensorSpec("y", DTYPE_U8, (7,))]
    layers = [LayerSpec("stem", OP_DENSE, NEURON_IF, 0, 1, weights=rng.integers(-9, 9, (7, 4)).astype(np.int8),
                        bias=np.zeros(7, np.int32), shift=np.full(7, 8, np.uint8)),
              LayerSpec("c", OP_COUPLE, NEURON_IF, 1, 2, weights=np.ones((3, 3), np.int8),
                        bias=np.zeros(3, np.int32), shift=np.full(3, 2, np.uint8))]
    m = IntModel(t, layers, 0, 2, 0.01, 0, 8)
    return write_blob(m, plan_memory(m))


def test_hostile_reversible_blobs_are_refused(packed):
    blob = packed["mlp"][1]
    view = read_blob(blob)
    c1 = next(i for i, l in enumerate(view.layers) if l.op == OP_COUPLE)
    lc, l0 = _layer_at(blob, c1), _layer_at(blob, 0)
    readout = len(view.layers) - 1
    bias_off = struct.unpack_from("<I", blob, lc + 28)[0]
    cases = [
        (lambda b: b.__setitem__(lc + 3, 0x09), "ESNN_ERR_RESERVED"),  # TARGET_HI | RESET_ZERO
        (lambda b: b.__setitem__(l0 + 3, LF_TARGET_HI), "ESNN_ERR_RESERVED"),  # on a DENSE
        (lambda b: b.__setitem__(lc + 1, NEURON_NONE), "ESNN_ERR_OP"),
        (lambda b: struct.pack_into("<H", b, 6, 1), "ESNN_ERR_OP"),  # COUPLE in a 1.1 blob
        (lambda b: struct.pack_into("<H", b, 6, 3), "ESNN_ERR_VERSION"),
        (lambda b: struct.pack_into("<H", b, 26, 1), "ESNN_ERR_OP"),  # causal blob
        (lambda b: struct.pack_into("<H", b, lc + 4, view.input_tensor), "ESNN_ERR_GRAPH"),
        # the readout also reads the first COUPLE's input: two readers
        (lambda b: struct.pack_into("<H", b, _layer_at(blob, readout) + 4, view.layers[c1].in0),
         "ESNN_ERR_GRAPH"),
        (lambda b: struct.pack_into("<i", b, bias_off + 4 * 15, 40_000_000), "ESNN_ERR_OVERFLOW"),
        (lambda b: b.__setitem__(lc + 12, 1), "ESNN_ERR_RESERVED"),  # kernel bytes, rank 1
    ]
    for fn, status in cases:
        _expect(_patch(blob, fn), status)
    _expect(_odd_blob(), "ESNN_ERR_SHAPE")
    cnn = packed["cnn"][1]
    lcc = _layer_at(cnn, next(i for i, l in enumerate(read_blob(cnn).layers) if l.op == OP_COUPLE))
    _expect(_patch(cnn, lambda b: b.__setitem__(lcc + 14, 2)), "ESNN_ERR_SHAPE")  # stride 2
    _expect(_patch(cnn, lambda b: b.__setitem__(lcc + 17, 0)), "ESNN_ERR_SHAPE")  # not 'same'
    # the untouched blobs are valid (the cases above fail for their one change)
    edgesnn.load(blob)
    edgesnn.load(cnn)


def test_sum_pool_of_a_couple_output_is_refused_per_call():
    rng = np.random.default_rng(0)
    t = [TensorSpec("x", DTYPE_U8, (2, 4, 4)), TensorSpec("h", DTYPE_U8, (2, 4, 4)),
         TensorSpec("y", DTYPE_U8, (2, 4, 4)), TensorSpec("p", DTYPE_U8, (2, 2, 2))]
    layers = [LayerSpec("stem", OP_CONV2D, NEURON_IF, 0, 1, kernel=(1, 1, 1, 1, 0, 0, 0, 0),
                        weights=rng.integers(-9, 9, (2, 2, 1, 1)).astype(np.int8),
                        bias=np.zeros(2, np.int32), shift=np.full(2, 3, np.uint8)),
              LayerSpec("c", OP_COUPLE, NEURON_IF, 1, 2, kernel=(1, 1, 1, 1, 0, 0, 0, 0),
                        weights=np.ones((1, 1, 1, 1), np.int8), bias=np.zeros(1, np.int32),
                        shift=np.full(1, 0, np.uint8)),
              LayerSpec("pool", OP_SUMPOOL2D, NEURON_NONE, 2, 3, kernel=(2, 2, 2, 2, 0, 0, 0, 0))]
    m = IntModel(t, layers, 0, 3, 0.01, 0, 1)
    blob = write_blob(m, plan_memory(m))
    model = edgesnn.load(blob)  # valid: the rule is per call
    q = np.zeros((1, 2, 4, 4), np.uint8)
    for mode in ("onestep", "tstep"):
        with pytest.raises(BlobError) as err:
            model.outputs(q, steps=1, mode=mode, quantized=True)
        assert err.value.name == "ESNN_ERR_STEPS"
    with pytest.raises(BlobError, match="ESNN_ERR_STEPS"):
        run_onestep(read_blob(blob), q.reshape(1, -1), 1)


# ---------------------------------------------------------------- inspect


def test_inspect_shows_couple_layers(packed, tmp_path, capsys):
    from edgesnn.cli import main
    path = tmp_path / "rev.esnn"
    path.write_bytes(packed["cnn"][1])
    assert main(["inspect", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format_version"] == "1.2"
    couples = [l for l in info["layers"] if l["op"] == "couple"]
    assert [l["target"] for l in couples] == ["lo", "hi", "lo", "hi"]
    assert all(l["neuron"] == "IF" and l["flags"] == [] and l["weights"] == 4 * 4 * 9 for l in couples)
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "couple (target lo)" in text and "couple (target hi)" in text and "v1.2" in text
