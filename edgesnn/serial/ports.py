"""Serial ports on this machine, and `--port auto` (refuse to guess between several)."""
from __future__ import annotations

from ..errors import SerialLinkError

AUTO = "auto"


def list_ports() -> list[dict]:
    """Serial ports pyserial sees; `usb` is True for USB ones (where boards usually are)."""
    from serial.tools import list_ports as lp
    out = []
    for p in sorted(lp.comports(), key=lambda p: p.device):
        out.append({"device": p.device, "description": p.description or "",
                    "hwid": p.hwid or "", "usb": p.vid is not None,
                    "vid": p.vid, "pid": p.pid, "serial_number": p.serial_number,
                    "manufacturer": p.manufacturer})
    return out


def resolve_port(spec: str | None) -> str:
    """`spec` itself, or for None/"auto" the one USB serial port there is."""
    if spec and spec != AUTO:
        return spec
    ports = [p for p in list_ports() if p["usb"]]
    hint = ("pass --port URL: a device path (/dev/ttyACM0, COM3), a pty path, or "
            "socket://HOST:PORT (what `edgesnn emulate` prints)")
    if not ports:
        raise SerialLinkError(f"no USB serial port found to pick automatically; {hint}")
    if len(ports) > 1:
        names = ", ".join(f"{p['device']} ({p['description']})" for p in ports)
        raise SerialLinkError(f"several serial ports found, refusing to guess: {names}; {hint}")
    return ports[0]["device"]
