"""The numpy integer oracle: one-step == T-step, hand-computed cases, a loop-based re-check."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _graphs import random_conv, random_input, random_mlp, random_residual
from edgesnn.format.blob import read_blob, write_blob
from edgesnn.errors import BlobError
from edgesnn.format.intmodel import (
    DTYPE_I32, DTYPE_U8, NEURON_IF, NEURON_LIF, NEURON_NONE, OP_CONV2D, OP_DENSE,
    OP_SUMPOOL2D, IntModel, LayerSpec, TensorSpec,
)
from edgesnn.compile.ir import GraphBuilder
from edgesnn.format.plan import plan_memory
from edgesnn.compile.quantize import quantize_graph
from edgesnn.format.inputs import quantize_input
from edgesnn.format.reference import run_onestep, run_tstep

FACTORIES = [random_mlp, random_conv, random_residual]


def blob_view(graph, x, steps=16):
    model, _ = quantize_graph(graph, x, steps=steps)
    return read_blob(write_blob(model, plan_memory(model), {}))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 16), which=st.integers(0, 2), steps=st.sampled_from([1, 4, 8, 16]),
       signed=st.booleans())
def test_onestep_equals_tstep(seed, which, steps, signed):
    rng = np.random.default_rng(seed)
    g = FACTORIES[which](rng)
    view = blob_view(g, random_input(rng, g, 32, signed=signed), steps=steps)
    q = rng.integers(0, 256, size=(8,) + tuple(g.input_shape), dtype=np.uint8)
    a, b = run_onestep(view, q, steps), run_tstep(view, q, steps)
    assert a.dtype == np.int64 and a.shape == (8, view.tensors[view.output_tensor].numel)
    np.testing.assert_array_equal(a, b)


def _tiny(neuron=NEURON_IF, leak=0):
    tensors = [TensorSpec("x", DTYPE_U8, (3,)), TensorSpec("h", DTYPE_U8, (2,)), TensorSpec("y", DTYPE_I32, (1,))]
    layers = [
        LayerSpec("fc", OP_DENSE, neuron, 0, 1, leak_shift=leak,
                  weights=np.array([[1, 2, -1], [0, 1, 1]], np.int8), bias=np.array([0, -5], np.int32),
                  shift=np.array([3, 1], np.uint8)),
        LayerSpec("out", OP_DENSE, NEURON_NONE, 1, 2, weights=np.array([[1, -1]], np.int8), bias=np.array([2], np.int32)),
    ]
    return IntModel(tensors, layers, 0, 2, 1.0, 0, 4)


def test_hand_computed_dense():
    m = _tiny()
    q = np.array([[10, 0, 5], [0, 0, 0], [200, 0, 0]], np.uint8)
    # sample 0: a = 4*(10-5) = 20 -> 20>>3 = 2; a1 = 4*(-5+5) = 0 -> 0; out = 4*2 + 2 - 0 = 10
    # sample 1: a1 = -20 -> floor(-20/2) = -10 -> clamped 0; out = 8
    # sample 2: a = 800 -> 100 -> clamped to T = 4; a1 = -20 -> 0; out = 12
    np.testing.assert_array_equal(run_onestep(m, q), [[10], [8], [12]])
    np.testing.assert_array_equal(run_tstep(m, q), [[10], [8], [12]])
    np.testing.assert_array_equal(run_onestep(m, q, steps=8), [[2 * 8 + 5], [16], [16 + 8]])


def test_lif_only_in_tstep_and_never_more_spikes_than_if():
    rng = np.random.default_rng(0)
    gb = GraphBuilder((10,))
    g = gb.build(gb.relu(gb.dense(gb.input, rng.normal(size=(6, 10)), rng.normal(size=6) * 0.1)))
    x = rng.uniform(size=(50, 10))
    model, _ = quantize_graph(g, x, steps=16)
    q = quantize_input(x, model.input_scale, model.input_zero_point)
    if_counts = run_tstep(model, q)
    lif = dataclasses.replace(model, layers=[dataclasses.replace(model.layers[0], neuron=NEURON_LIF, leak_shift=2)])
    lif_counts = run_tstep(lif, q)
    assert (lif_counts <= if_counts).all() and (lif_counts < if_counts).any()
    with pytest.raises(BlobError) as exc:
        run_onestep(lif, q)
    assert exc.value.name == "ESNN_ERR_MODE"


def test_steps_rules():
    rng = np.random.default_rng(1)
    g = random_conv(rng)  # has a 2x2 sum pool: T <= 63 fits, T*4 <= 255
    view = blob_view(g, random_input(rng, g, 8), steps=16)
    q = np.zeros((1,) + tuple(g.input_shape), np.uint8)
    np.testing.assert_array_equal(run_onestep(view, q, 0), run_onestep(view, q, 16))
    with pytest.raises(BlobError, match="STEPS"):
        run_onestep(view, q, 64)
    with pytest.raises(BlobError, match="INPUT_SIZE"):
        run_onestep(view, np.zeros(7, np.uint8))


def loop_onestep(model, q, T):
    """Scalar re-implementation of section 5 (one-step) with explicit loops."""
    vals = {model.input_tensor: [int(v) for v in q.reshape(-1)]}
    for L in model.layers:
        src, dst = model.tensors[L.in0], model.tensors[L.out]
        x = vals[L.in0]
        out = []
        if L.op == OP_DENSE:
            w = L.weights.reshape(L.weights.shape[0], -1)
            cur = [int(L.bias[c]) + sum(int(w[c, j]) * x[j] for j in range(len(x))) for c in range(w.shape[0])]
            a = [T * v if L.in0 == model.input_tensor else T * int(L.bias[c]) + v - int(L.bias[c]) for c, v in enumerate(cur)]
            chans = list(range(len(a)))
        elif L.op in (OP_CONV2D, OP_SUMPOOL2D):
            kh, kw, sh, sw, pt, pl, pb, pr = L.kernel
            C, Ho, Wo = dst.dims
            Cin, H, W = src.dims
            a, chans = [], []
            for c in range(C):
                for oy in range(Ho):
                    for ox in range(Wo):
                        s = 0
                        for ci in ([c] if L.op == OP_SUMPOOL2D else range(Cin)):
                            for dy in range(kh):
                                for dx in range(kw):
                                    y, xx = oy * sh + dy - pt, ox * sw + dx - pl
                                    if 0 <= y < H and 0 <= xx < W:
                                        wv = 1 if L.op == OP_SUMPOOL2D else int(L.weights[c, ci, dy, dx])
                                        s += wv * x[(ci * H + y) * W + xx]
                        if L.op == OP_CONV2D:
                            s = T * (int(L.bias[c]) + s) if L.in0 == model.input_tensor else T * int(L.bias[c]) + s
                        a.append(s)
                        chans.append(c)
        else:
            hw = int(np.prod(dst.dims[1:]))
            y = vals[L.in1]
            a = [int(L.mult[0][i // hw]) * x[i] + int(L.mult[1][i // hw]) * y[i] for i in range(len(x))]
            chans = [i // hw for i in range(len(x))]
        if L.neuron == NEURON_NONE:
            out = a
        else:
            out = [min(max(v >> int(L.shift[c]), 0), T) for v, c in zip(a, chans)]
        vals[L.out] = out
    return vals[model.output_tensor]


@pytest.mark.parametrize("factory", FACTORIES)
def test_against_loop_implementation(factory):
    rng = np.random.default_rng(11)
    g = factory(rng)
    view = blob_view(g, random_input(rng, g, 16, signed=True), steps=8)
    q = rng.integers(0, 256, size=(3,) + tuple(g.input_shape), dtype=np.uint8)
    got = run_onestep(view, q, 8)
    for i in range(3):
        assert got[i].tolist() == loop_onestep(view, q[i], 8)
