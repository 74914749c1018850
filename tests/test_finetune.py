"""The fine-tuning engine (runtime_c/src/esnn_train_*.c) through its Python API:
gradients against an independent PyTorch autograd implementation, reversible == stored,
exact arena queries, the 64 KB budget of the default model, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from _torch_oracle import TorchOracle

import edgesnn
from edgesnn.errors import ArenaError, ShapeError
from edgesnn.runtime.finetune import Trainer, TrainError


def shifted(x):
    """A sensor gain/offset drift: the default model loses most of its accuracy."""
    return np.clip(x * 0.5 + 0.35, 0.0, 1.0)


def relerr(c, ref):
    return float(np.abs(c.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30))


def check_grads(blob: bytes, x, y, trainable="all", surrogate="sigmoid", slope=None, steps=None):
    """C gradients (float32, summed over the samples, lr = 0) vs the torch oracle (float64)."""
    m = edgesnn.load(blob)
    q = m.input_codes(x, False)
    tr = Trainer(m, trainable=trainable, lr=0.0, momentum=0.0, batch=10_000, steps=steps,
                 surrogate=surrogate, slope=slope)
    for i in range(len(q)):
        tr.sample(q[i], int(y[i]))
    oracle = TorchOracle(blob, tr.T, float(tr.cfg.logit_scale), surrogate, float(tr.cfg.slope))
    ref = oracle.grads(q, y)
    compared = 0
    for layer, (gw, gb) in ref.items():
        cw, cb = tr.grads(layer)
        for c, r in ((cw, gw), (cb, gb)):
            if c is None:
                continue
            assert np.abs(r).max() > 0, f"layer {layer}: the oracle's gradient is all zero"
            assert relerr(c, r) <= 1e-4, f"layer {layer}: relative error {relerr(c, r):.2e}"
            compared += 1
    return compared


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("surrogate,slope", [("sigmoid", None), ("atan", 3.0)])
def test_gradients_match_torch_autograd(packed_archs, digits, arch, surrogate, slope):
    x, y = shifted(digits[0][:24]), digits[1][:24]
    n = check_grads(packed_archs[arch], x, y, surrogate=surrogate, slope=slope)
    assert n >= 4  # weights and biases of at least two layers were compared


def test_gradients_of_default_model_at_other_T(default_model, digits):
    x, y = shifted(digits[0][:16]), digits[1][:16]
    assert check_grads(default_model.blob, x, y, steps=5) == 6


def test_head_and_bias_subsets_train_only_their_parameters(default_model, digits):
    q = default_model.input_codes(shifted(digits[0][:4]), False)
    for trainable, expect in (("head", {4: (True, True)}),
                              ("bias", {0: (False, True), 2: (False, True), 4: (False, True)})):
        tr = Trainer(default_model, trainable=trainable, lr=0.0, batch=100)
        for i in range(4):
            tr.sample(q[i], int(digits[1][i]))
        for layer in range(5):
            gw, gb = tr.grads(layer)
            w, b = expect.get(layer, (False, False))
            assert (gw is not None) == w and (gb is not None) == b, (trainable, layer)


@pytest.mark.parametrize("trainable", ["head", "bias", "all"])
def test_reversible_and_stored_give_identical_updates(default_model, digits, trainable):
    x, y = shifted(digits[0][:60]), digits[1][:60]
    blobs, mem = {}, {}
    for mode in ("reversible", "stored"):
        m = edgesnn.load(default_model.blob)
        res = m.finetune(x, y, epochs=2, trainable=trainable, mode=mode, batch=6)
        blobs[mode], mem[mode] = res.blob, res.memory
        assert res.updates == 20
    assert blobs["reversible"] == blobs["stored"]
    assert blobs["reversible"] != default_model.blob  # something was learned
    assert mem["stored"]["scratch_peak"] > 5 * mem["reversible"]["scratch_peak"]


def test_finetune_improves_a_shifted_domain_and_save_round_trips(default_model, digits, tmp_path):
    x_tr, y_tr, x_te, y_te = digits
    m = edgesnn.load(default_model.blob)
    before = float(np.mean(m.predict(shifted(x_te)) == y_te))
    res = m.finetune(shifted(x_tr[:200]), y_tr[:200], epochs=6, trainable="head", batch=10)
    after = float(np.mean(m.predict(shifted(x_te)) == y_te))
    assert after >= before + 0.3, (before, after)
    assert len(res.history) == 6 and res.history[-1]["loss"] < res.history[0]["loss"]
    path = tmp_path / "tuned.esnn"
    m.save(str(path))
    again = edgesnn.load(str(path))
    assert again.blob == res.blob
    assert np.array_equal(again.predict(shifted(x_te)), m.predict(shifted(x_te)))
    # one-step and T-step still agree bit for bit on the re-quantised weights
    assert np.array_equal(again.outputs(x_te[:50]), again.simulate(x_te[:50]))


@pytest.mark.parametrize("trainable", ["head", "bias", "all"])
def test_default_model_finetuning_fits_64k(default_model, trainable):
    need = default_model.finetune_memory(trainable=trainable, mode="reversible")
    assert need["arena_bytes"] <= 64 * 1024
    assert need["arena_bytes"] == need["persistent_bytes"] + need["scratch_bytes"]


def test_arena_query_is_exact_and_peaks_are_measured(default_model, digits):
    need = default_model.finetune_memory(trainable="all", mode="reversible")
    tight = edgesnn.load(default_model.blob, arena_limit=need["arena_bytes"])
    res = tight.finetune(digits[0][:10], digits[1][:10], epochs=1, trainable="all")
    assert res.memory["arena_bytes"] == need["arena_bytes"]
    # measured high-water marks: within the query, and the scratch one close to it
    assert 0 < res.memory["scratch_peak"] <= need["scratch_bytes"]
    assert res.memory["scratch_peak"] >= need["scratch_bytes"] // 2
    assert need["persistent_bytes"] - 16 <= res.memory["persistent_peak"] <= need["persistent_bytes"]
    short = edgesnn.load(default_model.blob, arena_limit=need["arena_bytes"] - 1)
    with pytest.raises(ArenaError, match=str(need["arena_bytes"])):
        short.finetune(digits[0][:10], digits[1][:10], epochs=1, trainable="all")
    assert short.blob == default_model.blob


def test_bad_input_is_refused_and_the_model_is_untouched(default_model, digits):
    x, y = digits[0][:20], digits[1][:20]
    m = edgesnn.load(default_model.blob)
    with pytest.raises(ValueError, match="label 10 of sample 3"):
        m.finetune(x, np.where(np.arange(20) == 3, 10, y), epochs=1)
    with pytest.raises(ValueError, match="outside"):
        m.finetune(x, -np.ones(20, int), epochs=1)
    with pytest.raises(ShapeError):
        m.finetune(x[:, :, :7], y, epochs=1)
    with pytest.raises(ShapeError, match="labels"):
        m.finetune(x, y[:19], epochs=1)
    bad = x.copy()
    bad[5, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.finetune(bad, y, epochs=1)
    bad[5, 0, 3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        m.finetune(bad, y, epochs=1)
    for kw in ({"lr": float("inf")}, {"lr": -1.0}, {"momentum": 1.0}, {"trainable": "conv"},
               {"mode": "bptt"}, {"surrogate": "relu"}, {"batch": 0}):
        with pytest.raises(ValueError):
            m.finetune(x, y, epochs=1, **kw)
    assert m.blob == default_model.blob
    # the C engine's own label check, below the Python one
    tr = Trainer(m, trainable="head")
    with pytest.raises(TrainError, match="label 10 out of range 0..9"):
        tr.sample(m.input_codes(x[:1], False)[0], 10)


def test_huge_learning_rate_saturates_instead_of_wrapping(default_model, digits):
    x, y = shifted(digits[0][:20]), digits[1][:20]
    m = edgesnn.load(default_model.blob)
    # max_saturated=None: past the limit that stops a run (test_hostile_blobs.py), to see
    # the engine clamp rather than wrap
    res = m.finetune(x, y, epochs=1, lr=1e30, trainable="all", batch=5, max_saturated=None)
    assert res.saturated > 0
    from edgesnn.format.blob import read_blob
    view = read_blob(res.blob)  # re-validated by the C loader inside finetune as well
    for layer in view.layers:
        if layer.weights is not None:
            assert np.abs(np.asarray(layer.weights, dtype=np.int16)).max() <= 127
    assert edgesnn.load(res.blob).predict(x).shape == (20,)


def test_models_that_cannot_be_trained_say_why(packed_archs, digits):
    m = edgesnn.load(packed_archs["residual"])  # ADD layers
    with pytest.raises(TrainError, match="cannot be fine-tuned: layer"):
        m.finetune(digits[0][:4], digits[1][:4], epochs=1)


@pytest.mark.parametrize("arch", ["rev_mlp", "rev_cnn"])
def test_reversible_gradients_match_torch_autograd(reversible_blobs, digits, arch):
    x, y = digits[0][:20], digits[1][:20]
    assert check_grads(reversible_blobs[arch], x, y) >= 10


@pytest.mark.parametrize("arch", ["rev_mlp", "rev_cnn"])
def test_reconstruction_is_bit_exact_over_whole_runs(reversible_blobs, digits, arch):
    """Verify mode stores everything too and compares every reconstructed COUPLE input and
    every replayed membrane with the stored one, over a whole fine-tuning run."""
    blob = reversible_blobs[arch]
    x, y = shifted(digits[0][:60]), digits[1][:60]
    res = {}
    for mode, verify in (("reversible", True), ("reversible", False), ("stored", False)):
        m = edgesnn.load(blob)
        res[(mode, verify)] = m.finetune(x, y, epochs=2, trainable="all", mode=mode,
                                         verify=verify, batch=4)
    checked = res[("reversible", True)]
    assert checked.verify_checks > 100_000 and checked.verify_mismatches == 0
    # verify changes nothing, and the stored baseline takes exactly the same steps
    assert checked.blob == res[("reversible", False)].blob == res[("stored", False)].blob
    assert res[("stored", False)].memory["scratch_peak"] > 4 * res[("reversible", False)].memory["scratch_peak"]


def test_memory_benchmark_meets_its_targets(capsys):
    """tools/bench_train_memory.py: byte counts measured in the engine's own arena, so the
    targets are deterministic (its timing line is printed, never asserted)."""
    import importlib.util
    import os

    from conftest import ROOT
    spec = importlib.util.spec_from_file_location(
        "bench_train_memory", os.path.join(ROOT, "tools", "bench_train_memory.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--time-samples", "20"]) == 0
    out = capsys.readouterr().out
    assert "max/min over the grid: 1.000" in out


def test_inspect_reports_the_finetuning_arena(default_model, packed_archs, tmp_path, capsys):
    import json

    from edgesnn.cli import main
    path = tmp_path / "m.esnn"
    path.write_bytes(default_model.blob)
    assert main(["inspect", str(path), "--json"]) == 0
    ft = json.loads(capsys.readouterr().out)["finetune"]
    assert ft["all"] == default_model.finetune_memory(trainable="all")
    assert ft["head"]["arena_bytes"] < ft["all"]["arena_bytes"]
    path.write_bytes(packed_archs["residual"])
    assert main(["inspect", str(path)]) == 0
    assert "fine-tuning: this model cannot be fine-tuned: layer" in capsys.readouterr().out
