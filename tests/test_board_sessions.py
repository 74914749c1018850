"""Who owns a fine-tuning session on a board (issue 12, item 6), and INFER's reserved field
(item 9), on the host emulator board.

A serial line cannot tell hosts apart, so a session is owned by a token the host chooses
in FINETUNE_BEGIN and sends with every later FINETUNE_* command; a session that has gone
without a request from its owner for longer than the board's stated idle limit is stale,
and is ended by the next HELLO or by any command it would otherwise refuse with BUSY
(the previous model stays active, nothing is written). `edgesnn finetune --abort` ends a
session explicitly. A flash during someone else's fine-tuning fails once, clearly, on the
flasher's side, and the fine-tuning goes on.
"""
from __future__ import annotations

import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import board_state

import edgesnn
try:  # the host board's launcher (edgesnn.emulate since the package restructure)
    from edgesnn.emulate import HostEmulator
except ImportError:
    from edgesnn.emulate import HostEmulator
from edgesnn.errors import BoardError
from edgesnn.serial import proto
from edgesnn.data.shifts import shifted_split

CFG = struct.pack("<BBBBHHffff", 0, 0, 0, 0, 0, 1, 0.05, 0.9, 0.0, 0.0)  # head, batch 1
FT_FLAG_TOKEN = 0x02  # FINETUNE_SAMPLE: a u32 token follows the 8-byte header


@pytest.fixture(scope="module")
def data():
    x, y, _, _ = shifted_split("gain", n_train=12)
    return x, y


def cli(*args, timeout: float = 60.0):
    return subprocess.run([sys.executable, "-m", "edgesnn", *args], capture_output=True,
                          text=True, timeout=timeout)


def begin(board, token: int | None):
    payload = CFG if token is None else CFG + struct.pack("<I", token)
    return board.link.request(proto.FINETUNE_BEGIN, payload, timeout=2.0)


def sample(board, model, x, label: int, index: int, token: int | None):
    q = model.input_codes(x[None], False)[0].tobytes()
    if token is None:
        head = struct.pack("<IHBB", index, label, 0, 0)
    else:
        head = struct.pack("<IHBBI", index, label, FT_FLAG_TOKEN, 0, token)
    return board.link.request(proto.FINETUNE_SAMPLE, head + q, timeout=2.0)


def orphan_a_session(url: str) -> None:
    """A host that opened a session and vanished (SIGKILL, cut cable): no ABORT ever."""
    board = edgesnn.connect(url)
    begin(board, 0x0BADF00D)
    board.close()


def flashed(emu, model):
    with edgesnn.connect(emu.url) as board:
        board.flash(model, progress=False)
        return board_state(board)


