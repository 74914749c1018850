"""End to end over the host emulator board, on a real pty and over TCP: flash the
default model, validate 200 held-out digits bit-exact, infer, info, stats, pull."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from conftest import blob_variant

import edgesnn
from edgesnn.emulate import HostEmulator
from edgesnn.errors import BoardError, EdgesnnError


@pytest.fixture(scope="module", params=["pty", "tcp"])
def emu(request, host_board_exe):
    with HostEmulator(transport=request.param) as e:
        yield e


def test_fresh_board_says_hello_and_has_no_model(emu):
    with edgesnn.connect(emu.url) as board:
        info = board.info()
        assert info["protocol_version"] == 1 and info["blob_version"].startswith("1.")
        assert info["max_payload"] == 1024 and info["slot_bytes"] > 0
        assert info["arena_bytes"] > 0 and info["name"]
        assert info["active_slot"] is None and info["active"] is None
        with pytest.raises(EdgesnnError, match="no valid model"):
            board.infer(np.zeros((1, 1, 8, 8), np.float32))
        with pytest.raises(BoardError) as err:  # the board says so too
            board.link.request(0x20, bytes(4 + 64))
        assert err.value.name == "NO_MODEL"


def test_flash_validate_infer_pull(emu, default_model, digits):
    x, y = digits[2], digits[3]
    blob = default_model.blob
    with edgesnn.connect(emu.url) as board:
        res = board.flash(blob, progress=False)
        assert res["verified"] and res["bytes"] == len(blob) and res["resumed_from"] == 0
        info = board.info()
        assert info["active"]["crc32"] == zlib.crc32(blob)
        assert info["active"]["length"] == len(blob)

        val = board.validate(default_model, x[:200], y=y[:200])
        assert val["samples"] == 200 and val["agree"] == 200 and val["mismatches"] == []
        assert val["board_accuracy"] == val["host_accuracy"] > 0.9

        out = board.infer(x[:30])  # quantisation from the local copy flash() keeps
        host = default_model.outputs(x[:30])
        assert np.array_equal(out.outputs, host)
        assert np.array_equal(out.argmax, host.reshape(30, -1).argmax(axis=1))
        assert out.ticks.shape == (30,)

        ts = board.validate(default_model, x[:20], mode="tstep", steps=8)
        assert ts["agree"] == 20

        stats = board.stats()
        assert stats["invocations"] >= 250 and stats["uploads_committed"] >= 1
        assert stats["frames_ok"] > 250 and stats["boots"] >= 1
        assert board.pull() == blob


def test_new_connection_reads_the_model_back_for_quantisation(emu, default_model, digits):
    x = digits[2][:10]
    with edgesnn.connect(emu.url) as board:
        out = board.infer(x)  # no local model: READ_SLOT once, then quantise with it
        assert np.array_equal(out.outputs, default_model.outputs(x))
        assert board.active_model().blob == default_model.blob


def test_second_flash_takes_the_other_slot_and_survives_reset(emu, default_model, digits,
                                                             capsys):
    x = digits[2][:10]
    other = blob_variant(default_model.blob, 5)
    with edgesnn.connect(emu.url) as board:
        before = board.info()
        res = board.flash(other, progress=False)
        assert res["slot"] == 1 - before["active_slot"]
        assert res["generation"] == before["active"]["generation"] + 1
        after = board.reset()
        assert after["active_slot"] == res["slot"]
        assert after["active"]["crc32"] == zlib.crc32(other)
        assert np.array_equal(board.infer(x).outputs, edgesnn.load(other).outputs(x))
        with pytest.raises(EdgesnnError, match="different model"):
            board.validate(default_model, x)
        seen = []
        board.flash(default_model, progress=lambda done, total: seen.append((done, total)))
        assert seen[-1] == (len(default_model.blob),) * 2
        board.flash(default_model)  # a tqdm bar on stderr, like esptool's
        assert "flash host" in capsys.readouterr().err
        assert board.pull() == default_model.blob


def test_state_survives_a_board_restart(emu, default_model):
    crc = zlib.crc32(default_model.blob)
    emu.restart()
    with edgesnn.connect(emu.url) as board:
        info = board.info()
        assert info["active"]["crc32"] == crc
        assert board.pull() == default_model.blob


def test_a_board_that_dies_at_start_is_reported_with_its_last_words(host_board_exe):
    from edgesnn.emulate import EmulatorError
    with pytest.raises(EmulatorError, match="(?s)exited with code [1-9].*last words:.*slot-bytes"):
        HostEmulator(slot_bytes=3).start()
