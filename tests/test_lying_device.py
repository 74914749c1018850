"""A scripted fake board that lies in every field of every answer (issue 12, item 4).

The fake board is a TCP server on 127.0.0.1 in a thread (pyserial's socket:// URL) that
speaks the framing of docs/protocol.md section 1 with edgesnn.serial.frame, answers
honestly by default and lies where a test tells it to: lengths, sizes (0-byte answers,
4 GiB slots), statuses, sequence numbers, command echoes, silence, endless bytes without
a delimiter. Every host verb must end within its bound (docs/serial.md, "Bounds") with
an EdgesnnError, never hang, and never grow its memory with what the board claims.

The server stops by itself after LIFE seconds, so a host that would hang forever ends
with a "connection lost" error instead and the test fails on the elapsed time.
"""
from __future__ import annotations

import struct
import threading
import time
import tracemalloc
import zlib

import numpy as np
import pytest

import edgesnn
from _fakeboard import FLOOD, LIFE, FakeBoard, answer, hello_payload, honest
from edgesnn.serial import proto

TIMEOUT, RETRIES = 0.2, 1
MARGIN = 1.0          # seconds on top of each bound: scheduling, Python, the socket
ATTEMPTS = RETRIES + 1
# docs/serial.md, "Bounds": one request ends within timeout x (retries + 1); a chunked
# transfer (upload, read-back) within timeout x (retries + 8) without progress
REQUEST = TIMEOUT * ATTEMPTS
CHUNKED = TIMEOUT * (RETRIES + 8)


@pytest.fixture
def fake():
    boards = []

    def make(script):
        b = FakeBoard(script)
        boards.append(b)
        return b
    yield make
    for b in boards:
        b.close()


def run_bounded(fn, bound: float):
    """Run fn() in a thread; return (exception, seconds). Fails if it outlives `bound`."""
    box = {}

    def target():
        t0 = time.monotonic()
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            box["exc"] = exc
        box["seconds"] = time.monotonic() - t0
    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(bound + MARGIN)
    assert not th.is_alive(), f"the host did not end within {bound + MARGIN:.1f} s"
    assert box["seconds"] <= bound + MARGIN, f"took {box['seconds']:.2f} s > {bound + MARGIN}"
    return box.get("exc"), box["seconds"]


def expect_error(fn, bound, *, match=None):
    exc, secs = run_bounded(fn, bound)
    assert isinstance(exc, edgesnn.EdgesnnError), f"expected an EdgesnnError, got {exc!r}"
    if match:
        assert match in str(exc), str(exc)
    return exc


def connect(board):
    return edgesnn.connect(board.url, timeout=TIMEOUT, retries=RETRIES)


@pytest.fixture(scope="module")
def model():
    return edgesnn.load_default()


def active_hello(model, slot_bytes=65536):
    blob = model.blob
    return hello_payload(slot_bytes=slot_bytes, active=0,
                         slots=((1, 1, len(blob), zlib.crc32(blob)), (0, 0, 0, 0)))


# ---- HELLO (connect, info) --------------------------------------------------------
HELLO_LIES = {
    "silence": lambda r: None,
    "short answer": lambda r: answer(r, payload=b"\x01\x00" * 5),
    "empty answer": lambda r: answer(r),
    "endless bytes": lambda r: FLOOD,
    "wrong seq": lambda r: answer(r, payload=hello_payload(), seq=r.seq + 1),
    "wrong command echo": lambda r: answer(r, payload=hello_payload(), cmd=proto.STATS),
    "status BUSY": lambda r: answer(r, status=proto.BUSY, payload=b"\x02"),
    "unknown status": lambda r: answer(r, status=-7),
    "bad CRC": lambda r: answer(r, payload=hello_payload())[:-3] + b"\x01\x02\x00",
    "protocol version 7": lambda r: answer(r, payload=hello_payload(version=7)),
}


