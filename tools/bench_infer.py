#!/usr/bin/env python3
"""Inference benchmark: edgesnn against its peers on the same digits network, one run.

Times batch-1 inference for edgesnn one-step, edgesnn T-step, onnxruntime float32,
onnxruntime int8 (quantize_static, QDQ) and TensorFlow Lite Micro int8 (the PyPI
tflite-micro wheel), all built from the same ONNX model and measured in this one
process, and prints ratios against edgesnn one-step. Wall times on a shared machine
are noisy; the ratios within one run and the instruction counts are what to quote.

Instruction counts come from valgrind (callgrind) on runtime_c's bench_invoke, i.e.
the C core alone, as the difference between runs of 1 and 1+N inferences so start-up
is excluded.

    python tools/bench_infer.py                # table + callgrind (needs valgrind)
    python tools/bench_infer.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import edgesnn  # noqa: E402
from edgesnn.data.datasets import load_digits_split  # noqa: E402
from edgesnn.compile.pack import pack_onnx  # noqa: E402

import peers  # noqa: E402


def measure_wall(onnx_path, steps, n_samples, repeat):
    x_tr, y_tr, x_te, y_te = load_digits_split()
    blob, _ = pack_onnx(onnx_path, x_tr, y_tr, steps=16)
    model = edgesnn.load(blob)
    xs = x_te[:n_samples]
    q = model.quantize(xs).reshape(len(xs), -1)
    rows = []

    def add(name, predict, per_call, arena=None):
        acc = float(np.mean(predict(x_te) == y_te))
        rows.append({"runtime": name, "accuracy": acc, "us": 1e6 * per_call, "arena": arena})

    one, sim = model.invoker("onestep", steps), model.invoker("tstep", steps)
    add("edgesnn one-step", lambda x: model.predict(x, steps=steps),
        peers.time_per_call(one, list(q), repeat), model.memory("onestep", steps).total)
    add(f"edgesnn T-step (T={steps})", lambda x: model.predict(x, steps=steps, mode="tstep"),
        peers.time_per_call(sim, list(q), repeat), model.memory("tstep", steps).total)
    ortf = peers.ort_float_session(onnx_path)
    add("onnxruntime float32", ortf.predict, ortf.time_per_inference(xs, repeat))
    orti = peers.ort_int8_session(onnx_path, x_tr[:200])
    add("onnxruntime int8", orti.predict, orti.time_per_inference(xs, repeat))
    tflm = peers.tflm_session(peers.tflm_model_from_onnx(onnx_path, x_tr[:200]))
    add("tflite-micro int8", tflm.predict, tflm.time_per_inference(xs, repeat), tflm.arena_bytes())
    return model, rows


def build_bench_invoke(model):
    """runtime_c's bench_invoke (-O2) plus the model and one digit written beside it."""
    out_dir = tempfile.mkdtemp(prefix="esnn_bench_")
    r = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "runtime_c"), "bench",
                        f"OUT={out_dir}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"building bench_invoke failed:\n{r.stderr}")
    exe = os.path.join(out_dir, "bench_invoke")
    blob_path, in_path = os.path.join(out_dir, "m.esnn"), os.path.join(out_dir, "x.bin")
    with open(blob_path, "wb") as f:
        f.write(model.blob)
    _, _, x_te, _ = load_digits_split()
    with open(in_path, "wb") as f:
        f.write(model.quantize(x_te[:1]).tobytes())
    return exe, blob_path, in_path


def native_wall_times(bench, steps, iters=20000):
    """Wall time per inference of the C core alone (no Python), both modes, one run."""
    exe, blob_path, in_path = bench
    out = {}
    for mode in ("onestep", "tstep"):
        r = subprocess.run([exe, blob_path, in_path, mode, str(steps), str(iters)],
                           capture_output=True, text=True, check=True)
        out[mode] = float(re.search(r"ns_per_inference ([\d.]+)", r.stdout).group(1)) / 1000.0
    return out


def callgrind_instructions(bench, steps, n_iter=10):
    """Instructions per inference of the C core for each mode (valgrind callgrind)."""
    exe, blob_path, in_path = bench

    def total(mode, iters):
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            exe, blob_path, in_path, mode, str(steps), str(iters)],
                           capture_output=True, text=True)
        m = re.search(r"Collected\s*:\s*(\d+)", r.stderr)
        if r.returncode != 0 or not m:
            raise SystemExit(f"callgrind failed:\n{r.stderr[-2000:]}")
        return int(m.group(1))

    return {mode: (total(mode, 1 + n_iter) - total(mode, 1)) / n_iter
            for mode in ("onestep", "tstep")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "edgesnn", "models", "digits_cnn.onnx"))
    ap.add_argument("--steps", type=int, default=8, help="T for the T-step run and one-step")
    ap.add_argument("--samples", type=int, default=200, help="batch-1 calls per timing pass")
    ap.add_argument("--repeat", type=int, default=7, help="timing passes (median taken)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)

    model, rows = measure_wall(args.model, args.steps, args.samples, args.repeat)
    base = rows[0]["us"]
    print(f"model {os.path.basename(args.model)}: {model.info()['macs']} MACs per inference, "
          f"batch 1, {args.samples} samples x {args.repeat} passes (median)")
    print(f"{'runtime':<26} {'accuracy':>8} {'us/inf':>8} {'x one-step':>10} {'arena B':>8}")
    for r in rows:
        arena = "-" if r["arena"] is None else str(r["arena"])
        print(f"{r['runtime']:<26} {100 * r['accuracy']:>7.2f}% {r['us']:>8.2f} "
              f"{r['us'] / base:>10.2f} {arena:>8}")
    print(f"(edgesnn arena excludes the {_model_struct_bytes()}-byte esnn_model struct the "
          "caller also owns; tflite-micro's includes its interpreter structures)")
    result = {"model": os.path.basename(args.model), "steps": args.steps, "rows": rows,
              "macs": model.info()["macs"]}
    bench = build_bench_invoke(model)
    native = native_wall_times(bench, args.steps)
    print(f"C core alone, wall (x86-64 -O2, 20000 calls): one-step {native['onestep']:.2f} us, "
          f"T-step (T={args.steps}) {native['tstep']:.2f} us; T-step / one-step = "
          f"{native['tstep'] / native['onestep']:.2f}x")
    result["native_us"] = native
    if not args.no_callgrind:
        ins = callgrind_instructions(bench, args.steps)
        macs = model.info()["macs"]
        print(f"callgrind, C core alone (x86-64 -O2): one-step {ins['onestep']:.0f} "
              f"instructions/inference ({ins['onestep'] / macs:.2f} per MAC), T-step (T={args.steps}) "
              f"{ins['tstep']:.0f}; T-step / one-step = {ins['tstep'] / ins['onestep']:.2f}x")
        result["instructions"] = ins
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def _model_struct_bytes():
    from edgesnn._esnn import ffi
    return ffi.sizeof("esnn_model")


if __name__ == "__main__":
    sys.exit(main())
