"""Fine-tuning on a board over serial (FINETUNE_* of docs/protocol.md), on the host
emulator board: the board's result equals Model.finetune on the host byte for byte, an
interrupted or refused run leaves the previous model active, a noisy link still trains
every sample exactly once, and the board's refusals are clear errors."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from conftest import board_state
from faultproxy import FaultProxy, Faults, KillAtFrame

import edgesnn
from edgesnn.emulate import HostEmulator
from edgesnn.errors import BoardError, EdgesnnError, SerialLinkError
from edgesnn.serial import proto
from edgesnn.data.shifts import shifted_split

FAST = 0.2


@pytest.fixture(scope="module")
def shifted():
    """100 fine-tuning samples of the `gain` domain shift and 150 held-out ones."""
    x, y, xe, ye = shifted_split("gain", n_train=100)
    return x, y, xe[:150], ye[:150]


def host_run(x, y, **kw):
    m = edgesnn.load_default()
    res = m.finetune(x, y, **kw)
    return m, res


CONFIGS = [
    dict(epochs=2, trainable="head"),
    dict(epochs=1, trainable="bias", batch=8, momentum=0.5, surrogate="atan", seed=3),
    dict(epochs=1, trainable="all", mode="stored", steps=8, shuffle=False),
    dict(epochs=1, trainable="bias", steps=4, verify=True),  # the host board has verify
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["head", "bias-batch8-atan", "all-stored-T8",
                                              "bias-verify-T4"])
def test_board_finetune_equals_host_finetune_bit_for_bit(emu, default_model, shifted, cfg):
    x, y, xe, ye = shifted
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
        rows = []
        res = board.finetune(x, y, progress=rows.append, **cfg)
        pulled = board.pull()
        info = board.info()
        board_pred = board.infer(xe[:20]).argmax
    host, hres = host_run(x, y, **cfg)
    assert pulled == res.blob == host.blob  # the pulled model, byte for byte
    assert pulled != default_model.blob     # and it did learn something
    assert res.history == hres.history == rows  # per-epoch loss and accuracy, exactly
    assert res.memory == hres.memory and res.updates == hres.updates
    assert res.saturated == hres.saturated
    assert info["active_slot"] == res.slot == 1 and res.generation == 2
    assert info["active"]["crc32"] == res.crc32 == zlib.crc32(host.blob)
    assert info["slots"][0]["valid"]  # the previous model is still in its slot
    assert info["session"] is None
    assert np.array_equal(board_pred, host.predict(xe[:20]))
    assert res.ticks > 0 and res.tick_kind == "nanoseconds"
    assert info["finetune_verify"]
    assert res.verify_checks == hres.verify_checks
    assert res.verify_mismatches == hres.verify_mismatches
    assert res.verify_mismatches == 0 and (res.verify_checks > 0) == bool(cfg.get("verify"))


def test_fine_tuning_helps_on_the_shifted_domain(emu, default_model, shifted):
    x, y, xe, ye = shifted
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
        before = float(np.mean(board.infer(xe).argmax == ye))
        board.finetune(x, y, epochs=2, trainable="head")
        after = float(np.mean(board.infer(xe).argmax == ye))
        st = board.stats()
    assert after > before + 0.2, (before, after)
    assert st["finetunes_committed"] == 1 and st["finetune_samples"] == 200


def test_a_noisy_link_trains_every_sample_exactly_once(emu, default_model, shifted):
    x, y = shifted[0][:40], shifted[1][:40]
    faults = Faults(corrupt=0.002, drop=0.0005, duplicate=0.0005)
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
    with FaultProxy(lambda: FaultProxy.target_of(emu.url), up=faults, down=faults,
                    seed=5) as proxy:
        with edgesnn.connect(proxy.url, timeout=0.05, retries=40) as board:
            # a loopback board answers a sample in well under a millisecond
            res = board.finetune(x, y, epochs=2, trainable="bias", batch=4, sample_timeout=0.05)
            retrans = board.link.retransmissions
        assert proxy.stats["up"].corrupted + proxy.stats["down"].corrupted > 0
    assert retrans > 0
    host, _ = host_run(x, y, epochs=2, trainable="bias", batch=4)
    assert res.blob == host.blob
    with edgesnn.connect(emu.url) as board:
        assert board.stats()["finetune_samples"] == 80  # no duplicate was trained twice


def test_killing_the_board_mid_finetune_keeps_the_previous_model(emu, default_model, shifted):
    """Power cuts at BEGIN, mid-stream and during the COMMIT's flash writes: after the
    reboot the board runs the previous model, or (a COMMIT that completed) exactly the
    host's fine-tuned model; never anything else, never no model."""
    x, y = shifted[0][:12], shifted[1][:12]
    host, _ = host_run(x, y, epochs=1, trainable="head")
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
        before = board_state(board)
        board.info()
        board.active_model()
    old = default_model.blob
    outcomes = set()
    # frames: 0 BEGIN, 1..12 samples, 13 COMMIT (HELLO/READ_SLOT of the host come first,
    # they are skipped by giving the model)
    for frames, extra, settle in [(0, 10_000, 0), (5, 20, 0), (7, 10_000, 0.001),
                                  (13, 10_000, 0.0), (13, 10_000, 0.0005), (13, 10_000, 0.003),
                                  (13, 10_000, 0.02)]:
        port = edgesnn.serial.open_port(emu.url)
        link = edgesnn.serial.Link(KillAtFrame(port, emu, frames + 1, extra, settle),
                                   timeout=FAST, retries=1, name=emu.url)
        board = edgesnn.Board(link)
        with pytest.raises(SerialLinkError):
            board.finetune(x, y, epochs=1, trainable="head", model=default_model)
        board.close()
        assert not emu.alive
        emu.restart()
        with edgesnn.connect(emu.url, timeout=FAST) as b:
            now = board_state(b)
            blob = b.pull()
            assert b.info()["session"] is None
            x0 = shifted[2][:4]
            assert np.array_equal(b.infer(x0).outputs, edgesnn.load(blob).outputs(x0))
            if now == before:
                assert blob == old
                outcomes.add("old")
            else:  # the COMMIT went through before the kill
                assert frames == 13 and blob == host.blob and now[1] == before[1] + 1
                outcomes.add("new")
                b.flash(old, progress=False)  # back to the old model for the next round
                before = board_state(b)
    assert "old" in outcomes, outcomes


