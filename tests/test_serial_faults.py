"""The protocol under faults: corrupted bytes, cut connections, a board killed at random
moments of an upload, and garbage on the line. Fault tests use small timeouts."""
from __future__ import annotations

import random
import socket
import struct
import zlib

import numpy as np
import pytest
from conftest import blob_variant, board_state
from faultproxy import FaultProxy, Faults, KillAtFrame

import edgesnn
from edgesnn.errors import BoardError, SerialLinkError
from edgesnn.serial import proto
from edgesnn.serial.frame import build_body, build_frame
from edgesnn.serial import cobs

FAST = 0.2  # seconds per answer on loopback: a hundred times the round trip


def _flash_direct(url, blob):
    with edgesnn.connect(url, timeout=FAST) as board:
        board.flash(blob, progress=False)
        return board_state(board)


# ---- 1% corrupted bytes, both directions ---------------------------------------------
def test_uploads_complete_and_verify_at_1pct_corruption(emu, default_model, digits):
    blobs = [default_model.blob, blob_variant(default_model.blob, 5)]
    faults = Faults(corrupt=0.01)
    with FaultProxy(lambda: FaultProxy.target_of(emu.url), up=faults, down=faults,
                    seed=7) as proxy:
        # ~90 request frames per 3 KB upload are lost at this rate, each costing a
        # timeout: keep it short (loopback round trips are well under a millisecond)
        with edgesnn.connect(proxy.url, timeout=0.03, retries=40) as board:
            for blob in blobs:  # one upload into each slot
                res = board.flash(blob, progress=False)  # verifies by HELLO
                assert res["verified"]
            assert board.link.retransmissions > 0
            x = digits[2][:5]
            assert np.array_equal(board.infer(x).outputs, edgesnn.load(blobs[1]).outputs(x))
        assert proxy.stats["up"].corrupted > 20 and proxy.stats["down"].corrupted > 0
    with edgesnn.connect(emu.url) as board:  # and the image is intact, byte for byte
        assert board.pull() == blobs[1]
        assert board.stats()["frames_bad"] > 0


def test_drops_duplicates_and_delays_are_survived(emu, default_model):
    up = Faults(drop=0.001, duplicate=0.001, corrupt=0.001, delay=0.1, max_delay=0.005)
    down = Faults(drop=0.001, duplicate=0.002, delay=0.1, max_delay=0.005)
    with FaultProxy(lambda: FaultProxy.target_of(emu.url), up=up, down=down, seed=3) as proxy:
        with edgesnn.connect(proxy.url, timeout=0.03, retries=40) as board:
            board.flash(default_model.blob, progress=False)
            assert board.pull() == default_model.blob
        st = proxy.stats
        assert st["up"].dropped and st["up"].duplicated and st["down"].delayed


# ---- a cut connection resumes ------------------------------------------------------
def test_cut_connection_resumes_from_the_acknowledged_offset(emu, default_model):
    blob = blob_variant(default_model.blob, 6)
    acked = []
    with FaultProxy(lambda: FaultProxy.target_of(emu.url), up=Faults(cut_after=1500)) as proxy:
        with edgesnn.connect(proxy.url, timeout=FAST, retries=2) as board:
            before = board_state(board)
            with pytest.raises(SerialLinkError):
                board.upload(blob, progress=lambda done, total: acked.append(done), chunk=200)
        assert proxy.cuts == 1
        proxy.up.cut_after = None
        with edgesnn.connect(proxy.url, timeout=FAST) as board:
            assert board_state(board) == before  # nothing committed, the old model runs
            res = board.upload(blob, chunk=200)
            assert res["resumed_from"] >= max(acked) > 0
            assert res["resumed_from"] < len(blob)
            assert res["sent_bytes"] == len(blob) - res["resumed_from"]
            assert board.pull() == blob


