"""`edgesnn ports`: the serial ports on this machine."""
from __future__ import annotations

from ..serial.ports import list_ports
from .output import emit_json, table

NAME = "ports"
HELP = "List the serial ports on this machine (what --port auto chooses from)."
EXAMPLE = """example:
  edgesnn ports
  edgesnn ports --json"""


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    ports = list_ports()
    if args.json:
        emit_json(ports)
        return 0
    if not ports:
        print("no serial ports found (for the emulator: edgesnn emulate prints a URL)")
        return 0
    print(table([[p["device"], "yes" if p["usb"] else "no", p["description"], p["hwid"]]
                 for p in ports], ["port", "usb", "description", "hwid"]))
    usb = [p for p in ports if p["usb"]]
    if len(usb) == 1:
        print(f"--port auto picks {usb[0]['device']}")
    else:
        print(f"--port auto {'finds no USB port' if not usb else 'refuses: several USB ports'}; "
              "pass --port URL")
    return 0
