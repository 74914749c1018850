"""Acceptance: the C core (through cffi) and the independent numpy oracle agree on
every output, and one-step equals the explicit T-step simulation bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import edgesnn
from edgesnn.format.blob import read_blob
from edgesnn.format.reference import run_onestep, run_tstep

ARCHS = ["mlp", "conv", "residual"]


def _inputs(model, digits, random_inputs):
    x = np.concatenate([digits[2], random_inputs])  # 450 held-out digits + 1,000 random
    assert x.shape[0] == 1450
    return model.quantize(x)


@pytest.mark.parametrize("arch", ARCHS)
def test_c_core_matches_numpy_oracle_onestep(arch, packed_archs, digits, random_inputs):
    blob = packed_archs[arch]
    model = edgesnn.load(blob)
    q = _inputs(model, digits, random_inputs)
    c_out = model.outputs(q, quantized=True).reshape(len(q), -1)
    ref = run_onestep(read_blob(blob), q, 0)
    np.testing.assert_array_equal(c_out, ref)
    assert np.count_nonzero(c_out) > 0.1 * c_out.size  # not a trivially silent network


@pytest.mark.parametrize("arch", ARCHS)
def test_c_core_matches_numpy_oracle_tstep(arch, packed_archs, digits, random_inputs):
    blob = packed_archs[arch]
    model = edgesnn.load(blob)
    q = _inputs(model, digits, random_inputs)[::5]  # the oracle's T-step loop is slow
    c_out = model.simulate(q, steps=8, quantized=True).reshape(len(q), -1)
    np.testing.assert_array_equal(c_out, run_tstep(read_blob(blob), q, 8))


def test_shipped_model_matches_numpy_oracle(default_model, digits, random_inputs):
    q = _inputs(default_model, digits, random_inputs)
    c_out = default_model.outputs(q, quantized=True).reshape(len(q), -1)
    np.testing.assert_array_equal(c_out, run_onestep(read_blob(default_model.blob), q, 0))


@pytest.mark.parametrize("steps", [1, 4, 8, 16])
@pytest.mark.parametrize("arch", ARCHS + ["shipped"])
def test_onestep_equals_tstep(arch, steps, packed_archs, default_model, digits):
    model = default_model if arch == "shipped" else edgesnn.load(packed_archs[arch])
    x = digits[2]
    one = model.outputs(x, steps=steps)
    sim = model.simulate(x, steps=steps)
    np.testing.assert_array_equal(one, sim)
    np.testing.assert_array_equal(model.predict(x, steps=steps),
                                  model.predict(x, steps=steps, mode="tstep"))


def test_hidden_spike_counts_equal_between_modes(digits):
    """Not only the readout: a model cut after its first IF layer outputs raw spike
    counts, and those agree too (T-step counts real spikes)."""
    from edgesnn.compile.ir import GraphBuilder
    from edgesnn.compile.pack import pack_graph

    rng = np.random.default_rng(5)
    gb = GraphBuilder((1, 8, 8))
    h = gb.relu(gb.conv(gb.input, rng.normal(0, 0.5, (4, 1, 3, 3)), rng.normal(0, 0.1, 4), pads=1))
    blob, _ = pack_graph(gb.build(h), digits[0][:200], steps=16)
    model = edgesnn.load(blob)
    for steps in (1, 4, 8, 16):
        one = model.outputs(digits[2], steps=steps)
        assert one.dtype == np.int64 and one.max() <= steps and one.max() > 0
        np.testing.assert_array_equal(one, model.simulate(digits[2], steps=steps))
