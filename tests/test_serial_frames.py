"""Framing (COBS, CRC, FrameReader) and the link's stop-and-wait logic, in memory.

The link tests use a scripted in-memory port: it parses request frames and answers as
each test dictates (late, corrupted, duplicated, never), nothing more.
"""
from __future__ import annotations

import struct
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgesnn.errors import BoardError, EdgesnnError, LinkTimeout, SerialLinkError
from edgesnn.serial import cobs, proto
from edgesnn.serial.frame import (FrameError, FrameReader, build_body, build_frame,
                                  parse_frame)
from edgesnn.serial.link import Link

REQ, RESP = proto.KIND_REQUEST, proto.KIND_RESPONSE


# ---- COBS -----------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00", b"\x11", b"\x11\x00",
                                  bytes(range(1, 255)), bytes(range(256)),
                                  b"\x01" * 254, b"\x01" * 255, b"\x01" * 254 + b"\x00",
                                  b"\x00" * 600])
def test_cobs_round_trip_edges(data):
    enc = cobs.encode(data)
    assert 0 not in enc
    assert cobs.decode(enc) == data
    assert len(enc) <= len(data) + len(data) // 254 + 1


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2100))
def test_cobs_round_trip_hypothesis(data):
    enc = cobs.encode(data)
    assert 0 not in enc
    assert cobs.decode(enc) == data


def test_cobs_decode_accepts_trailing_empty_block_and_rejects_overruns():
    assert cobs.decode(b"\xff" + b"\x01" * 254 + b"\x01") == b"\x01" * 254
    with pytest.raises(cobs.CobsError):
        cobs.decode(b"\x05ab")
    with pytest.raises(cobs.CobsError):
        cobs.decode(b"\x03a\x00")


def test_max_frame_fits_max_encoded():
    frame = build_frame(REQ, proto.UPLOAD_CHUNK, 7, 0, b"\x00" * proto.MAX_PAYLOAD)
    assert len(frame) - 1 <= proto.MAX_ENCODED
    frame = build_frame(REQ, proto.UPLOAD_CHUNK, 7, 0, b"\x55" * proto.MAX_PAYLOAD)
    assert len(frame) - 1 <= proto.MAX_ENCODED


# ---- frames ---------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(-32768, 32767),
       st.binary(max_size=proto.MAX_PAYLOAD))
def test_frame_round_trip(cmd, seq, status, payload):
    f = parse_frame(build_frame(RESP, cmd, seq, status, payload), RESP)
    assert (f.kind, f.cmd, f.seq, f.status, f.payload) == (RESP, cmd, seq, status, payload)


def test_frame_layout_matches_the_spec():
    body = build_body(REQ, 0x10, 0x1234, 0, b"\x01\x02")
    assert body[:8] == bytes([0xA5, 0x10, 0x34, 0x12, 0, 0, 2, 0])
    assert body[8:10] == b"\x01\x02"
    assert struct.unpack("<I", body[10:])[0] == zlib.crc32(body[:10])


def test_parse_rejects_bad_crc_length_kind_and_oversize():
    body = bytearray(build_body(RESP, 1, 5, 0, b"hello"))
    bad_crc = bytearray(body)
    bad_crc[9] ^= 0x40
    with pytest.raises(FrameError, match="CRC"):
        parse_frame(cobs.encode(bytes(bad_crc)), RESP)
    bad_len = bytearray(body)
    bad_len[6] = 4  # payload_len no longer matches the body
    bad_len[-4:] = struct.pack("<I", zlib.crc32(bytes(bad_len[:-4])))
    with pytest.raises(FrameError, match="payload_len"):
        parse_frame(cobs.encode(bytes(bad_len)), RESP)
    with pytest.raises(FrameError, match="shorter"):
        parse_frame(cobs.encode(bytes(body[:11])), RESP)
    with pytest.raises(FrameError, match="kind"):
        parse_frame(cobs.encode(bytes(body)), REQ)
    with pytest.raises(FrameError, match="exceeds"):
        parse_frame(b"\x01" * (proto.MAX_ENCODED + 1), RESP)
    with pytest.raises(ValueError):
        build_frame(REQ, 1, 1, 0, b"x" * (proto.MAX_PAYLOAD + 1))


def test_reader_splits_joins_and_counts():
    frames = [build_frame(RESP, 1, i, 0, bytes([i]) * i) for i in range(1, 6)]
    wire = b"\x00" + b"".join(frames) + b"\x00\x00"
    r = FrameReader(RESP)
    got = []
    for i in range(0, len(wire), 3):  # byte-at-a-time-ish delivery
        got += r.feed(wire[i:i + 3])
    assert [f.seq for f in got] == [1, 2, 3, 4, 5]
    assert (r.ok, r.bad, r.oversized) == (5, 0, 0)  # empty frames are not counted


def test_reader_resyncs_after_garbage_bad_frames_and_oversize():
    good = build_frame(RESP, 2, 9, 0, b"ok")
    corrupted = bytearray(good)
    corrupted[3] ^= 0x01
    r = FrameReader(RESP)
    out = r.feed(b"\x13\x37garbage" + good)  # garbage glued to the front: one bad frame
    assert out == [] and r.bad == 1
    out = r.feed(bytes(corrupted) + b"\xaa" * 5000 + b"\x00" + good + b"\x07" * 100)
    assert [f.payload for f in out] == [b"ok"]
    assert r.bad == 2 and r.oversized == 1 and r.pending == 100
    r.reset()
    assert r.feed(good)[0].seq == 9


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_reader_recovers_after_any_noise(noise, step):
    good = build_frame(RESP, 3, 77, 0, b"payload")
    r = FrameReader(RESP)
    wire = noise + b"\x00" + good
    got = []
    for i in range(0, len(wire), step):
        got += r.feed(wire[i:i + step])
    assert got and got[-1].seq == 77 and got[-1].payload == b"payload"


