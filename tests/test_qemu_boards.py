"""The QEMU-emulated Cortex-M boards (boards/<name>/, boards/cortexm/), end to end:
build the firmware with arm-none-eabi-gcc, boot it in qemu-system-arm, flash the
default model over the emulated UART, validate 200 digits bit-exact against the host
runtime, pull the model back, deterministic instruction counts, fine-tuning on the
board (soft-float Cortex-M3/M4) bit-identical to the host's, memory fit (inference and
fine-tuning) on the 64 KB lm3s6965evb, and crashes reported with the board's last words.

These tests FAIL (they do not skip) without qemu-system-arm and arm-none-eabi-gcc:
CI installs them with tools/install.sh."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

import edgesnn
from edgesnn.emulate import QEMU_BOARDS, EmulatorError, QemuBoard, build_firmware
from edgesnn.errors import EdgesnnError

TIMEOUT = 2.0  # seconds per request: emulation is slower than a host process


@pytest.fixture(scope="session")
def toolchain():
    missing = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc", "make")
               if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run tools/install.sh (CI does)")


@pytest.fixture(scope="module", params=sorted(QEMU_BOARDS))
def qboard(request, toolchain):
    with QemuBoard(request.param) as q:
        yield q


def test_boots_with_banner_and_says_hello(qboard):
    assert qboard.banner.startswith(f"edgesnn-{qboard.board} ready")
    layout = qboard.layout()
    # the SysTick scaling gives instructions: a 2000-instruction loop measures ~2000
    assert 2000 <= int(layout["calib"].split("/")[0]) <= 2100
    with edgesnn.connect(qboard.url, timeout=TIMEOUT) as board:
        info = board.info()
        assert info["name"] == qboard.board and info["tick_kind"] == "instructions"
        assert info["active"] is None
        assert info["arena_bytes"] == int(layout["arena"])
        assert info["slot_bytes"] == int(layout["flash"]) // 2 - 32


def test_flash_validate_pull_and_ticks(qboard, default_model, digits):
    x, y = digits[2], digits[3]
    blob = default_model.blob
    with edgesnn.connect(qboard.url, timeout=TIMEOUT) as board:
        res = board.flash(blob, progress=False)
        assert res["verified"] and res["bytes"] == len(blob)
        assert board.info()["active"]["crc32"] == zlib.crc32(blob)

        val = board.validate(default_model, x[:200], y=y[:200])
        assert val["samples"] == 200 and val["agree"] == 200 and val["mismatches"] == []
        assert val["board_accuracy"] == val["host_accuracy"] > 0.9

        a, b = board.infer(x[:4]), board.infer(x[:4])
        assert (a.ticks > 1000).all()
        assert np.array_equal(a.ticks, b.ticks)  # deterministic instruction counts
        ts = board.validate(default_model, x[:5], mode="tstep", steps=8)
        assert ts["agree"] == 5
        t1 = board.infer(x[:2], mode="tstep", steps=8)
        t2 = board.infer(x[:2], mode="tstep", steps=8)
        assert np.array_equal(t1.ticks, t2.ticks)
        assert (t1.ticks > 4 * a.ticks[:2]).all()

        assert board.pull() == blob
        stats = board.stats()
        assert stats["invocations"] >= 215 and stats["uploads_committed"] == 1
        assert stats["frames_bad"] == 0
    peaks = qboard.peaks()
    assert 0 < peaks["stack_peak"] < peaks["stack_bytes"]
    assert 0 < peaks["arena_peak"] <= peaks["arena_bytes"]
    qboard.check()


def test_reset_keeps_the_ram_flash(qboard, default_model, digits):
    with edgesnn.connect(qboard.url, timeout=TIMEOUT) as board:
        if board.info()["active"] is None:
            board.flash(default_model, progress=False)
        after = board.reset()
        assert after["active"]["crc32"] == zlib.crc32(default_model.blob)
        assert np.array_equal(board.infer(digits[2][:3]).outputs,
                              default_model.outputs(digits[2][:3]))


@pytest.fixture(scope="module")
def shifted():
    from edgesnn.data.shifts import shifted_split
    x, y, _, _ = shifted_split("gain", n_train=100)
    return x, y


def _host_finetune(x, y, **kw):
    m = edgesnn.load_default()
    res = m.finetune(x, y, **kw)
    return m.blob, res


def test_finetune_on_the_board_equals_the_host(qboard, default_model, shifted):
    """Soft-float fine-tuning on the Cortex-M core gives the host's weights bit for bit:
    the classifier head (2 epochs) and every bias (backward through every layer)."""
    x, y = shifted
    with edgesnn.connect(qboard.url, timeout=TIMEOUT) as board:
        board.flash(default_model, progress=False)
        head = board.finetune(x[:20], y[:20], epochs=2, trainable="head", batch=2)
        pulled = board.pull()
        board.flash(default_model, progress=False)
        bias = board.finetune(x[20:30], y[20:30], epochs=1, trainable="bias", seed=4)
        assert board.info()["session"] is None
        after = board.infer(x[:3])
        board.flash(default_model, progress=False)  # as the other tests expect
    want_head, hres = _host_finetune(x[:20], y[:20], epochs=2, trainable="head", batch=2)
    want_bias, bres = _host_finetune(x[20:30], y[20:30], epochs=1, trainable="bias", seed=4)
    assert pulled == head.blob == want_head
    assert bias.blob == want_bias != default_model.blob
    assert head.history == hres.history and bias.history == bres.history
    assert head.memory == hres.memory and bias.memory == bres.memory
    assert head.tick_kind == "instructions" and bias.ticks > head.ticks > 0
    assert np.array_equal(after.outputs, edgesnn.load(want_bias).outputs(x[:3]))
    qboard.check()


def test_firmware_without_verify_mode_refuses_it_cleanly(qboard, default_model, shifted,
                                                         capsys):
    """The Cortex-M firmware is built with ESNN_TRAIN_VERIFY=0: HELLO says so, the host
    refuses verify=True before sending anything, and a BEGIN that asks for it anyway is
    refused by the board with the engine's CONFIG error (expected 0, actual 1), opening
    no session and leaving the model active."""
    import struct
    from edgesnn.errors import BoardError
    from edgesnn.runtime.finetune import TrainConfig
    from edgesnn.serial import proto
    from edgesnn.serial.finetune import config_bytes
    from edgesnn.cli import main
    x, y = shifted
    assert main(["info", "--port", qboard.url]) == 0  # one client at a time: before connect
    assert "fine-tuning yes (edgesnn finetune --port), without the verify mode" in \
        capsys.readouterr().out
    with edgesnn.connect(qboard.url, timeout=TIMEOUT) as board:
        board.flash(default_model, progress=False)
        info = board.info()
        assert info["finetune"] and not info["finetune_verify"]
        with pytest.raises(EdgesnnError, match="without the verify mode.*on the host"):
            board.finetune(x[:2], y[:2], epochs=1, verify=True)
        cfg = TrainConfig(default_model, verify=True).cfg
        with pytest.raises(BoardError) as e:
            board.link.request(proto.FINETUNE_BEGIN, config_bytes(cfg))
        assert e.value.name == "RUNTIME_ERROR"
        status, expected, actual = struct.unpack_from("<iII", e.value.payload)
        assert (status, expected, actual) == (-23, 0, 1)  # ESNN_ERR_CONFIG
        after = board.info()
        assert after["session"] is None and after["active"] == info["active"]
        assert board.finetune(x[:2], y[:2], epochs=1).blob == \
            _host_finetune(x[:2], y[:2], epochs=1)[0]
        board.flash(default_model, progress=False)  # as the other tests expect


def test_lm3s6965evb_fits_64k_ram(toolchain, default_model, digits, shifted):
    elf = build_firmware("lm3s6965evb")
    out = subprocess.run(["arm-none-eabi-size", "-A", elf], capture_output=True, text=True,
                         check=True).stdout
    sec = {ln.split()[0]: int(ln.split()[1]) for ln in out.splitlines()
           if ln.startswith(".") and len(ln.split()) >= 3}
    ram = sec.get(".data", 0) + sec.get(".bss", 0) + sec[".stack"]
    assert ram <= 64 * 1024
    with QemuBoard("lm3s6965evb") as q:
        with edgesnn.connect(q.url, timeout=TIMEOUT) as board:
            info = board.info()
            assert info["ram_bytes"] == 65536
            board.flash(default_model, progress=False)
            board.infer(digits[2][:3])
            st = board.stats()
            assert 0 < st["arena_used"] <= info["arena_bytes"]
            peaks = q.peaks()
            assert 0 < peaks["arena_peak"] <= info["arena_bytes"]
            board.infer(digits[2][:2], mode="tstep", steps=8)  # T-step fits too
            peaks = q.peaks()
            assert peaks["stack_peak"] < peaks["stack_bytes"] // 2  # ample headroom
            # fine-tuning in the 64 KB: every trainable subset of the default model
            x, y = shifted
            marks = {}
            for trainable, n in (("head", 8), ("bias", 4), ("all", 4)):
                board.flash(default_model, progress=False)
                res = board.finetune(x[:n], y[:n], epochs=1, trainable=trainable)
                want, hres = _host_finetune(x[:n], y[:n], epochs=1, trainable=trainable)
                assert res.blob == want and res.memory == hres.memory
                need = res.memory["arena_bytes"]
                assert need == default_model.finetune_memory(trainable)["arena_bytes"]
                assert need <= info["arena_bytes"]
                bm = res.board_memory
                assert bm["stack_bytes"] == int(q.layout()["stack"])
                assert 0 < bm["stack_peak"] < bm["stack_bytes"]
                assert res.memory["persistent_bytes"] + res.memory["scratch_peak"] <= \
                    bm["arena_peak"] <= info["arena_bytes"]
                marks[trainable] = (need, bm["arena_peak"], bm["stack_peak"])
            st = board.stats()
            assert st["finetunes_committed"] == 3 and st["stack_peak"] == bm["stack_peak"]
            print(f"lm3s6965evb fine-tuning (arena need, arena peak, stack peak) of "
                  f"{info['arena_bytes']} B arena, {bm['stack_bytes']} B stack: {marks}")
            assert q.peaks()["stack_peak"] == bm["stack_peak"]  # the semihosting log agrees


def test_crash_at_boot_is_reported_with_last_words(toolchain):
    t0 = time.monotonic()
    with pytest.raises(EmulatorError, match="(?s)exited with code 3.*last words:.*FAULT"):
        with QemuBoard("lm3s6965evb", fault=1, startup_timeout=20):
            pass
    assert time.monotonic() - t0 < 60  # including the build


def test_crash_mid_session_is_reported_not_hung(toolchain):
    with QemuBoard("netduinoplus2", fault=2, startup_timeout=20) as q:
        t0 = time.monotonic()
        with pytest.raises(EdgesnnError):
            edgesnn.connect(q.url, timeout=0.5, retries=3)
        assert time.monotonic() - t0 < 15
        assert q.wait(timeout=10) == 3
        with pytest.raises(EmulatorError, match="(?s)exited with code 3.*FAULT exception"):
            q.check()


def test_cli_emulate_board_and_bench(toolchain, tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "edgesnn", "emulate", "--board", "lm3s6965evb",
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        info = json.loads(line)
        assert info["board"] == "lm3s6965evb" and info["url"].startswith("socket://127.0.0.1:")
        from edgesnn.cli import main
        assert main(["info", "--port", info["url"], "--timeout", "2"]) == 0
        assert main(["flash", "--port", info["url"], "--timeout", "2",
                     edgesnn.default_model_path()]) == 0
        assert main(["validate", "--port", info["url"], "--timeout", "2", "-n", "20",
                     edgesnn.default_model_path()]) == 0
        from edgesnn.data.shifts import shifted_split
        x, y, _, _ = shifted_split("gain", n_train=10)
        data = tmp_path / "ft.npz"
        np.savez(data, X=x, y=y)
        assert main(["finetune", "--port", info["url"], "--timeout", "2", str(data),
                     "--epochs", "1", "-o", str(tmp_path / "new.esnn")]) == 0
        host = edgesnn.load_default()
        host.finetune(x, y, epochs=1)
        assert (tmp_path / "new.esnn").read_bytes() == host.blob
    finally:
        p.terminate()
        p.wait(timeout=10)
    out = subprocess.run([sys.executable, "-m", "edgesnn", "bench", "--board", "mps2-an386",
                          "-n", "3", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["tick_kind"] == "instructions" and res["deterministic"]
    assert res["onestep_mean"] > 0 and res["tstep_over_onestep"] > 1


def test_serve_build_leaves_fine_tuning_out(toolchain, default_model, shifted):
    """APP=serve (-DESNN_DEVICE_FINETUNE=0): the same protocol without the FINETUNE_*
    commands, the training engine or soft-float: smaller, and says so in HELLO."""
    def flash_bytes(elf):
        out = subprocess.run(["arm-none-eabi-size", "-B", elf], capture_output=True,
                             text=True, check=True).stdout.splitlines()[1].split()
        return int(out[0]) + int(out[1])
    serve, full = build_firmware("lm3s6965evb", app="serve"), build_firmware("lm3s6965evb")
    assert flash_bytes(full) - flash_bytes(serve) > 8000
    with QemuBoard("lm3s6965evb", elf=serve) as q, \
            edgesnn.connect(q.url, timeout=TIMEOUT) as board:
        assert board.info()["finetune"] is False
        board.flash(default_model, progress=False)
        with pytest.raises(EdgesnnError, match="no fine-tuning commands"):
            board.finetune(shifted[0][:2], shifted[1][:2])
        from edgesnn.serial import proto
        status, _ = board.link.transact(proto.FINETUNE_ABORT)
        assert status == proto.UNKNOWN_CMD
        assert board.validate(default_model, shifted[0][:5])["agree"] == 5
