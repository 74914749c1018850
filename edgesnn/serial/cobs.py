"""Consistent Overhead Byte Stuffing: a body without zero bytes, so 0x00 can end a frame."""
from __future__ import annotations


class CobsError(ValueError):
    """Encoded bytes that no COBS encoder produces."""


def encode(data: bytes) -> bytes:
    """COBS-encode `data` (no trailing delimiter). At most 1 + len/254 bytes overhead."""
    out = bytearray()
    start = 0
    n = len(data)
    while True:
        end = data.find(b"\x00", start, min(n, start + 254))
        if end < 0:
            end = min(n, start + 254)
            block = data[start:end]
            out.append(len(block) + 1)
            out += block
            if end >= n:
                return bytes(out)
            start = end
            if len(block) == 254:
                continue
        else:
            out.append(end - start + 1)
            out += data[start:end]
            start = end + 1
            if start == n:  # a trailing zero still needs its (empty) last block
                out.append(1)
                return bytes(out)


def decode(enc: bytes) -> bytes:
    """Inverse of `encode`; raises CobsError on a zero byte or a block past the end."""
    out = bytearray()
    i = 0
    n = len(enc)
    while i < n:
        code = enc[i]
        if code == 0:
            raise CobsError(f"zero byte at offset {i} inside a COBS block")
        end = i + code
        if end > n:
            raise CobsError(f"block at offset {i} runs {end - n} bytes past the end")
        block = enc[i + 1:end]
        if 0 in block:
            raise CobsError(f"zero byte inside the block at offset {i}")
        out += block
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
