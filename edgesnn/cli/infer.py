"""`edgesnn infer`: run a model on samples with the host runtime, or on a board (--port)."""
from __future__ import annotations

import time

import numpy as np

from ..errors import EdgesnnError
from ..runtime.model import load
from . import numbers
from .board_args import add_port_arguments, open_board
from .data import SENSOR_HELP, check_sequence_input, load_xy
from .output import emit_json

NAME = "infer"
HELP = "Run inference on samples (one-step by default, or the explicit T-step simulation)."
EXAMPLE = """example:
  edgesnn infer digits.esnn --input samples.npy
  edgesnn infer digits.esnn --input digits --mode tstep --steps 8 --json
  edgesnn infer --port socket://127.0.0.1:5555 --input digits   # on the board
  edgesnn infer imu.esnn --input basicmotions:50   # a sequence blob (runs T-step)
(--input takes X.npy, DATA.npz with x [and y], `digits` for the held-out digits, or
 the test split of a shipped sensor set: basicmotions, japanesevowels, gunpoint;
with --port, MODEL is optional: the board's model is read back for input scaling)"""


def add_arguments(p):
    p.add_argument("model", nargs="?", default=None,
                   help="the .esnn model file (optional with --port: the board's model)")
    p.add_argument("--input", "-i", required=True, help="X.npy, DATA.npz (x, y), `digits`, or " + SENSOR_HELP)
    p.add_argument("--mode", choices=["onestep", "tstep"], default=None,
                   help="default: tstep for a sequence blob (it cannot run one-step), "
                   "else onestep")
    p.add_argument("--steps", "-T", type=numbers.steps, default=None, help="time steps T (default: the model's)")
    p.add_argument("--quantized", action="store_true",
                   help="the input is already uint8 codes (skip input quantisation)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_port_arguments(p, required_default=None)


def run(args) -> int:
    if args.model is None and args.port is None:
        raise EdgesnnError("give a MODEL to run on the host runtime, or --port URL to run "
                           "on a board")
    x, y = load_xy(args.input)
    ticks = None
    where = "the host runtime"
    if args.port is not None:
        with open_board(args) as board:
            probe = load(args.model) if args.model else board.active_model()
            check_sequence_input(probe, args.input, x)
            args.mode = _mode(args.mode, probe)
            res = board.infer(x, mode=args.mode, steps=args.steps, quantized=args.quantized,
                              model=args.model)
            model = probe if args.model is None else board.active_model()
            where = f"board {board.info()['name']!r} at {args.port}"
        out, elapsed, ticks = res.outputs, res.seconds, res.ticks
    else:
        model = load(args.model)
        check_sequence_input(model, args.input, x)
        args.mode = _mode(args.mode, model)
        t0 = time.perf_counter()
        out = model.outputs(x, steps=args.steps, mode=args.mode, quantized=args.quantized)
        elapsed = time.perf_counter() - t0
    pred = out.reshape(out.shape[0], -1).argmax(axis=1)
    acc = float(np.mean(pred == y)) if y is not None else None
    steps = args.steps or model.default_steps
    if args.json:
        res = {"mode": args.mode, "steps": steps, "predictions": pred,
               "outputs": out.reshape(out.shape[0], -1), "accuracy": acc,
               "seconds": elapsed, "target": where}
        if ticks is not None:
            res["ticks"] = ticks
        emit_json(res)
        return 0
    shown = min(len(pred), 10)
    for i in range(shown):
        print(f"sample {i}: class {pred[i]}  outputs {out[i].reshape(-1).tolist()}")
    if len(pred) > shown:
        print(f"... {len(pred) - shown} more samples")
    print(f"{len(pred)} samples on {where}, {args.mode} T={steps}, "
          f"{1e6 * elapsed / max(1, len(pred)):.1f} us/sample"
          + (f", {ticks.mean():.0f} ticks/inference on the board" if ticks is not None else ""))
    if acc is not None:
        print(f"accuracy: {100 * acc:.2f}%")
    return 0


def _mode(mode, model) -> str:
    """--mode as given, else tstep for a sequence blob (T frames in, no one-step form)."""
    return mode or ("tstep" if getattr(model, "sequence", False) else "onestep")
