"""Options and connection shared by the verbs that talk to a board over serial."""
from __future__ import annotations

from . import numbers

PORT_HELP = ("the board: a serial device (/dev/ttyACM0, COM3), a pty path, "
             "socket://HOST:PORT (from `edgesnn emulate`), any pyserial URL, or `auto` "
             "(the one USB serial port there is)")


def add_port_arguments(p, required_default: str | None = "auto") -> None:
    g = p.add_argument_group("serial link")
    g.add_argument("--port", "-p", default=required_default, metavar="URL", help=PORT_HELP +
                   (f" (default: {required_default})" if required_default else ""))
    g.add_argument("--baud", type=numbers.positive_int, default=115200, help="baud rate of a UART (default 115200)")
    g.add_argument("--timeout", type=numbers.seconds, default=0.5,
                   help="seconds to wait for each answer before retransmitting, > 0 "
                        "(default 0.5)")
    g.add_argument("--retries", type=numbers.count, default=10,
                   help="retransmissions before giving up, >= 0 (default 10)")


def open_board(args):
    from ..serial import connect
    return connect(args.port, timeout=args.timeout, baudrate=args.baud, retries=args.retries)


def slot_line(s: dict, active: bool) -> str:
    if s.get("problem"):  # failed its boot check: never run, never passed over in silence
        gen = f"generation {s['generation']}, " if s["generation"] else ""
        return f"{gen}FAILED boot check ({s['problem']})"
    if s.get("check") == "erased":
        return "erased"
    if not s["valid"]:
        return "empty (or an unfinished upload)"
    return (f"{'active' if active else 'inactive'}, generation {s['generation']}, "
            f"{s['length']} B, crc32 0x{s['crc32']:08x}")
