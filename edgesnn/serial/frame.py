"""Frames: `COBS(header | payload | crc32) 0x00` (docs/protocol.md, section 1)."""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from . import cobs
from .proto import KIND_RESPONSE, MAX_ENCODED, MAX_PAYLOAD, MIN_BODY

_HEADER = struct.Struct("<BBHhH")  # kind, cmd, seq, status, payload_len


@dataclass(frozen=True)
class Frame:
    kind: int
    cmd: int
    seq: int
    status: int
    payload: bytes


class FrameError(ValueError):
    """A frame the receiver must drop; the message says why."""


def build_body(kind: int, cmd: int, seq: int, status: int, payload: bytes = b"") -> bytes:
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds MAX_PAYLOAD ({MAX_PAYLOAD})")
    head = _HEADER.pack(kind, cmd, seq & 0xFFFF, status, len(payload)) + payload
    return head + struct.pack("<I", zlib.crc32(head))


def build_frame(kind: int, cmd: int, seq: int, status: int = 0, payload: bytes = b"") -> bytes:
    """The wire bytes of one frame, delimiter included."""
    return cobs.encode(build_body(kind, cmd, seq, status, payload)) + b"\x00"


def parse_body(body: bytes, expect_kind: int | None = None) -> Frame:
    """Check a decoded body against every rule of section 1; FrameError if one fails."""
    if len(body) < MIN_BODY:
        raise FrameError(f"body of {len(body)} bytes is shorter than {MIN_BODY}")
    kind, cmd, seq, status, length = _HEADER.unpack_from(body)
    if length != len(body) - MIN_BODY:
        raise FrameError(f"payload_len {length} but the body carries {len(body) - MIN_BODY}")
    if expect_kind is not None and kind != expect_kind:
        raise FrameError(f"kind 0x{kind:02x}, expected 0x{expect_kind:02x}")
    (crc,) = struct.unpack_from("<I", body, len(body) - 4)
    if zlib.crc32(body[:-4]) != crc:
        raise FrameError("CRC mismatch")
    return Frame(kind, cmd, seq, status, bytes(body[8:-4]))


def parse_frame(encoded: bytes, expect_kind: int | None = None) -> Frame:
    """Parse one encoded frame (with or without its trailing 0x00)."""
    if encoded.endswith(b"\x00"):
        encoded = encoded[:-1]
    if len(encoded) > MAX_ENCODED:
        raise FrameError(f"encoded frame of {len(encoded)} bytes exceeds {MAX_ENCODED}")
    try:
        body = cobs.decode(encoded)
    except cobs.CobsError as exc:
        raise FrameError(f"bad COBS: {exc}") from exc
    return parse_body(body, expect_kind)


class FrameReader:
    """Accumulates received bytes and returns the complete, valid frames.

    Bad frames are dropped and counted (`bad`), over-long ones discarded up to the next
    zero and counted (`oversized`); empty frames (a lone 0x00) are ignored.
    """

    def __init__(self, expect_kind: int | None = KIND_RESPONSE, max_encoded: int = MAX_ENCODED):
        self.expect_kind = expect_kind
        self.max_encoded = max_encoded
        self._buf = bytearray()
        self._discarding = False
        self.ok = 0
        self.bad = 0
        self.oversized = 0
        self.last_error: str | None = None

    def feed(self, data: bytes) -> list[Frame]:
        frames = []
        start = 0
        n = len(data)
        while start < n:
            end = data.find(b"\x00", start)
            piece = data[start:] if end < 0 else data[start:end]
            if not self._discarding:
                self._buf += piece
                if len(self._buf) > self.max_encoded:
                    self._buf.clear()
                    self._discarding = True
                    self.oversized += 1
            if end < 0:
                break
            start = end + 1
            if self._discarding:
                self._discarding = False
                continue
            enc = bytes(self._buf)
            self._buf.clear()
            if not enc:
                continue  # empty frame: a resync zero
            try:
                frames.append(parse_frame(enc, self.expect_kind))
                self.ok += 1
            except FrameError as exc:
                self.bad += 1
                self.last_error = str(exc)
        return frames

    def reset(self) -> None:
        """Forget a half-received frame."""
        self._buf.clear()
        self._discarding = False

    @property
    def pending(self) -> int:
        return len(self._buf)
