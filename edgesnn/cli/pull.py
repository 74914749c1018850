"""`edgesnn pull`: read a model back from a board into an .esnn file."""
from __future__ import annotations

import zlib

from ..runtime.model import Model
from .board_args import add_port_arguments, open_board
from .output import emit_json

NAME = "pull"
HELP = "Read the board's model (the active slot, or --slot N) back into an .esnn file."
EXAMPLE = """example:
  edgesnn pull --port /dev/ttyACM0 -o from_board.esnn
  edgesnn pull --port socket://127.0.0.1:5555 --slot 1 -o previous.esnn --json
The image is checked against the CRC the board reports and validated by the C loader
before the file is written."""


def add_arguments(p):
    add_port_arguments(p)
    p.add_argument("-o", "--output", required=True, help="the .esnn file to write")
    p.add_argument("--slot", type=int, choices=[0, 1], default=None,
                   help="which flash slot (default: the active one)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    with open_board(args) as board:
        info = board.info()
        image = board.pull(args.slot)  # raises unless the CRC matches the board's
    slot = info["active_slot"] if args.slot is None else args.slot
    Model(image).save(args.output)  # validated, then written atomically
    crc = zlib.crc32(image)
    if args.json:
        emit_json({"port": args.port, "board": info["name"], "slot": slot,
                   "bytes": len(image), "crc32": f"0x{crc:08x}", "output": args.output})
        return 0
    print(f"pulled  slot {slot} of {info['name']} at {args.port}: {len(image)} B, "
          f"crc32 0x{crc:08x}")
    print(f"wrote   {args.output} (validated by the C loader)")
    return 0
