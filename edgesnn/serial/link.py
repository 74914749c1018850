"""Stop-and-wait requests over any pyserial-like port (docs/protocol.md, section 2)."""
from __future__ import annotations

import random
import socket
import struct
import time

try:
    import fcntl
    import termios
    _FIONREAD = termios.FIONREAD
except ImportError:  # Windows: pyserial's in_waiting is all there is
    fcntl = None
    _FIONREAD = None

from ..checks import count, positive_seconds
from ..errors import BoardError, LinkTimeout, SerialLinkError
from .frame import FrameReader, build_frame
from .proto import (BUSY, KIND_REQUEST, KIND_RESPONSE, MAX_ENCODED, NOT_OWNER, STATUS_MEANINGS,
                    command_name, status_name)
from .state import busy_text

DEFAULT_TIMEOUT = 0.5
DEFAULT_RETRIES = 10
_POLL = 0.02          # the port's read timeout: how often the deadline is checked
_FAST_RETRIES = 3     # immediate retransmissions on a corrupted response, per attempt


class Link:
    """One board on one port: `request(cmd, payload) -> response payload`.

    * at most one request outstanding; responses with another seq are discarded;
    * on timeout the same bytes (same seq) are sent again, up to `retries` times;
      a corrupted frame arriving meanwhile triggers the retransmission at once;
    * a lone 0x00 is sent before the first request, to flush a half-received frame.

    `port` needs `read(n)`, `write(b)`, `timeout`, `in_waiting` and `close()`.
    `baudrate` (None for sockets and ptys) adds the frames' transfer time to the timeout.
    """

    def __init__(self, port, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 baudrate: int | None = None, name: str | None = None):
        self.port = port
        # a NaN timeout never expires and a negative count never sends: refuse both
        self.timeout = positive_seconds(timeout, "timeout")
        self.retries = count(retries, "retries")
        self.baudrate = baudrate
        self.name = name or getattr(port, "port", None) or getattr(port, "name", None) or "the port"
        self.reader = FrameReader(KIND_RESPONSE)
        # pyserial's socket:// port reports in_waiting as 0/1 and sleeps 0.3 s in close();
        # with its socket at hand, count the waiting bytes (FIONREAD) and close at once
        self._sock = getattr(port, "_socket", None)
        self._seq = random.randrange(0x10000)  # never collide with a previous session's cache
        self._synced = False
        try:
            port.timeout = min(_POLL, self.timeout)
        except Exception:  # noqa: BLE001 - a port without settable timeout still works
            pass
        # counters (the efficiency benchmark and the fault tests read them)
        self.tx_bytes = 0          # bytes written to the port
        self.rx_bytes = 0          # bytes read from the port
        self.tx_payload_bytes = 0  # request payload bytes of distinct requests
        self.rx_payload_bytes = 0  # response payload bytes accepted
        self.requests = 0
        self.retransmissions = 0
        self.timeouts = 0          # requests that failed after all retries
        self.stale_frames = 0      # responses with another seq or cmd

    # ---- the one primitive --------------------------------------------------
    def transact(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                 retries: int | None = None) -> tuple[int, bytes]:
        """Send one request and return (status, payload) of its response."""
        timeout = self.timeout if timeout is None else positive_seconds(timeout, "timeout")
        retries = self.retries if retries is None else count(retries, "retries")
        if not self._synced:
            self._write(b"\x00")
            self._synced = True
        self._seq = (self._seq + 1) & 0xFFFF
        seq = self._seq
        frame = build_frame(KIND_REQUEST, cmd, seq, 0, payload)
        wait = timeout + self._transfer_time(len(frame) + MAX_ENCODED + 1)
        self.requests += 1
        self.tx_payload_bytes += len(payload)
        for attempt in range(retries + 1):
            if attempt:
                self.retransmissions += 1
            self._write(frame)
            fast = 0
            deadline = time.monotonic() + wait
            while True:
                bad_before = self.reader.bad
                resp = self._wait(cmd, seq, deadline)
                if resp is not None:
                    self.rx_payload_bytes += len(resp.payload)
                    return resp.status, resp.payload
                if self.reader.bad > bad_before and fast < _FAST_RETRIES \
                        and time.monotonic() < deadline:
                    # a corrupted frame: most likely our response; ask again right away
                    fast += 1
                    self.retransmissions += 1
                    self._write(frame)
                    continue
                if time.monotonic() >= deadline:
                    break
        self.timeouts += 1
        raise LinkTimeout(
            f"no answer from the board on {self.name} to {command_name(cmd)} "
            f"after {retries + 1} attempts ({retries} retries, {wait:.2f} s each); "
            "check that the board is powered and running edgesnn firmware, that the port "
            "is the right one and not open elsewhere, and that the baud rate matches")

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                retries: int | None = None) -> bytes:
        """Send one request; return the response payload, BoardError on a non-zero status."""
        status, data = self.transact(cmd, payload, timeout=timeout, retries=retries)
        if status != 0:
            name = status_name(status)
            meaning = STATUS_MEANINGS.get(status, 'unknown status')
            if status in (BUSY, NOT_OWNER):  # who holds the board, and how to free it
                meaning = busy_text(data)
            raise BoardError(status, name,
                             f"the board refused {command_name(cmd)}: {name} ({meaning})", data)
        return data

    # ---- internals ------------------------------------------------------------
    def _wait(self, cmd: int, seq: int, deadline: float):
        """Read until our response, a corrupted frame, or the deadline."""
        bad_before = self.reader.bad
        while time.monotonic() < deadline:
            data = self._read()
            if not data:
                continue
            for f in self.reader.feed(data):
                if f.seq == seq and f.cmd == cmd:
                    return f
                self.stale_frames += 1
            if self.reader.bad > bad_before:
                return None
        return None

    def _waiting(self) -> int:
        if self._sock is not None and _FIONREAD is not None:
            try:
                buf = fcntl.ioctl(self._sock.fileno(), _FIONREAD, b"\0\0\0\0")
                return struct.unpack("i", buf)[0]
            except (OSError, ValueError):
                pass
        return self.port.in_waiting

    def _read(self) -> bytes:
        try:
            n = self._waiting()
            data = self.port.read(max(1, n))
        except Exception as exc:  # noqa: BLE001 - pyserial raises several types
            raise SerialLinkError(f"connection to the board on {self.name} lost: {exc}") from exc
        self.rx_bytes += len(data)
        return data

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)  # pyserial writes everything before returning
        except Exception as exc:  # noqa: BLE001
            raise SerialLinkError(f"connection to the board on {self.name} lost: {exc}") from exc
        self.tx_bytes += len(data)

    def _transfer_time(self, nbytes: int) -> float:
        return 10.0 * nbytes / self.baudrate if self.baudrate else 0.0

    def counters(self) -> dict:
        return {"tx_bytes": self.tx_bytes, "rx_bytes": self.rx_bytes,
                "tx_payload_bytes": self.tx_payload_bytes,
                "rx_payload_bytes": self.rx_payload_bytes, "requests": self.requests,
                "retransmissions": self.retransmissions, "timeouts": self.timeouts,
                "stale_frames": self.stale_frames, "bad_frames": self.reader.bad,
                "oversized_frames": self.reader.oversized}

    def close(self) -> None:
        close_port(self.port)


def close_port(port) -> None:
    """Close a pyserial-like port; a socket:// one without pyserial's 0.3 s sleep."""
    sock = getattr(port, "_socket", None)
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        port._socket = None
        port.is_open = False
        return
    try:
        port.close()
    except Exception:  # noqa: BLE001 - closing a dead port is not an error
        pass