@pytest.mark.parametrize("lie", sorted(HELLO_LIES))
def test_connect_hello_lies(fake, lie):
    board = fake(HELLO_LIES[lie])
    expect_error(lambda: connect(board), REQUEST)


def test_stats_short_answer(fake):
    board = fake(honest(STATS=lambda r: answer(r, payload=b"\x01\x02\x03")))
    with connect(board) as b:
        expect_error(b.stats, REQUEST)


# ---- READ_SLOT (pull, infer/finetune without a local model) ------------------------
def _slot_hello(length, slot_bytes=65536, crc=0x12345678):
    return hello_payload(slot_bytes=slot_bytes, active=0,
                         slots=((1, 1, length, crc), (0, 0, 0, 0)))


def _read_len(req):
    return struct.unpack_from("<BBHI", req.payload)[2]


PULL_LIES = {
    # an OK answer with no bytes: the host looped forever
    "0-byte answers": (_slot_hello(3000), lambda r: answer(r)),
    # a 4 GiB slot: the host's memory grew without end
    "4 GiB slot": (_slot_hello(0xFFFFFFF0, slot_bytes=0xFFFFFFFF),
                   lambda r: answer(r, payload=bytes(_read_len(r)))),
    "slot longer than slot_bytes": (_slot_hello(5000, slot_bytes=4096),
                                    lambda r: answer(r, payload=bytes(_read_len(r)))),
    "more bytes than asked": (_slot_hello(100),
                              lambda r: answer(r, payload=bytes(_read_len(r) + 7))),
    "fewer bytes than asked": (_slot_hello(3000),
                               lambda r: answer(r, payload=bytes(max(1, _read_len(r) - 1)))),
    "silence": (_slot_hello(3000), lambda r: None),
    "endless bytes": (_slot_hello(3000), lambda r: FLOOD),
    "status NO_MODEL": (_slot_hello(3000), lambda r: answer(r, status=proto.NO_MODEL)),
    "wrong CRC": (_slot_hello(3000), lambda r: answer(r, payload=bytes(_read_len(r)))),
}


@pytest.mark.parametrize("lie", sorted(PULL_LIES))
def test_pull_lies(fake, lie):
    hello, read = PULL_LIES[lie]
    board = fake(honest(hello, READ_SLOT=read))
    with connect(board) as b:
        tracemalloc.start()
        try:
            expect_error(b.pull, REQUEST + CHUNKED)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"pull held {peak} bytes"


def test_infer_without_model_reads_back_bounded(fake, model):
    """infer --port without MODEL reads the model back: 0-byte READ_SLOT answers."""
    board = fake(honest(_slot_hello(3000), READ_SLOT=lambda r: answer(r)))
    with connect(board) as b:
        expect_error(lambda: b.infer(np.zeros((1, 1, 8, 8))), 2 * REQUEST + CHUNKED)


# ---- UPLOAD_* (flash) ---------------------------------------------------------------
def _upload_script(begin=None, chunk=None, commit=None, hello=None):
    state = {"next": 0}

    def honest_chunk(r):
        off = struct.unpack_from("<I", r.payload)[0]
        if off == state["next"]:
            state["next"] += len(r.payload) - 4
        return answer(r, payload=struct.pack("<I", state["next"]))
    return honest(hello, UPLOAD_BEGIN=begin or (lambda r: answer(r, payload=bytes(4))),
                  UPLOAD_CHUNK=chunk or honest_chunk,
                  UPLOAD_COMMIT=commit or (lambda r: answer(r, payload=struct.pack("<BBHI", 0, 0, 0, 2))),
                  UPLOAD_ABORT=lambda r: answer(r))