# ---- the link, over a scripted in-memory port --------------------------------------
class ScriptedPort:
    """A pyserial-like port whose far end is `answer(frame, n) -> list[bytes]`, called for
    each complete request frame (n counts the frames received so far)."""

    def __init__(self, answer):
        self.answer = answer
        self.reader = FrameReader(REQ)
        self.rx = bytearray()
        self.written = bytearray()
        self.timeout = 0.02
        self.n = 0
        self.closed = False

    def write(self, data):
        if self.closed:
            raise OSError("port closed")
        self.written += data
        for f in self.reader.feed(bytes(data)):
            self.n += 1
            for chunk in self.answer(f, self.n):
                self.rx += chunk

    @property
    def in_waiting(self):
        return len(self.rx)

    def read(self, n):
        if not self.rx:
            time.sleep(self.timeout)
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out

    def close(self):
        self.closed = True


def reply(f, status=0, payload=b"", seq=None, cmd=None):
    return build_frame(RESP, f.cmd if cmd is None else cmd, f.seq if seq is None else seq,
                       status, payload)


def test_link_sends_resync_zero_then_request_and_counts_bytes():
    port = ScriptedPort(lambda f, n: [reply(f, payload=b"pong")])
    link = Link(port, timeout=0.2)
    assert link.request(proto.HELLO) == b"pong"
    assert port.written[0] == 0 and port.written[1] != 0
    assert link.tx_bytes == len(port.written) and link.rx_bytes == len(reply(
        parse_frame(bytes(port.written[1:]), REQ), payload=b"pong"))
    assert link.request(proto.STATS) == b"pong"
    assert port.written.count(0) == 3  # one resync zero only, then one per frame


def test_link_retransmits_same_bytes_and_discards_stale_seq():
    frames = []

    def answer(f, n):
        frames.append(f)
        if n == 1:
            return []  # lost: the host must retransmit
        return [reply(f, seq=(f.seq - 1) & 0xFFFF, payload=b"old"),  # a late duplicate
                reply(f, cmd=proto.STATS, payload=b"other"), reply(f, payload=b"new")]
    port = ScriptedPort(answer)
    link = Link(port, timeout=0.05, retries=3)
    assert link.request(proto.HELLO) == b"new"
    assert len(frames) == 2 and frames[0] == frames[1]  # same seq, same bytes
    assert link.retransmissions == 1 and link.stale_frames == 2


def test_link_fast_retransmit_on_corrupted_response():
    def answer(f, n):
        good = reply(f, payload=b"x" * 40)
        if n == 1:
            bad = bytearray(good)
            bad[5] ^= 0xFF
            return [bytes(bad)]
        return [good]
    port = ScriptedPort(answer)
    link = Link(port, timeout=5.0, retries=1)
    t0 = time.monotonic()
    assert link.request(proto.HELLO) == b"x" * 40
    assert time.monotonic() - t0 < 1.0  # did not wait for the 5 s timeout
    assert link.reader.bad == 1 and link.retransmissions == 1


def test_link_seq_increments_and_wraps():
    seqs = []
    port = ScriptedPort(lambda f, n: (seqs.append(f.seq), [reply(f)])[1])
    link = Link(port)
    link._seq = 0xFFFE
    for _ in range(3):
        link.request(proto.HELLO)
    assert seqs == [0xFFFF, 0, 1]


def test_link_timeout_names_port_command_retries_and_hint():
    port = ScriptedPort(lambda f, n: [])
    link = Link(port, timeout=0.02, retries=2, name="/dev/ttyFAKE")
    with pytest.raises(LinkTimeout) as err:
        link.request(proto.UPLOAD_COMMIT)
    msg = str(err.value)
    assert "/dev/ttyFAKE" in msg and "UPLOAD_COMMIT" in msg and "2 retries" in msg
    assert "check" in msg and "baud" in msg
    assert port.n == 3 and isinstance(err.value, EdgesnnError)


def test_link_board_error_carries_status_and_payload():
    port = ScriptedPort(lambda f, n: [reply(f, status=proto.INCOMPLETE,
                                            payload=struct.pack("<I", 42))])
    link = Link(port)
    with pytest.raises(BoardError) as err:
        link.request(proto.UPLOAD_COMMIT)
    e = err.value
    assert (e.status, e.name) == (6, "INCOMPLETE") and e.payload == struct.pack("<I", 42)
    assert "UPLOAD_COMMIT" in str(e)


def test_link_lost_port_is_a_serial_link_error():
    port = ScriptedPort(lambda f, n: [reply(f)])
    link = Link(port)
    port.close()
    with pytest.raises(SerialLinkError, match="lost"):
        link.request(proto.HELLO)


def test_link_transfer_time_extends_timeout_at_low_baud():
    link = Link(ScriptedPort(lambda f, n: []), timeout=0.1, baudrate=9600)
    assert link._transfer_time(1000) == pytest.approx(10000 / 9600)
    assert Link(ScriptedPort(lambda f, n: []))._transfer_time(1000) == 0.0
