"""`edgesnn bench`: instructions per inference on a board, one-step and T-step."""
from __future__ import annotations

import numpy as np

from ..emulate import QEMU_BOARDS, board_emulator
from ..errors import EdgesnnError
from ..runtime.model import load, load_default
from . import numbers
from .data import SENSOR_HELP, check_sequence_input, load_xy
from .output import emit_json, table

NAME = "bench"
HELP = ("Flash a model to a board and measure its cost per inference from the board's "
        "ticks: instructions (QEMU boards), per multiply-accumulate, one-step vs T-step.")
EXAMPLE = """example:
  edgesnn bench --board mps2-an386                 # the default model, T=8
  edgesnn bench --board lm3s6965evb --model m.esnn --steps 16 -n 50 --json
  edgesnn bench --port socket://127.0.0.1:5555     # a board that is already running"""


def add_arguments(p):
    p.add_argument("--board", choices=["host", *QEMU_BOARDS], default=None,
                   help="start this board emulator for the run (default: use --port)")
    p.add_argument("--port", "-p", default=None, metavar="URL",
                   help="a running board instead of --board")
    p.add_argument("--model", "-m", default=None, help="the .esnn model (default: the shipped one)")
    p.add_argument("--steps", "-T", type=numbers.steps, default=8, help="T of the T-step runs (default 8)")
    p.add_argument("-n", type=numbers.positive_int, default=20, help="inferences per mode (default 20)")
    p.add_argument("--input", "-i", default="digits", help="X.npy, DATA.npz, `digits`, or " + SENSOR_HELP)
    p.add_argument("--timeout", type=numbers.seconds, default=2.0,
                   help="seconds per request before retransmitting (default 2)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def measure(board, model, x, steps: int) -> dict:
    """Flash `model`, run x in both modes; the numbers `bench` prints."""
    board.flash(model, progress=False)
    info = board.info()
    one = board.infer(x, mode="onestep")
    res = {"board": info["name"], "tick_kind": info["tick_kind"], "model": model.info()["name"],
           "macs": int(model.info()["macs"]), "samples": len(x),
           "onestep_mean": float(one.ticks.mean()), "onestep_min": int(one.ticks.min()),
           "onestep_max": int(one.ticks.max()), "steps": steps}
    res["per_mac"] = res["onestep_mean"] / res["macs"] if res["macs"] else None
    try:
        ts = board.infer(x, mode="tstep", steps=steps)
    except EdgesnnError as exc:  # e.g. the arena is too small for T steps
        res["tstep_error"] = str(exc)
    else:
        res["tstep_mean"] = float(ts.ticks.mean())
        res["tstep_per_step"] = res["tstep_mean"] / steps
        res["tstep_over_onestep"] = (res["tstep_mean"] / res["onestep_mean"]
                                     if res["onestep_mean"] else None)
    res["deterministic"] = bool(np.array_equal(board.infer(x[:3]).ticks, one.ticks[:3]))
    return res


def run(args) -> int:
    from ..serial import connect
    if (args.board is None) == (args.port is None):
        raise EdgesnnError("give either --board NAME (start an emulator) or --port URL")
    model = load(args.model) if args.model else load_default()
    x, _ = load_xy(args.input)
    check_sequence_input(model, args.input, x)
    x = x[:args.n]
    emu = board_emulator(args.board).start() if args.board else None
    try:
        with connect(emu.url if emu else args.port, timeout=args.timeout) as board:
            res = measure(board, model, x, args.steps)
    except EdgesnnError as exc:
        if emu is not None and not emu.alive:
            emu.check()  # a crash: say so, with the board's last words
        raise exc
    finally:
        if emu is not None:
            emu.close()
    if args.json:
        emit_json(res)
        return 0
    unit = "instructions" if res["tick_kind"] == "instructions" else f"ticks ({res['tick_kind']})"
    rows = [["one-step", f"{res['onestep_mean']:.0f}",
             f"{res['per_mac']:.2f}" if res["per_mac"] else "-", "1.00"]]
    if "tstep_mean" in res:
        rows.append([f"T-step, T={args.steps}", f"{res['tstep_mean']:.0f}",
                     f"{res['tstep_mean'] / res['macs']:.2f}" if res["macs"] else "-",
                     f"{res['tstep_over_onestep']:.2f}"])
    print(f"bench {res['model']} on board {res['board']!r}: {res['samples']} inferences per "
          f"mode, {res['macs']} MACs per one-step inference")
    print(table(rows, ["mode", f"{unit}/inference", f"{unit.split()[0]}/MAC", "vs one-step"]))
    if "tstep_error" in res:
        print(f"T-step: {res['tstep_error']}")
    print(f"deterministic: {'yes' if res['deterministic'] else 'NO'} (same input, same count)")
    return 0
