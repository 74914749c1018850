#!/usr/bin/env python3
"""Fine-tuning memory benchmark: reversible vs stored mode, one run.

For reversible MLPs on digits (stem Dense(64)+ReLU, L reversible blocks = 2L COUPLE
layers, Dense readout) with L in {2, 4, 8, 16} and T in {1, 4, 16, 32}, trains a few
samples (trainable="all") in both modes and prints the scratch high-water mark the C
engine measured in its own arena (the activations kept for the backward pass), the
persistent bytes (blob copy, parameters, gradients, momenta: the same in both modes),
and the ratio stored / reversible. Then times training steps of both modes at L=8,
T=16 in this one process and prints their ratio, and counts the instructions of a
training step of the C engine alone in both modes (valgrind callgrind on
runtime_c/tests/bench_train.c: deterministic, unlike wall time).

Targets (docs/benchmarks.md): reversible scratch max/min <= 1.05 over the grid;
stored/reversible >= 40 at L=8, T=16, growing with L*T.

    python tools/bench_train_memory.py
    python tools/bench_train_memory.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import edgesnn  # noqa: E402
from edgesnn.compile.build import reversible_mlp  # noqa: E402
from edgesnn.data.datasets import load_digits_split  # noqa: E402
from edgesnn.compile.pack import pack_graph  # noqa: E402

BLOCKS = (2, 4, 8, 16)
STEPS = (1, 4, 16, 32)
WIDTH = 64


def measure(blob, x, y, mode, T, n=4):
    m = edgesnn.load(blob)
    res = m.finetune(x[:n], y[:n], epochs=1, trainable="all", mode=mode, steps=T, batch=n)
    return res.memory


def time_steps(blob, x, y, mode, T, n):
    m = edgesnn.load(blob)
    t0 = time.perf_counter()
    m.finetune(x[:n], y[:n], epochs=1, trainable="all", mode=mode, steps=T, batch=10)
    return (time.perf_counter() - t0) / n


def callgrind_step(blob: bytes, mode: str, T: int, n_iter: int = 10) -> float:
    """Instructions per training step (trainable="all") of the C engine, from the
    difference between runs of 1 and 1 + n_iter steps, so set-up is excluded."""
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "runtime_c"), "bench",
                            f"OUT={tmp}"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"building bench_train failed:\n{r.stderr[-2000:]}")
        path = os.path.join(tmp, "model.esnn")
        with open(path, "wb") as f:
            f.write(blob)

        def total(iters):
            r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                os.path.join(tmp, "bench_train"), path, mode, "all", str(T),
                                str(iters)], capture_output=True, text=True)
            m = re.search(r"Collected\s*:\s*(\d+)", r.stderr)
            if r.returncode != 0 or not m:
                raise SystemExit(f"callgrind failed:\n{r.stderr[-2000:]}")
            return int(m.group(1))
        return (total(1 + n_iter) - total(1)) / n_iter


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--time-samples", type=int, default=300, help="samples per mode for the timing")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    args = ap.parse_args(argv)
    x_tr, y_tr, _, _ = load_digits_split()
    rows, blobs = [], {}
    for L in BLOCKS:
        blobs[L] = pack_graph(reversible_mlp((1, 8, 8), width=WIDTH, blocks=L, seed=L),
                              x_tr[:200], steps=16, name=f"rev-mlp-L{L}")[0]
        for T in STEPS:
            rev = measure(blobs[L], x_tr, y_tr, "reversible", T)
            sto = measure(blobs[L], x_tr, y_tr, "stored", T)
            rows.append({"L": L, "T": T, "reversible_scratch": rev["scratch_peak"],
                         "stored_scratch": sto["scratch_peak"],
                         "ratio": sto["scratch_peak"] / rev["scratch_peak"],
                         "persistent": rev["persistent_bytes"],
                         "reversible_query": rev["scratch_bytes"], "stored_query": sto["scratch_bytes"]})
    print(f"scratch high-water (bytes) of fine-tuning, trainable=all, width {WIDTH}")
    print(f"{'L':>3} {'T':>3} {'reversible':>11} {'stored':>9} {'stored/rev':>11} {'persistent':>11}")
    for r in rows:
        print(f"{r['L']:>3} {r['T']:>3} {r['reversible_scratch']:>11} {r['stored_scratch']:>9} "
              f"{r['ratio']:>10.1f}x {r['persistent']:>11}")
    rev = [r["reversible_scratch"] for r in rows]
    spread = max(rev) / min(rev)
    at = next(r for r in rows if r["L"] == 8 and r["T"] == 16)
    grows = all(a["ratio"] < b["ratio"] for a, b in zip(rows, rows[1:]) if a["L"] == b["L"]) and all(
        next(r for r in rows if r["L"] == l1 and r["T"] == t)["ratio"] <
        next(r for r in rows if r["L"] == l2 and r["T"] == t)["ratio"]
        for t in STEPS for l1, l2 in zip(BLOCKS, BLOCKS[1:]))
    t_rev = time_steps(blobs[8], x_tr, y_tr, "reversible", 16, args.time_samples)
    t_sto = time_steps(blobs[8], x_tr, y_tr, "stored", 16, args.time_samples)
    print()
    print(f"reversible scratch max/min over the grid: {spread:.3f} (target <= 1.05)")
    print(f"stored/reversible at L=8, T=16: {at['ratio']:.1f}x (target >= 40x); grows with L and T: {grows}")
    print(f"time per training step at L=8, T=16: reversible {t_rev * 1e6:.0f} us, stored "
          f"{t_sto * 1e6:.0f} us; reversible/stored = {t_rev / t_sto:.2f}x (same process)")
    out = {"rows": rows, "reversible_spread": spread, "ratio_L8_T16": at["ratio"], "grows": grows,
           "time_reversible_s": t_rev, "time_stored_s": t_sto, "time_ratio": t_rev / t_sto}
    if not args.no_callgrind:
        i_rev = callgrind_step(blobs[8], "reversible", 16)
        i_sto = callgrind_step(blobs[8], "stored", 16)
        print(f"instructions per training step at L=8, T=16 (C engine alone, x86-64 -O2, "
              f"callgrind): reversible {i_rev:,.0f}, stored {i_sto:,.0f}; "
              f"reversible/stored = {i_rev / i_sto:.2f}x")
        out.update(instructions_reversible=i_rev, instructions_stored=i_sto,
                   instructions_ratio=i_rev / i_sto)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    ok = spread <= 1.05 and at["ratio"] >= 40 and grows
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
