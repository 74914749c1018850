"""The host side of the edgesnn serial protocol (docs/protocol.md).

    import edgesnn
    with edgesnn.connect("socket://127.0.0.1:5555") as board:   # or /dev/ttyACM0
        board.flash("model.esnn")            # upload, commit, verify
        board.infer(x).argmax                # inference on the board
        board.finetune(X, y, epochs=2)       # fine-tune on the board, commit, read back
"""
from __future__ import annotations

from ..errors import BoardError, EdgesnnError, LinkTimeout, SerialLinkError
from .board import Board, Inference, parse_hello
from .board_finetune import BoardFinetuneResult
from .link import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Link
from .ports import list_ports, resolve_port

_NETWORK = ("socket://", "rfc2217://", "loop://")


def open_port(url: str, baudrate: int = 115200):
    """Open `url` with pyserial (device path, socket://host:port, pty path, spy://...)."""
    import serial
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise SerialLinkError(f"cannot open {url}: {exc}") from exc


def connect(url: str = "auto", timeout: float = DEFAULT_TIMEOUT, baudrate: int = 115200,
            retries: int = DEFAULT_RETRIES, hello: bool = True) -> Board:
    """Open a board at `url` and (with `hello`) check that it answers HELLO."""
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
