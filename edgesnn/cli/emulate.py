"""`edgesnn emulate`: run the host emulator board until Ctrl-C."""
from __future__ import annotations

import json
import signal
import sys
import time

from ..emulator import HostEmulator

NAME = "emulate"
HELP = "Run a board emulator (the host board: the device firmware as a local process)."
EXAMPLE = """example:
  edgesnn emulate                       # prints url=socket://127.0.0.1:PORT
  edgesnn emulate --flash board.bin --port-number 5555
  edgesnn emulate --pty                 # prints url=/dev/pts/N
then, in another terminal:
  edgesnn flash --port socket://127.0.0.1:5555 model.esnn"""


class _Stop(Exception):
    pass


def add_arguments(p):
    p.add_argument("--board", choices=["host"], default="host", help="which board (default host)")
    p.add_argument("--flash", default=None, metavar="FILE",
                   help="the board's flash file, kept between runs (default: a temporary one)")
    p.add_argument("--pty", action="store_true", help="serve a pseudo-terminal instead of TCP")
    p.add_argument("--port-number", type=int, default=0, metavar="N",
                   help="TCP port to listen on, 127.0.0.1 only (default: a free one)")
    p.add_argument("--arena", type=int, default=None, metavar="BYTES",
                   help="arena the board gives models (default: the board's)")
    p.add_argument("--slot-bytes", type=int, default=None, metavar="BYTES",
                   help="size of each flash slot (default: the board's)")
    p.add_argument("--json", action="store_true", help="print the board's details as one JSON line")


def _raise_stop(signum, frame):
    raise _Stop()


def run(args) -> int:
    emu = HostEmulator(flash=args.flash, transport="pty" if args.pty else "tcp",
                       port=args.port_number, arena=args.arena, slot_bytes=args.slot_bytes)
    old = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        emu.start()
        if args.json:
            print(json.dumps({"board": args.board, "url": emu.url, "pid": emu.pid,
                              "flash": emu.flash_path, "temporary_flash": emu.temporary_flash}))
        else:
            note = " (temporary; --flash FILE keeps it)" if emu.temporary_flash else ""
            print(f"board   {args.board} emulator, pid {emu.pid}")
            print(f"flash   {emu.flash_path}{note}")
            print(f"url={emu.url}")
            print(f"try     edgesnn info --port {emu.url}")
            print("Ctrl-C stops the board")
        sys.stdout.flush()
        while emu.alive:
            time.sleep(0.2)
        emu.check()  # it died on its own: say how
        return 0
    except (KeyboardInterrupt, _Stop):
        code = emu.stop()
        if not args.json:
            print(f"board stopped (exit code {code})", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        emu.close()
