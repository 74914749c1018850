"""Issue 4, shifted-domain scenario (tools/finetune_demo.py, edgesnn/data/shifts.py).

The full scenario runs here, not a reduced one: the shipped model, each of the three
shifts, 200 labelled shifted training digits, the 450 held-out shifted digits, the
demo's acceptance plan ("all" then "head", one setting for every shift) and the float
oracle (PyTorch, every parameter of the same network fine-tuned on the same samples).
torch and onnx are test dependencies: imported unconditionally, never skipped.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import onnx  # noqa: F401  (hard requirement of the oracle)
import pytest
import torch  # noqa: F401  (hard requirement of the oracle)

from edgesnn.data import shifts
from edgesnn.data.shifts import SHIFTS, shifted_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def demo():
    return _load("finetune_demo")


@pytest.fixture(scope="module")
def report(demo):
    return demo.run(plans=[demo.ACCEPTANCE_PLAN])


# ---------------------------------------------------------------- the shifts themselves


def test_shift_definitions():
    x = np.zeros((2, 1, 8, 8), np.float32)
    x[0, 0, 3, 4] = 1.0
    x[1, 0, 7, 7] = 0.5
    m = shifts.misalign(x)
    assert m[0, 0, 4, 5] == 1.0 and m[0].sum() == 1.0      # 1 down, 1 right
    assert m[1].sum() == 0.0                                 # pushed out, zero fill
    t = shifts.thick(x)
    assert t[0, 0, 2:4, 3:5].tolist() == [[1.0, 1.0], [1.0, 1.0]] and t[0].sum() == 4.0
    assert t[1, 0, 6:8, 6:8].tolist() == [[0.5, 0.5], [0.5, 0.5]] and t[1].sum() == 2.0
    g = shifts.gain(x)
    assert np.allclose(g[0, 0, 0, 0], 0.35) and np.allclose(g[0, 0, 3, 4], 0.85)
    for name, f in SHIFTS.items():
        y = f(x)
        assert y.shape == x.shape and y.dtype == np.float32, name
        assert y.min() >= 0.0 and y.max() <= 1.0, name
    with pytest.raises(ValueError):
        shifts.apply("blur", x)
    with pytest.raises(ValueError):
        shifts.gain(np.zeros((2, 8, 8)))


def test_shifted_split_is_deterministic_and_small(digits):
    x_tr, y_tr, x_te, y_te = digits
    for name in SHIFTS:
        a = shifted_split(name)
        b = shifted_split(name)
        for u, v in zip(a, b):
            assert np.array_equal(u, v), name
        x_ft, y_ft, x_ev, y_ev = a
        assert x_ft.shape == (200, 1, 8, 8) and y_ft.shape == (200,)
        assert np.bincount(y_ft, minlength=10).tolist() == [20] * 10   # class-balanced
        assert np.array_equal(y_ev, y_te) and x_ev.shape == x_te.shape  # the 450 held out
        assert np.array_equal(x_ev, SHIFTS[name](x_te))
        # the fine-tuning samples are shifted training digits, none from the test split
        idx = shifts.select_balanced(y_tr, 200, 0)
        assert np.array_equal(x_ft, SHIFTS[name](x_tr[idx]))
    assert len(shifted_split("gain", n_train=37)[1]) == 37
    assert not np.array_equal(shifted_split("gain", seed=1)[1], shifted_split("gain")[1])


# ---------------------------------------------------------------- the scenario


def test_shifts_cost_at_least_15_points(report, demo):
    for r in report["shifts"]:
        assert r["clean"] > 0.99, r["shift"]
        assert r["clean"] - r["untuned"] >= demo.MIN_COST, (r["shift"], r["untuned"])


def test_finetuned_beats_untuned_by_10_points(report):
    for r in report["shifts"]:
        res = r["results"]["all+head"]
        assert res["accuracy"] - r["untuned"] >= 0.10, (r["shift"], res["accuracy"], r["untuned"])


def test_finetuned_within_3_points_of_float_oracle(report):
    for r in report["shifts"]:
        res = r["results"]["all+head"]
        assert r["oracle"] - res["accuracy"] <= 0.03, (r["shift"], res["accuracy"], r["oracle"])


def test_oracle_is_a_real_oracle(report):
    """The oracle learnt the shift: far above the float network before fine-tuning."""
    for r in report["shifts"]:
        assert r["oracle"] - r["float_untuned"] >= 0.3, r["shift"]
        assert r["oracle"] >= 0.9, r["shift"]


def test_report_bookkeeping(report, demo):
    assert report["acceptance"] is True
    assert report["n_train"] <= 200
    for r in report["shifts"]:
        assert r["n_train"] == 200 and r["n_eval"] == 450
        res = r["results"]["all+head"]
        assert res["pass"] and res["pass_untuned"] and res["pass_oracle"]
        assert res["saturated"] == 0
        mem = res["memory"]
        assert 0 < mem["scratch_peak"] <= mem["scratch_bytes"] <= mem["arena_bytes"]
    text = demo.format_report(report)
    assert text.count("| all+head |") == 3 and "acceptance" in text and "PASS" in text


def test_demo_cli_json(demo, capsys):
    """The CLI path (one shift, head only, fewer samples to stay quick) prints valid JSON."""
    import json

    rc = demo.main(["--json", "--shift", "misalign", "--plan", "head", "--n-train", "100"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["n_train"] == 100 and [r["shift"] for r in out["shifts"]] == ["misalign"]
    assert set(out["shifts"][0]["results"]) == {"head"}
    assert out["acceptance_plan"] is None
    with pytest.raises(SystemExit):
        demo.main(["--n-train", "201"])