# ---- the board killed at random moments of an upload -------------------------------
def test_killing_the_board_mid_upload_keeps_the_committed_model(emu, default_model, digits):
    x = digits[2][:8]
    rng = random.Random(11)
    models = [default_model.blob] + [blob_variant(default_model.blob, t) for t in (3, 5, 7)]
    committed = models[0]
    _flash_direct(emu.url, committed)
    points = set()
    for round_ in range(4):
        new = models[(round_ + 1) % len(models)]
        chunks = -(-len(new) // 64)
        for _ in range(9):
            with edgesnn.connect(emu.url, timeout=FAST) as board:
                before = board_state(board)
            frames = rng.randrange(0, chunks + 2)  # BEGIN, the chunks, COMMIT
            commit_len = len(build_frame(proto.KIND_REQUEST, proto.UPLOAD_COMMIT, 0))
            if frames == chunks + 1:  # never the whole COMMIT: it may legitimately commit
                extra = rng.randrange(0, commit_len - 1)
            else:
                extra = rng.choice([0, rng.randrange(1, 40), 10_000])  # none, part, all
            port = edgesnn.serial.open_port(emu.url)
            board = edgesnn.Board(edgesnn.serial.Link(
                KillAtFrame(port, emu, frames, extra, settle=rng.uniform(0, 0.002)),
                timeout=FAST, retries=1, name=emu.url))
            with pytest.raises(SerialLinkError):
                board.upload(new, chunk=64)
            board.close()
            assert not emu.alive
            points.add((round_, frames, extra))
            emu.restart()
            with edgesnn.connect(emu.url, timeout=FAST) as board:
                assert board_state(board) == before, f"kill during frame {frames} after {extra} bytes"
                assert board.pull() == committed
                assert np.array_equal(board.infer(x).outputs, edgesnn.load(committed).outputs(x))
        # then a new upload succeeds, and becomes the committed model
        after = _flash_direct(emu.url, new)
        assert after[1] == before[1] + 1 and after[2] == zlib.crc32(new)
        committed = new
    assert len(points) >= 30
    with edgesnn.connect(emu.url) as board:
        assert board.stats()["boots"] >= 1


# ---- garbage on the line -----------------------------------------------------------
def _raw(url):
    host, port = FaultProxy.target_of(url)
    s = socket.create_connection((host, port), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _check_alive_and_unchanged(emu, expect):
    assert emu.alive, emu.log_text()[-2000:]
    with edgesnn.connect(emu.url, timeout=FAST) as board:
        assert board_state(board) == expect


def test_garbage_never_crashes_the_board_or_changes_the_model(emu, default_model):
    expect = _flash_direct(emu.url, default_model.blob)
    rng = np.random.default_rng(5)
    valid_req = build_frame(proto.KIND_REQUEST, proto.HELLO, 1)

    # random bytes, with and without zeros; oversized frames; bad CRCs; wrong kinds
    s = _raw(emu.url)
    s.sendall(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    s.sendall(rng.integers(1, 256, 5000, dtype=np.uint8).tobytes() + b"\x00")
    s.sendall(b"\x01" * 3000 + b"\x00")
    for i in range(50):
        body = bytearray(build_body(proto.KIND_REQUEST, rng.integers(0, 256), i, 0,
                                    rng.integers(0, 256, rng.integers(0, 1025),
                                                 dtype=np.uint8).tobytes()))
        body[rng.integers(0, len(body))] ^= 0x10
        s.sendall(cobs.encode(bytes(body)) + b"\x00")
    s.sendall(build_frame(proto.KIND_RESPONSE, proto.RESET, 9))   # a response: dropped
    s.sendall(cobs.encode(valid_req[:-6]) + b"\x00")               # truncated frame
    s.sendall(b"\xff\x00\x00\x00")
    # a valid request last: its answer proves the board has read all of the above (a
    # closed connection's unread bytes may be dropped when the next client connects)
    s.sendall(build_frame(proto.KIND_REQUEST, proto.HELLO, 77))
    s.settimeout(10.0)
    got = b""
    while b"\x00" not in got:
        chunk = s.recv(4096)
        assert chunk, "the board closed the connection instead of answering"
        got += chunk
    s.close()
    _check_alive_and_unchanged(emu, expect)

    with edgesnn.connect(emu.url, timeout=FAST) as board:
        link = board.link

        def status(cmd, payload=b""):
            return link.transact(cmd, payload)[0]

        # out-of-order and malformed commands
        assert status(proto.UPLOAD_ABORT) == proto.OK
        assert status(proto.UPLOAD_COMMIT) == proto.NO_SESSION
        assert status(proto.UPLOAD_CHUNK, struct.pack("<I", 0) + b"abc") == proto.NO_SESSION
        assert status(0x7E) == proto.UNKNOWN_CMD
        assert status(proto.HELLO, b"x") == proto.BAD_LENGTH
        assert status(proto.UPLOAD_BEGIN, b"\x01\x02") == proto.BAD_LENGTH
        assert status(proto.UPLOAD_BEGIN, struct.pack("<II", 0, 0)) == proto.TOO_LARGE
        assert status(proto.READ_SLOT, struct.pack("<BBHI", 0, 0, 16, 1 << 30)) == proto.BAD_ARG
        assert status(proto.READ_SLOT, struct.pack("<BBHI", 7, 0, 16, 0)) in (
            proto.BAD_ARG, proto.NO_MODEL)
        assert status(proto.INFER, b"\x00\x00\x00\x00" + b"\x01" * 3) in (
            proto.RUNTIME_ERROR, proto.BAD_LENGTH)
        assert status(proto.INFER, b"\x05\x00\x00\x00" + bytes(64)) in (
            proto.BAD_ARG, proto.RUNTIME_ERROR)

        # an upload larger than a slot
        slot = board.info()["slot_bytes"]
        with pytest.raises(BoardError) as err:
            board.upload(bytes(slot + 1))
        assert err.value.name == "TOO_LARGE" and "do not fit" in str(err.value)

        # a chunk past the end; a gap; an image that is not a model; a CRC lie
        junk = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
        assert status(proto.UPLOAD_BEGIN, struct.pack("<II", 100, 1)) == proto.OK
        assert status(proto.UPLOAD_CHUNK, struct.pack("<I", 90) + bytes(20)) == proto.BAD_ARG
        nxt = link.request(proto.UPLOAD_CHUNK, struct.pack("<I", 50) + bytes(10))
        assert struct.unpack("<I", nxt)[0] == 0  # a gap writes nothing
        assert status(proto.UPLOAD_COMMIT) == proto.INCOMPLETE
        with pytest.raises(BoardError) as err:
            board.upload(junk)
        assert err.value.name == "INVALID_MODEL"
        lie = struct.pack("<II", 64, zlib.crc32(b"something else"))
        assert status(proto.UPLOAD_BEGIN, lie) == proto.OK
        assert status(proto.UPLOAD_CHUNK, struct.pack("<I", 0) + bytes(64)) == proto.OK
        assert status(proto.UPLOAD_COMMIT) == proto.CRC_MISMATCH
        assert status(proto.UPLOAD_COMMIT) == proto.NO_SESSION  # the session was dropped
        st = board.stats()
        assert st["uploads_rejected"] >= 2
        assert st["frames_bad"] > 0 and st["frames_oversized"] > 0
    _check_alive_and_unchanged(emu, expect)


def test_retransmitted_requests_have_one_effect(emu, default_model):
    """Duplicates of every frame (same seq) must not double-write or double-commit."""
    _flash_direct(emu.url, default_model.blob)
    blob = blob_variant(default_model.blob, 4)
    with edgesnn.connect(emu.url, timeout=FAST) as board:
        gen = board_state(board)[1]
        link = board.link
        seq_frames = []
        orig = link._write

        def twice(data):  # send every request frame two times in a row
            orig(data)
            if data != b"\x00":
                orig(data)
                seq_frames.append(data)
        link._write = twice
        res = board.upload(blob, chunk=500)
        assert res["generation"] == gen + 1
        link._write = orig
        assert board.pull() == blob
        assert len(seq_frames) >= 9