FLASH_LIES = {
    "BEGIN short answer": dict(begin=lambda r: answer(r, payload=b"\x00")),
    "BEGIN next_offset beyond size": dict(begin=lambda r: answer(r, payload=struct.pack("<I", 1 << 30))),
    "CHUNK next_offset stuck at 0": dict(chunk=lambda r: answer(r, payload=bytes(4))),
    "CHUNK next_offset goes back": dict(chunk=lambda r: answer(
        r, payload=struct.pack("<I", max(0, struct.unpack_from("<I", r.payload)[0] - 1)))),
    "CHUNK 0-byte answer": dict(chunk=lambda r: answer(r)),
    "CHUNK silence": dict(chunk=lambda r: None),
    "CHUNK endless bytes": dict(chunk=lambda r: FLOOD),
    "CHUNK status NO_SESSION": dict(chunk=lambda r: answer(r, status=proto.NO_SESSION)),
    "COMMIT always INCOMPLETE at the end": dict(commit=lambda r: answer(
        r, status=proto.INCOMPLETE, payload=struct.pack("<I", 3149))),
    "COMMIT INCOMPLETE beyond size": dict(commit=lambda r: answer(
        r, status=proto.INCOMPLETE, payload=struct.pack("<I", 1 << 31))),
    "COMMIT short answer": dict(commit=lambda r: answer(r, payload=b"\x00")),
    "COMMIT OK but HELLO shows no model": dict(),
}


@pytest.mark.parametrize("lie", sorted(FLASH_LIES))
def test_flash_lies(fake, model, lie):
    board = fake(_upload_script(**FLASH_LIES[lie]))
    with connect(board) as b:
        # HELLO, BEGIN, the chunks (3 of them), COMMIT, HELLO: each may lie
        expect_error(lambda: b.flash(model, progress=False), 3 * REQUEST + CHUNKED)


# ---- INFER (infer --port, validate) --------------------------------------------------
def _infer_ok(r, numel=10, dtype=proto.DTYPE_I32, cnt=None, extra=b""):
    vals = np.arange(numel, dtype="<i4").tobytes() if dtype == proto.DTYPE_I32 else bytes(numel)
    return answer(r, payload=struct.pack("<BBHII", dtype, 0, numel if cnt is None else cnt, 3, 99)
                  + vals + extra)


INFER_LIES = {
    "short answer": lambda r: answer(r, payload=b"\x02\x00"),
    "empty answer": lambda r: answer(r),
    "numel lie": lambda r: _infer_ok(r, cnt=11),
    "values missing": lambda r: answer(r, payload=struct.pack("<BBHII", proto.DTYPE_I32, 0, 10, 0, 0)),
    "extra bytes": lambda r: _infer_ok(r, extra=b"\x00" * 5),
    "unknown dtype": lambda r: _infer_ok(r, dtype=9),
    "argmax outside the outputs": lambda r: answer(
        r, payload=struct.pack("<BBHII", proto.DTYPE_I32, 0, 10, 4000000000, 0) + bytes(40)),
    "silence": lambda r: None,
    "endless bytes": lambda r: FLOOD,
    "RUNTIME_ERROR short payload": lambda r: answer(r, status=proto.RUNTIME_ERROR, payload=b"\x01"),
}


@pytest.mark.parametrize("lie", sorted(INFER_LIES))
def test_infer_lies(fake, model, lie):
    board = fake(honest(active_hello(model), INFER=INFER_LIES[lie]))
    x = np.zeros((2, 1, 8, 8))
    with connect(board) as b:
        expect_error(lambda: b.infer(x, model=model), 2 * REQUEST)


def test_validate_lies(fake, model):
    board = fake(honest(active_hello(model), INFER=INFER_LIES["numel lie"]))
    with connect(board) as b:
        expect_error(lambda: b.validate(model, np.zeros((2, 1, 8, 8))), 2 * REQUEST)


