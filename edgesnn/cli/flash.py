"""`edgesnn flash`: upload a model to a board, commit it and verify it."""
from __future__ import annotations

import os
import sys

from . import numbers
from ..serial.state import failed_slots
from .board_args import add_port_arguments, open_board
from .output import emit_json

NAME = "flash"
HELP = "Upload an .esnn model to a board over serial, commit it and verify it."
EXAMPLE = """example:
  edgesnn flash --port /dev/ttyACM0 model.esnn
  edgesnn flash --port socket://127.0.0.1:5555 model.esnn --json
An interrupted flash resumes where the board left off when run again."""


def add_arguments(p):
    p.add_argument("model", help="the .esnn model file")
    add_port_arguments(p)
    p.add_argument("--chunk", type=numbers.int_range(1, 1020), default=1020,
                   help="bytes per chunk, 1..1020 (default 1020)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    with open_board(args) as board:
        info = board.info()
        for line in failed_slots(info):  # the user may be on a stale model: say so first
            print(f"edgesnn flash: note: {line}", file=sys.stderr)
        show = not (args.no_progress or args.json) and sys.stderr.isatty()
        res = board.flash(args.model, progress=show, chunk=args.chunk)
    if args.json:
        emit_json({"port": args.port, "board": info["name"], "slot": res["slot"],
                   "generation": res["generation"], "bytes": res["bytes"],
                   "crc32": f"0x{res['crc32']:08x}", "resumed_from": res["resumed_from"],
                   "seconds": res["seconds"], "verified": res["verified"]})
        return 0
    name = os.path.basename(args.model)
    rate = res["bytes"] / max(res["seconds"], 1e-9) / 1024
    resumed = f", resumed at byte {res['resumed_from']}" if res["resumed_from"] else ""
    print(f"board   {info['name']} at {args.port} (runtime {info['runtime_version']})")
    print(f"flashed {name}: {res['bytes']} B to slot {res['slot']}, generation "
          f"{res['generation']}, {res['seconds']:.2f} s ({rate:.1f} KiB/s){resumed}")
    print(f"verify  active slot {res['slot']} holds crc32 0x{res['crc32']:08x}: ok")
    return 0
