"""`edgesnn validate`: the board and the host runtime, bit for bit on the same samples."""
from __future__ import annotations

from ..runtime.model import load
from . import numbers
from .board_args import add_port_arguments, open_board
from .data import SENSOR_HELP, check_sequence_input, load_xy
from .output import emit_json

NAME = "validate"
HELP = ("Run samples on the board and on the host runtime and compare the output totals "
        "bit for bit (exit 1 on any mismatch).")
EXAMPLE = """example:
  edgesnn validate --port socket://127.0.0.1:5555 model.esnn
  edgesnn validate --port /dev/ttyACM0 model.esnn --input x.npy -n 50 --steps 8 --json
The board must run MODEL (edgesnn flash first)."""


def add_arguments(p):
    p.add_argument("model", help="the .esnn model the board runs")
    add_port_arguments(p)
    p.add_argument("--input", "-i", default="digits",
                   help="X.npy, DATA.npz (x, y), `digits` (the default: the held-out digits), or "
                   + SENSOR_HELP)
    p.add_argument("-n", type=numbers.positive_int, default=200, help="number of samples (default 200)")
    p.add_argument("--mode", choices=["onestep", "tstep"], default="onestep")
    p.add_argument("--steps", "-T", type=numbers.steps, default=None, help="time steps T (default: the model's)")
    p.add_argument("--quantized", action="store_true", help="the input is already uint8 codes")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    model = load(args.model)
    x, y = load_xy(args.input)
    check_sequence_input(model, args.input, x)
    if args.n is not None:
        x = x[:args.n]
        y = y[:args.n] if y is not None else None
    with open_board(args) as board:
        res = board.validate(model, x, steps=args.steps, mode=args.mode,
                             quantized=args.quantized, y=y)
        name = board.info()["name"]
    ok = res["agree"] == res["samples"]
    if args.json:
        emit_json({k: v for k, v in res.items()
                   if k not in ("board_predictions", "host_predictions")} | {"bit_exact": ok})
        return 0 if ok else 1
    print(f"validate {res['samples']} samples on board {name!r} vs the host runtime, "
          f"{res['mode']} T={res['steps']}")
    print(f"bit-exact output totals: {res['agree']}/{res['samples']}"
          f"{'' if ok else '  MISMATCH'}")
    if not ok:
        shown = ", ".join(map(str, res["mismatches"][:10]))
        print(f"first mismatching samples: {shown}")
    if "board_accuracy" in res:
        print(f"accuracy on the board: {100 * res['board_accuracy']:.2f}%  "
              f"(host {100 * res['host_accuracy']:.2f}%)")
    print(f"{1e3 * res['seconds'] / max(1, res['samples']):.2f} ms/sample over the link")
    return 0 if ok else 1