# ---- FINETUNE_* (finetune --port) -----------------------------------------------------
def _ft_script(begin=None, sample=None, commit=None, hello=None, model=None):
    state = {"k": 0}

    def honest_sample(r):
        state["k"] = struct.unpack_from("<I", r.payload)[0] + 1
        return answer(r, payload=struct.pack("<IIIIffI", state["k"], 0, 0, 0, 1.0, 1.0, 5))
    return honest(hello or active_hello(model),
                  FINETUNE_BEGIN=begin or (lambda r: answer(r, payload=struct.pack("<IIIIHH", 9000, 5000, 4000, 200000, 8, 10))),
                  FINETUNE_SAMPLE=sample or honest_sample,
                  FINETUNE_COMMIT=commit or (lambda r: answer(r, payload=bytes(_COMMIT_BYTES))),
                  FINETUNE_ABORT=lambda r: answer(r))


_COMMIT_BYTES = struct.calcsize("<BBHIII11Iff")
FT_LIES = {
    "BEGIN short answer": dict(begin=lambda r: answer(r, payload=b"\x01")),
    "BEGIN always BUSY (upload)": dict(begin=lambda r: answer(r, status=proto.BUSY, payload=b"\x01")),
    "BEGIN ARENA_TOO_SMALL short payload": dict(begin=lambda r: answer(r, status=proto.ARENA_TOO_SMALL)),
    "SAMPLE short answer": dict(sample=lambda r: answer(r, payload=b"\x01\x00")),
    "SAMPLE count lie": dict(sample=lambda r: answer(r, payload=struct.pack("<IIIIffI", 7, 0, 0, 0, 0, 0, 0))),
    "SAMPLE NaN loss": dict(sample=lambda r: answer(r, payload=struct.pack(
        "<IIIIffI", struct.unpack_from("<I", r.payload)[0] + 1, 0, 0, 0, float("nan"), 0, 0))),
    "SAMPLE silence": dict(sample=lambda r: None),
    "SAMPLE endless bytes": dict(sample=lambda r: FLOOD),
    "COMMIT short answer": dict(commit=lambda r: answer(r, payload=b"\x00" * 3)),
    "COMMIT sample count lie": dict(),
}


@pytest.mark.parametrize("lie", sorted(FT_LIES))
def test_finetune_lies(fake, model, lie):
    board = fake(_ft_script(model=model, **FT_LIES[lie]))
    x = np.zeros((2, 1, 8, 8))
    y = np.array([1, 2])
    # HELLO, BEGIN (timeout + 1 s), a sample (sample_timeout), COMMIT (timeout + 2 s),
    # the closing FINETUNE_ABORT (2 attempts)
    bound = REQUEST + ATTEMPTS * (TIMEOUT + 1.0) + 2 * ATTEMPTS * TIMEOUT + 2 * TIMEOUT
    with connect(board) as b:
        expect_error(lambda: b.finetune(x, y, epochs=1, model=model, sample_timeout=TIMEOUT),
                     bound)


# ---- numeric options of the Python API (item 3) ------------------------------------
@pytest.mark.parametrize("kw", [dict(timeout=float("nan")), dict(timeout=0), dict(timeout=-1),
                                dict(timeout=float("inf")), dict(retries=-5),
                                dict(retries=1.5), dict(timeout="x")])
def test_connect_refuses_bad_numbers(fake, kw):
    board = fake(honest())
    args = dict(timeout=TIMEOUT, retries=RETRIES) | kw
    exc, secs = run_bounded(lambda: edgesnn.connect(board.url, **args), REQUEST)
    assert isinstance(exc, (ValueError, edgesnn.EdgesnnError)), repr(exc)
    assert str(next(iter(kw))) in str(exc)


def test_request_refuses_nan_timeout(fake):
    board = fake(honest())
    with connect(board) as b:
        exc, _ = run_bounded(lambda: b.link.request(proto.HELLO, timeout=float("nan")), REQUEST)
    assert isinstance(exc, ValueError) and "timeout" in str(exc)


def test_bad_socket_url_is_clear():
    exc, _ = run_bounded(lambda: edgesnn.connect("socket://127.0.0.1:notaport"), 1.0)
    assert isinstance(exc, edgesnn.SerialLinkError)
    assert "debug|info" not in str(exc) and "notaport" in str(exc), str(exc)
