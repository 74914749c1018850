"""The host side of the edgesnn serial protocol (docs/protocol.md).

    import edgesnn
    with edgesnn.connect("socket://127.0.0.1:5555") as board:   # or /dev/ttyACM0
        board.flash("model.esnn")            # upload, commit, verify
        board.infer(x).argmax                # inference on the board
        board.finetune(X, y, epochs=2)       # fine-tune on the board, commit, read back
"""
from __future__ import annotations

from ..checks import count, int_in, positive_seconds
from ..errors import BoardError, EdgesnnError, LinkTimeout, SerialLinkError
from .board import Board, Inference, parse_hello
from .finetune import BoardFinetuneResult
from .link import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Link
from .ports import list_ports, resolve_port

_NETWORK = ("socket://", "rfc2217://", "loop://")


def open_port(url: str, baudrate: int = 115200):
    """Open `url` with pyserial (device path, socket://host:port, pty path, spy://...)."""
    import serial
    _check_socket_url(url)
    # a device or pty path is locked (flock) while open: a serial line cannot tell two
    # hosts apart, so a second program (say a flash during a fine-tuning run) is refused
    # at once, clearly, instead of both garbling each other's frames
    kw = {} if "://" in url else {"exclusive": True}
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=0.02, **kw)
    except (serial.SerialException, OSError, ValueError) as exc:
        if "exclusively lock" in str(exc):
            raise SerialLinkError(f"cannot open {url}: it is in use by another program (another "
                                  "edgesnn, e.g. a fine-tuning run, or a terminal); one host "
                                  "at a time can use a serial line") from exc
        raise SerialLinkError(f"cannot open {url}: {exc}") from exc


def _check_socket_url(url: str) -> None:
    """socket://HOST:PORT with a bad port: pyserial's own message names its logging
    options ('debug|info|warning|error'), which helps nobody; say what is wrong."""
    inner = url.split("spy://", 1)[-1]
    if not inner.startswith("socket://"):
        return
    hostport = inner[len("socket://"):].split("?", 1)[0].split("/", 1)[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SerialLinkError(f"cannot open {url}: expected socket://HOST:PORT with PORT a "
                              "number 1..65535 (e.g. socket://127.0.0.1:5555, what "
                              "`edgesnn emulate` prints)")


def connect(url: str = "auto", timeout: float = DEFAULT_TIMEOUT, baudrate: int = 115200,
            retries: int = DEFAULT_RETRIES, hello: bool = True) -> Board:
    """Open a board at `url` and (with `hello`) check that it answers HELLO."""
    timeout, retries = positive_seconds(timeout, "timeout"), count(retries, "retries")
    baudrate = int_in(baudrate, "baudrate", lo=1)
    url = resolve_port(url)
    port = open_port(url, baudrate)
    inner = url.split("spy://", 1)[-1]
    wire_baud = None if inner.startswith(_NETWORK) else baudrate
    board = Board(Link(port, timeout=timeout, retries=retries, baudrate=wire_baud, name=url),
                  url=url)
    if hello:
        try:
            info = board.info()
        except BaseException:
            board.close()
            raise
        if info["protocol_version"] != 1:
            board.close()
            raise EdgesnnError(f"the board at {url} speaks protocol version "
                               f"{info['protocol_version']}; this edgesnn speaks version 1")
    return board


__all__ = ["Board", "BoardError", "BoardFinetuneResult", "Inference", "Link", "LinkTimeout",
           "SerialLinkError",
           "connect", "list_ports", "open_port", "parse_hello", "resolve_port"]