def test_finetune_abort_ends_an_orphaned_session(emu, default_model, data, tmp_path):
    before = flashed(emu, default_model)
    orphan_a_session(emu.url)
    r = cli("info", "--port", emu.url)
    assert r.returncode == 0 and "fine-tuning" in r.stdout and "idle" in r.stdout, r.stdout
    # a verb the session blocks says what is going on and how to end it, in one line
    np.savez(tmp_path / "x.npz", x=data[0][:2])
    r = cli("infer", "--port", emu.url, "--input", str(tmp_path / "x.npz"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "fine-tuning session" in r.stderr and "finetune --abort" in r.stderr, r.stderr
    r = cli("finetune", "--abort", "--port", emu.url)
    assert r.returncode == 0, r.stderr
    assert "ended" in r.stdout, r.stdout
    with edgesnn.connect(emu.url) as board:
        assert board.info()["session"] is None and board_state(board) == before
        x = data[0][:3]
        assert np.array_equal(board.infer(x).outputs, default_model.outputs(x))
    r = cli("finetune", "--abort", "--port", emu.url)  # nothing open: says so, exit 0
    assert r.returncode == 0 and "no" in r.stdout.lower(), r.stdout


def test_a_stale_session_is_ended_by_the_next_hello(host_board_exe, default_model, data):
    with HostEmulator(session_idle=0.5) as emu:
        before = flashed(emu, default_model)
        orphan_a_session(emu.url)
        with edgesnn.connect(emu.url) as board:
            info = board.info()
            assert info["session"] == "finetune" and info["session_idle_limit"] == 0.5
            with pytest.raises(BoardError, match="BUSY") as exc:
                board.infer(data[0][:1])
            assert "finetune --abort" in str(exc.value) and "0.5 s" in str(exc.value)
        time.sleep(0.8)
        with edgesnn.connect(emu.url) as board:  # its HELLO ends the stale session
            assert board.info()["session"] is None and board_state(board) == before
            x = data[0][:3]
            assert np.array_equal(board.infer(x).outputs, default_model.outputs(x))
        assert "stale" in emu.log_text()


def test_a_stale_session_is_ended_by_a_command_it_would_refuse(host_board_exe,
                                                               default_model, data):
    with HostEmulator(session_idle=0.3) as emu:
        flashed(emu, default_model)
        with edgesnn.connect(emu.url) as board:
            begin(board, 7)
            time.sleep(0.5)
            # no HELLO in between: the INFER itself ends the stale session and runs
            x = data[0][:2]
            assert np.array_equal(board.infer(x, model=default_model).outputs,
                                  default_model.outputs(x))
            with pytest.raises(BoardError, match="NO_SESSION"):
                sample(board, default_model, data[0][0], int(data[1][0]), 0, 7)


def test_a_session_belongs_to_its_token(emu, default_model, data):
    before = flashed(emu, default_model)
    x, y = data
    a, b = 0x1111, 0x2222  # two hosts on one line: the board sees one byte stream
    with edgesnn.connect(emu.url) as board:
        p = begin(board, a)
        assert len(p) == 20  # version 1's answer, unchanged
        assert board.info()["session_idle_limit"] == 10.0  # the host board's default
        with pytest.raises(BoardError, match="BUSY"):
            begin(board, b)
        with pytest.raises(BoardError, match="NOT_OWNER"):
            sample(board, default_model, x[0], int(y[0]), 0, b)
        with pytest.raises(BoardError, match="NOT_OWNER"):
            sample(board, default_model, x[0], int(y[0]), 0, None)
        with pytest.raises(BoardError, match="NOT_OWNER"):
            board.link.request(proto.FINETUNE_COMMIT, struct.pack("<I", b), timeout=2.0)
        with pytest.raises(BoardError, match="NOT_OWNER"):
            board.link.request(proto.FINETUNE_ABORT, struct.pack("<I", b))
        # the owner's session is untouched by all that
        p = sample(board, default_model, x[0], int(y[0]), 0, a)
        assert struct.unpack_from("<I", p)[0] == 1
        begin(board, a)  # the owner may start afresh
        assert board.info()["session"] == "finetune"
        board.link.request(proto.FINETUNE_ABORT, struct.pack("<I", a))
        assert board.info()["session"] is None and board_state(board) == before


def test_a_host_without_tokens_still_fine_tunes(emu, default_model, data):
    """Backward compatibility: the 24-byte BEGIN, SAMPLE without the token flag and an
    empty COMMIT are version 1's commands and keep working."""
    before = flashed(emu, default_model)
    x, y = data
    with edgesnn.connect(emu.url) as board:
        assert board.info()["session_tokens"]
        begin(board, None)
        for i in range(3):
            sample(board, default_model, x[i], int(y[i]), i, None)
        with pytest.raises(BoardError, match="NOT_OWNER"):  # not a token session
            sample(board, default_model, x[3], int(y[3]), 3, 99)
        p = board.link.request(proto.FINETUNE_COMMIT, timeout=3.0)
        assert p[0] == 1 - before[0]
        assert board.info()["active"]["generation"] == before[1] + 1


def test_board_finetune_owns_its_session(emu, default_model, data):
    flashed(emu, default_model)
    x, y = data
    seen = []
    with edgesnn.connect(emu.url) as board:
        def spy(row):  # between epochs: another host's BEGIN is refused, not obeyed
            with pytest.raises(BoardError, match="BUSY"):
                begin(board, 0xDEAD)
            seen.append(row)
        res = board.finetune(x, y, epochs=2, progress=spy)
    assert len(seen) == 2 and len(res.history) == 2


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_a_flash_during_someone_elses_finetune_fails_once_clearly(host_board_exe,
                                                                  default_model, data,
                                                                  tmp_path, transport):
    other = tmp_path / "other.esnn"
    from conftest import blob_variant
    other.write_bytes(blob_variant(default_model.blob, 8))
    x, y = data
    with HostEmulator(transport=transport) as emu:
        before = flashed(emu, default_model)
        results = []
        with edgesnn.connect(emu.url) as board:
            def flash_now(row):
                if not results:
                    results.append(cli("flash", "--port", emu.url, str(other),
                                       "--no-progress", "--timeout", "0.3", "--retries", "2"))
            res = board.finetune(x, y, epochs=2, progress=flash_now)
        r = results[0]
        assert r.returncode == 2, (r.stdout, r.stderr)
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in r.stderr, r.stderr
        assert ("fine-tun" in err[0] or "in use" in err[0]), err[0]
        # the fine-tuning went on undisturbed and committed
        assert res.generation == before[1] + 1
        with edgesnn.connect(emu.url) as board:
            assert board_state(board)[1] == before[1] + 1


def test_infer_checks_its_reserved_field(emu, default_model, data):
    flashed(emu, default_model)
    q = default_model.input_codes(data[0][:1], False)[0].tobytes()
    with edgesnn.connect(emu.url) as board:
        for reserved in (1, 0x100, 0xFFFF):
            with pytest.raises(BoardError, match="BAD_ARG"):
                board.link.request(proto.INFER, struct.pack("<BBH", 0, 0, reserved) + q)
        board.link.request(proto.INFER, struct.pack("<BBH", 0, 0, 0) + q)
