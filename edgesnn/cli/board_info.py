"""`edgesnn info`: what a board is and what it holds."""
from __future__ import annotations

from ..serial.state import failed_slots, finetune_session_text
from .board_args import add_port_arguments, open_board, slot_line
from .output import emit_json, kib

NAME = "info"
HELP = "Show a board's runtime, memory, flash slots and (with --stats) its counters."
EXAMPLE = """example:
  edgesnn info --port socket://127.0.0.1:5555
  edgesnn info --port /dev/ttyACM0 --stats --json"""


def add_arguments(p):
    add_port_arguments(p)
    p.add_argument("--stats", action="store_true", help="also show the board's counters")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    with open_board(args) as board:
        info = board.info()
        stats = board.stats() if args.stats else None
    if args.json:
        out = {**info, "port": args.port}
        if stats is not None:
            out["stats"] = stats
        emit_json(out)
        return 0
    print(f"board    {info['name']} at {args.port}")
    print(f"runtime  {info['runtime_version']}, protocol {info['protocol_version']}, "
          f"blob format {info['blob_version']}, max payload {info['max_payload']} B")
    print(f"memory   RAM {kib(info['ram_bytes'])}, arena {kib(info['arena_bytes'])}, "
          f"slot {kib(info['slot_bytes'])}")
    print(f"ticks    {info['tick_kind']}")
    ft = "no"
    if info["finetune"]:
        ft = "yes (edgesnn finetune --port)" + ("" if info["finetune_verify"] else
                                                 ", without the verify mode")
    print(f"features fine-tuning {ft}"
          + (f"; open session: {info['session']}" if info["session"] else ""))
    if info["session"] == "finetune":
        print(f"session  {finetune_session_text(info['session_idle'], info['session_idle_limit'])}")
    for s in info["slots"]:
        print(f"slot {s['slot']}   {slot_line(s, s['slot'] == info['active_slot'])}")
    for line in failed_slots(info):
        print(f"warning  {line}")
    if info["active_slot"] is None:
        print("model    none: flash one with `edgesnn flash --port URL MODEL.esnn`")
    if stats is not None:
        for k, v in stats.items():
            print(f"{k:<18} {v}")
    return 0