def test_an_aborted_finetune_leaves_the_old_model_and_serves_again(emu, default_model, shifted):
    x, y = shifted[0][:30], shifted[1][:30]
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
        before = board_state(board)

        def stop(row):
            raise KeyboardInterrupt  # Ctrl-C after the first epoch

        with pytest.raises(KeyboardInterrupt):
            board.finetune(x, y, epochs=3, progress=stop)
        assert board_state(board) == before and board.info()["session"] is None
        assert board.pull() == default_model.blob
        assert np.array_equal(board.infer(x[:3]).outputs, default_model.outputs(x[:3]))
        st = board.stats()
        assert st["finetune_samples"] == 30 and st["finetunes_committed"] == 0


def test_a_session_blocks_inference_and_uploads_until_it_ends(emu, default_model, shifted):
    x = shifted[0][:2]
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
        before = board_state(board)
        cfg = struct.pack("<BBBBHHffff", 0, 0, 0, 0, 0, 1, 0.05, 0.9, 0.0, 0.0)
        p = board.link.request(proto.FINETUNE_BEGIN, cfg)
        need, pers, scratch, arena, T, classes = struct.unpack("<IIIIHH", p)
        assert need == default_model.finetune_memory("head")["arena_bytes"] == pers + scratch
        assert (T, classes) == (default_model.default_steps, 10)
        assert board.info()["session"] == "finetune"
        with pytest.raises(BoardError, match="BUSY"):
            board.infer(x)
        with pytest.raises(BoardError, match="BUSY"):
            board.upload(default_model.blob)
        # a RESET ends the session; nothing was written
        board.reset()
        assert board.info()["session"] is None and board_state(board) == before
        assert np.array_equal(board.infer(x).outputs, default_model.outputs(x))
        board.link.request(proto.FINETUNE_BEGIN, cfg)
        board.finetune_abort()
        assert board.info()["session"] is None
        with pytest.raises(BoardError, match="NO_SESSION"):
            board.link.request(proto.FINETUNE_COMMIT)


def test_a_board_without_the_arena_says_how_much_is_needed(host_board_exe, default_model,
                                                           shifted):
    need = default_model.finetune_memory("all")["arena_bytes"]
    small = default_model.finetune_memory("head")["arena_bytes"] + 64
    assert small < need
    with HostEmulator(arena=small) as e, edgesnn.connect(e.url) as board:
        board.flash(default_model, progress=False)
        before = board_state(board)
        with pytest.raises(EdgesnnError, match=rf"needs an arena of {need} bytes .*host has "
                                               rf"{small}\. Train fewer parameters"):
            board.finetune(shifted[0][:5], shifted[1][:5], trainable="all")
        assert board_state(board) == before and board.info()["session"] is None
        res = board.finetune(shifted[0][:5], shifted[1][:5], trainable="head", epochs=1)
        assert res.memory["arena_bytes"] < small


def test_bad_data_is_refused_before_the_board_trains(emu, default_model, shifted):
    x, y = shifted[0][:10], shifted[1][:10]
    with edgesnn.connect(emu.url) as board:
        board.flash(default_model, progress=False)
        before = board_state(board)
        with pytest.raises(ValueError, match="outside 0..9"):
            board.finetune(x, np.where(np.arange(10) == 3, 10, y))
        bad = x.copy()
        bad[2, 0, 1, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            board.finetune(bad, y)
        with pytest.raises(EdgesnnError, match="shape"):
            board.finetune(x.reshape(10, 64), y)
        with pytest.raises(EdgesnnError, match="expected \\(10,\\)"):
            board.finetune(x, y[:9])
        with pytest.raises(ValueError, match="trainable"):
            board.finetune(x, y, trainable="everything")
        with pytest.raises(ValueError, match="momentum must be below 1"):
            board.finetune(x, y, momentum=1.5)
        st = board.stats()
        assert st["finetune_samples"] == 0 and board_state(board) == before
        assert board.info()["session"] is None
