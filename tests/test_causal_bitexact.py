"""Causal dynamics (format 1.1): the C core against the numpy oracle, bit for bit, on
random architectures with random neuron flags and leaks, plus the 1.0 invariants."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesnn
from _graphs import causal_neurons, random_conv, random_input, random_mlp, random_residual
from edgesnn.format.blob import read_blob, write_blob
from edgesnn.errors import BlobError
from edgesnn.format.intmodel import DTYPE_I32
from edgesnn.format.plan import plan_memory
from edgesnn.compile.quantize import quantize_graph
from edgesnn.format.reference import run_tstep

FACTORIES = [random_mlp, random_conv, random_residual]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), which=st.integers(0, 2), steps=st.sampled_from([1, 3, 8, 16]))
def test_causal_c_equals_oracle(seed, which, steps):
    rng = np.random.default_rng(seed)
    g = FACTORIES[which](rng)
    model, _ = quantize_graph(g, random_input(rng, g, 32), steps=steps)
    if any(model.tensors[t].dtype == DTYPE_I32 for layer in model.layers[:-1] for t in layer.inputs):
        model = dataclasses.replace(model, causal=True)
        with pytest.raises(BlobError) as exc:  # a causal blob cannot read an I32 current
            read_blob(write_blob(model, plan_memory(model), {}))
        assert exc.value.name == "ESNN_ERR_DTYPE"
        return
    layers = causal_neurons(model, rng)
    model = dataclasses.replace(model, layers=layers, causal=True)
    blob = write_blob(model, plan_memory(model), {})
    view = read_blob(blob)
    assert view.version == (1, 1) and view.causal
    m = edgesnn.load(blob)
    q = rng.integers(0, 256, size=(6,) + tuple(g.input_shape), dtype=np.uint8)
    want = run_tstep(view, q, steps)
    got = m.simulate(q, steps=steps, quantized=True).reshape(6, -1)
    np.testing.assert_array_equal(got, want)
    # the size query is exact: the arena the C core asked for is enough, one byte less is not
    need = m.memory("tstep", steps).total
    small = edgesnn.load(blob, arena_limit=need - 1)
    with pytest.raises(edgesnn.errors.ArenaError):
        small.simulate(q[:1], steps=steps, quantized=True)


def test_plain_blobs_stay_version_1_0():
    rng = np.random.default_rng(0)
    g = random_mlp(rng)
    model, _ = quantize_graph(g, random_input(rng, g, 16), steps=8)
    view = read_blob(write_blob(model, plan_memory(model), {}))
    assert view.version == (1, 0) and not view.causal
    m = edgesnn.load(edgesnn.runtime.model.default_model_path())
    assert m.info()["format_version"] == "1.0" and not m.causal
