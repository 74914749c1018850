"""`edgesnn emulate`: run a board emulator until Ctrl-C: the host board, or a
QEMU-emulated Cortex-M board (`--board mps2-an386|lm3s6965evb|netduinoplus2`)."""
from __future__ import annotations

import json
import signal
import sys
import time

from ..emulate import QEMU_BOARDS, EmulatorError, HostEmulator, QemuBoard
from . import numbers

NAME = "emulate"
HELP = ("Run a board emulator: the host board (the device firmware as a local process) "
        "or a QEMU-emulated Cortex-M board (--board).")
EXAMPLE = """example:
  edgesnn emulate                       # prints url=socket://127.0.0.1:PORT
  edgesnn emulate --flash board.bin --port-number 5555
  edgesnn emulate --pty                 # prints url=/dev/pts/N
  edgesnn emulate --board lm3s6965evb   # QEMU: builds the firmware, prints its url
then, in another terminal:
  edgesnn flash --port socket://127.0.0.1:5555 model.esnn"""


class _Stop(Exception):
    pass


def add_arguments(p):
    p.add_argument("--board", choices=["host", *QEMU_BOARDS], default="host",
                   help="which board (default host: a local process; the others run the "
                        "firmware in qemu-system-arm, built with arm-none-eabi-gcc if needed)")
    p.add_argument("--flash", default=None, metavar="FILE",
                   help="the board's flash file, kept between runs (default: a temporary one)")
    p.add_argument("--pty", action="store_true", help="serve a pseudo-terminal instead of TCP")
    p.add_argument("--port-number", type=numbers.int_range(0, 65535), default=0, metavar="N",
                   help="TCP port to listen on, 127.0.0.1 only (default: a free one)")
    p.add_argument("--arena", type=numbers.positive_int, default=None, metavar="BYTES",
                   help="arena the board gives models (default: the board's)")
    p.add_argument("--slot-bytes", type=numbers.positive_int, default=None, metavar="BYTES",
                   help="size of each flash slot (default: the board's)")
    p.add_argument("--json", action="store_true", help="print the board's details as one JSON line")


def _raise_stop(signum, frame):
    raise _Stop()


def run(args) -> int:
    if args.board == "host":
        emu = HostEmulator(flash=args.flash, transport="pty" if args.pty else "tcp",
                           port=args.port_number, arena=args.arena, slot_bytes=args.slot_bytes)
        return _serve(emu, args, _describe_host)
    bad = [o for o, v in (("--flash", args.flash), ("--pty", args.pty), ("--arena", args.arena),
                          ("--slot-bytes", args.slot_bytes)) if v]
    if bad:
        raise EmulatorError(f"{', '.join(bad)} {'applies' if len(bad) == 1 else 'apply'} only "
                            f"to the host board; {args.board}'s "
                            "memory layout is fixed by its firmware (docs/boards.md)")
    return _serve(QemuBoard(args.board, port=args.port_number), args, _describe_qemu)


def _describe_host(emu, board: str):
    """(JSON fields, text lines) a person or a script needs to use the host board."""
    note = " (temporary; --flash FILE keeps it)" if emu.temporary_flash else ""
    return ({"board": board, "url": emu.url, "pid": emu.pid, "flash": emu.flash_path,
             "temporary_flash": emu.temporary_flash},
            [f"board   {board} emulator, pid {emu.pid}", f"flash   {emu.flash_path}{note}"])


def _describe_qemu(emu, board: str):
    return ({"board": board, "url": emu.url, "pid": emu.pid, "banner": emu.banner,
             "layout": emu.layout(), "firmware": emu.elf_path},
            [f"board   {board} in qemu-system-arm, pid {emu.pid}", f"banner  {emu.banner}",
             "flash   RAM-backed: a flashed model is lost when the board stops"])


def _serve(emu, args, describe) -> int:
    """Start the board, say where it is, run until Ctrl-C/SIGTERM or until it dies."""
    old = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        emu.start()
        fields, lines = describe(emu, args.board)
        if args.json:
            print(json.dumps(fields))
        else:
            print("\n".join(lines))
            print(f"url={emu.url}")
            print(f"try     edgesnn info --port {emu.url}")
            print("Ctrl-C stops the board")
        sys.stdout.flush()
        while emu.alive:
            time.sleep(0.2)
        emu.check()  # it died on its own (a crash): exit code and last words
        return 0
    except (KeyboardInterrupt, _Stop):
        code = emu.stop()
        if not args.json:
            print(f"board stopped (exit code {code})", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        emu.close()
