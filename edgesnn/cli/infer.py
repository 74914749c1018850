"""`edgesnn infer`: run a model on samples with the host runtime."""
from __future__ import annotations

import time

import numpy as np

from ..runtime import load
from .data import load_xy
from .output import emit_json

NAME = "infer"
HELP = "Run inference on samples (one-step by default, or the explicit T-step simulation)."
EXAMPLE = """example:
  edgesnn infer digits.esnn --input samples.npy
  edgesnn infer digits.esnn --input digits --mode tstep --steps 8 --json
(--input takes X.npy, DATA.npz with x [and y], or `digits` for the held-out digits)"""


def add_arguments(p):
    p.add_argument("model", help="the .esnn model file")
    p.add_argument("--input", "-i", required=True, help="X.npy, DATA.npz (x, y) or `digits`")
    p.add_argument("--mode", choices=["onestep", "tstep"], default="onestep")
    p.add_argument("--steps", "-T", type=int, default=None, help="time steps T (default: the model's)")
    p.add_argument("--quantized", action="store_true",
                   help="the input is already uint8 codes (skip input quantisation)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    model = load(args.model)
    x, y = load_xy(args.input)
    t0 = time.perf_counter()
    out = model.outputs(x, steps=args.steps, mode=args.mode, quantized=args.quantized)
    elapsed = time.perf_counter() - t0
    pred = out.reshape(out.shape[0], -1).argmax(axis=1)
    acc = float(np.mean(pred == y)) if y is not None else None
    steps = args.steps or model.default_steps
    if args.json:
        emit_json({"mode": args.mode, "steps": steps, "predictions": pred,
                   "outputs": out.reshape(out.shape[0], -1), "accuracy": acc,
                   "seconds": elapsed})
        return 0
    shown = min(len(pred), 10)
    for i in range(shown):
        print(f"sample {i}: class {pred[i]}  outputs {out[i].reshape(-1).tolist()}")
    if len(pred) > shown:
        print(f"... {len(pred) - shown} more samples")
    print(f"{len(pred)} samples, {args.mode} T={steps}, "
          f"{1e6 * elapsed / max(1, len(pred)):.1f} us/sample")
    if acc is not None:
        print(f"accuracy: {100 * acc:.2f}%")
    return 0
