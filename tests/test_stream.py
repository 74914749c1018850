"""Streaming execution of causal blobs (issue 13 item 1): `Model.stream_reset`,
`stream_step`, `stream` and `memory("stream")` against the T-step sequence call, bit
for bit, on random causal networks of every neuron kind and on packed snnTorch-style
LIF networks; the arena's independence of T; a 100,000-step stream in one arena; and
refusals that leave the stream's state as it was."""
import dataclasses
import importlib.util
import os

import numpy as np
import pytest

import edgesnn
from _graphs import causal_neurons, random_conv, random_input, random_mlp
from edgesnn.compile.quantize import quantize_graph
from edgesnn.errors import ArenaError, BlobError, ShapeError
from edgesnn.format.blob import write_blob
from edgesnn.format.intmodel import DTYPE_I32, NEURON_LI
from edgesnn.format.plan import plan_memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("bench_stream",
                                               os.path.join(ROOT, "tools", "bench_stream.py"))
bench_stream = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_stream)


def causal_blob(seed: int, sequence: bool, readout: str) -> tuple:
    """A random causal net (as tests/test_causal_bitexact.py builds them): IF/LIF hidden
    layers with random flags and leaks, a NONE or LI readout."""
    rng = np.random.default_rng(seed)
    g = [random_mlp, random_conv][seed % 2](rng)
    model, _ = quantize_graph(g, random_input(rng, g, 32), steps=16)
    assert not any(model.tensors[t].dtype == DTYPE_I32 for layer in model.layers[:-1]
                   for t in layer.inputs)
    layers = causal_neurons(model, rng)
    if readout == "LI":
        layers[-1] = dataclasses.replace(layers[-1], neuron=NEURON_LI,
                                         leak_shift=int(rng.integers(1, 16)))
    model = dataclasses.replace(model, layers=layers, causal=True, sequence=sequence)
    return write_blob(model, plan_memory(model), {}), tuple(g.input_shape), rng


@pytest.mark.parametrize("steps", [1, 16, 63])
@pytest.mark.parametrize("readout", ["NONE", "LI"])
@pytest.mark.parametrize("sequence", [False, True])
def test_stream_equals_sequence_call_random_nets(steps, readout, sequence):
    for seed in range(6):
        blob, shape, rng = causal_blob(seed, sequence, readout)
        m = edgesnn.load(blob)
        q = rng.integers(0, 256, size=(steps,) + shape, dtype=np.uint8)
        if not sequence:
            q[:] = q[0]  # a static input is the same frame at every step
        want = m.simulate(q if sequence else q[0], steps=steps, quantized=True)[0]
        m.stream_reset()
        got = m.stream(q, quantized=True)
        assert got.shape == (steps,) + m.output_shape
        np.testing.assert_array_equal(got[-1], want)
        assert m.stream_steps == steps
        # per step: the running outputs after t steps are the t-step call's totals
        t = max(1, steps // 2)
        want_t = m.simulate(q[:t] if sequence else q[0], steps=t, quantized=True)[0]
        np.testing.assert_array_equal(got[t - 1], want_t)


@pytest.mark.parametrize("readout", ["LI", "LIF"])
@pytest.mark.parametrize("steps", [1, 16, 63])
def test_stream_equals_sequence_call_packed_lif_net(readout, steps):
    """The issue's 6-64-64-4 network packed from a float graph (snnTorch's Leaky:
    STRICT|DELAYED, beta 0.875) with sequence input; LIF: a spiking output, whose
    running spike counts the stream returns."""
    rng = np.random.default_rng(steps)
    x = rng.uniform(0, 1, size=(64, steps, 6))
    blob = edgesnn.compile.pack.pack_snn(bench_stream.net_6_64_64_4(1, readout), x,
                                         steps=steps, sequence=True)[0]
    m = edgesnn.load(blob)
    want = m.simulate(x[:4], steps=steps)
    for i in range(4):
        m.stream_reset()
        got = np.stack([m.stream_step(frame) for frame in x[i]])
        np.testing.assert_array_equal(got[-1], want[i])
        if readout == "LIF":  # running counts never decrease
            assert np.all(np.diff(got, axis=0) >= 0)
    assert steps == 1 or np.abs(want).sum() > 0  # not a trivially silent network


def test_stream_arena_independent_of_T_and_smaller():
    rows = []
    for T in (16, 50, 63):
        m = edgesnn.load(bench_stream.packed(T))
        rows.append((T, m.memory("tstep", T).total, m.memory("stream")))
    for T, seq, st in rows:
        print(f"6-64-64-4 LIF, T={T}: sequence call {seq} B, stream {st.total} B "
              f"({st.persistent} B state + {st.scratch} B one step)")
    assert len({st for _, _, st in rows}) == 1  # the same need whatever T
    assert rows[1][1] == 128 * 50 + 256 == 6656  # the figure for T=50
    st = rows[0][2]
    assert st.total <= 1024 and st.total < rows[0][1]
    # the persistent part is the state: 16 B header + 4 B per hidden neuron and readout
    assert st.persistent == 16 + 4 * (64 + 64 + 4)


def test_stream_100k_steps_one_arena():
    m = edgesnn.load(bench_stream.packed(16))
    m.stream_reset()
    arena, model = m._stream
    need = m.memory("stream").total
    assert arena.size == need + 16  # exactly the need (plus the alignment pad)
    rng = np.random.default_rng(5)
    for _ in range(10):
        out = m.stream(rng.integers(0, 256, size=(10_000, 6), dtype=np.uint8), quantized=True)
    assert m.stream_steps == 100_000
    assert m._stream[0] is arena and m._stream[1] is model and arena.size == need + 16
    assert np.all(np.abs(out) < 2 ** 31)  # an LI readout's value, an int32
    # still the same arithmetic: a reset and 16 frames give the sequence call's outputs
    x = rng.uniform(0, 1, size=(16, 6))
    m.stream_reset()
    np.testing.assert_array_equal(m.stream(x)[-1], m.simulate(x, steps=16)[0])


def test_stream_refusals_leave_state():
    m = edgesnn.load(bench_stream.packed(16))
    x = np.random.default_rng(1).uniform(0, 1, size=(8, 6))
    m.stream_reset()
    m.stream(x[:4])
    arena = m._stream[0].copy()
    with pytest.raises(ShapeError):
        m.stream_step(np.zeros(7))
    with pytest.raises(ShapeError):
        m.stream(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        m.stream_step(np.full(6, np.nan))
    np.testing.assert_array_equal(m._stream[0], arena)
    assert m.stream_steps == 4
    # the batch calls have their own arena: they do not end the stream
    m.simulate(x, steps=8)
    tail = m.stream(x[4:])
    m.stream_reset()
    np.testing.assert_array_equal(m.stream(x)[-1], tail[-1])
    np.testing.assert_array_equal(tail[-1], m.simulate(x, steps=8)[0])
    # an arena too small for the stream: ArenaError with the numbers, at the reset
    need = m.memory("stream").total
    small = edgesnn.load(bench_stream.packed(16), arena_limit=need - 16)
    with pytest.raises(ArenaError, match=f"needs {need} bytes, got {need - 16}"):
        small.stream_reset()
    with pytest.raises(ValueError):
        m.memory("stream", 16)


def test_stream_refuses_non_causal_blob():
    m = edgesnn.load_default()  # the rate-driven digits model
    with pytest.raises(BlobError) as exc:
        m.memory("stream")
    assert exc.value.name == "ESNN_ERR_MODE"
    with pytest.raises(BlobError) as exc:
        m.stream_step(np.zeros(m.input_shape))
    assert exc.value.name == "ESNN_ERR_MODE"
