"""The board's two flash slots seen from the outside (issue 12, items 7 and 8), on the host
emulator board whose flash is a file the tests write themselves:

* a slot that fails its boot check (image CRC, header, the model's validation) is kept
  out of service *and reported*: HELLO's slot entry carries the check's result, `edgesnn
  info` and `edgesnn flash` say which slot failed and why, and so does the board's log;
* generations use serial-number arithmetic (docs/protocol.md section 5): 0 and
  0xFFFFFFFF (erased NOR) are never written, the generation after 0xFFFFFFFE is 1, and
  commits keep working across the wrap without ever losing the fallback slot.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import pytest
from conftest import blob_variant, board_state

import edgesnn
try:  # the host board's launcher (edgesnn.emulate since the package restructure)
    from edgesnn.emulate import HostEmulator
except ImportError:
    from edgesnn.emulate import HostEmulator
from edgesnn.data.shifts import shifted_split

SLOT_BYTES = 65536  # the host board's default --slot-bytes
HALF = 32 + SLOT_BYTES


def slot_header(generation: int, image: bytes, crc: int | None = None) -> bytes:
    h = b"ESLT" + struct.pack("<III", generation, len(image),
                              zlib.crc32(image) if crc is None else crc) + bytes(12)
    return h + struct.pack("<I", zlib.crc32(h))


def write_flash(path, slots: dict, fill: int = 0) -> None:
    """A flash file: slot -> (generation, image) or raw header+image bytes."""
    flash = bytearray([fill]) * (2 * HALF)
    for s, v in slots.items():
        raw = v if isinstance(v, (bytes, bytearray)) else slot_header(v[0], v[1]) + v[1]
        flash[s * HALF:s * HALF + len(raw)] = raw
    with open(path, "wb") as f:
        f.write(flash)


def cli(*args, timeout: float = 60.0):
    return subprocess.run([sys.executable, "-m", "edgesnn", *args], capture_output=True,
                          text=True, timeout=timeout)


def corrupted(image: bytes, at: int = 200) -> bytes:
    b = bytearray(image)
    b[at] ^= 0x40
    return bytes(b)


# ---- item 7: a slot that fails its boot check is reported --------------------------------

def test_a_corrupted_newest_slot_is_reported_everywhere(host_board_exe, tmp_path,
                                                        default_model):
    old = default_model.blob
    new = blob_variant(old, 8)
    bad = corrupted(new)
    path = tmp_path / "flash.bin"
    write_flash(path, {0: (1, old), 1: slot_header(2, new) + bad})  # header for `new`
    with HostEmulator(flash=str(path)) as emu:
        with edgesnn.connect(emu.url) as board:
            info = board.info()
            assert board_state(board) == (0, 1, zlib.crc32(old), len(old))
        s1 = info["slots"][1]
        assert not s1["valid"] and s1["check"] == "crc"
        assert s1["generation"] == 2 and "CRC" in s1["problem"]
        assert info["slots"][0]["check"] == "valid" and info["slots"][0]["problem"] is None
        # the board's log says so at boot
        log = emu.log_text()
        assert "slot 1" in log and "FAILED" in log and "CRC" in log, log
        # `edgesnn info`: the slot, its generation, the reason, and what runs instead
        r = cli("info", "--port", emu.url)
        assert r.returncode == 0, r.stderr
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("slot 1")][0]
        assert "generation 2" in line and "FAILED boot check" in line and "CRC" in line
        assert "empty" not in line
        assert "running the older model in slot 0" in r.stdout, r.stdout
        r = cli("info", "--port", emu.url, "--json")
        out = json.loads(r.stdout)
        assert out["slots"][1]["check"] == "crc" and out["slots"][1]["valid"] is False
        # `edgesnn flash` says it too (the new image replaces the failed slot)
        img = tmp_path / "m.esnn"
        img.write_bytes(blob_variant(old, 12))
        r = cli("flash", "--port", emu.url, str(img), "--no-progress")
        assert r.returncode == 0, r.stderr
        text = r.stdout + r.stderr
        assert "slot 1" in text and "FAILED boot check" in text and "CRC" in text, text
        with edgesnn.connect(emu.url) as board:
            info = board.info()
            # the failed header was invalidated when the upload began: newest intact + 1
            assert info["active_slot"] == 1 and info["active"]["generation"] == 2
            assert info["slots"][1]["check"] == "valid"


@pytest.mark.parametrize("what", ["header", "length", "model"])
def test_each_kind_of_failed_check_has_its_reason(host_board_exe, tmp_path, default_model,
                                                  what):
    old = default_model.blob
    new = blob_variant(old, 8)
    if what == "header":   # one flipped bit in the header: its CRC no longer matches
        raw = bytearray(slot_header(2, new) + new)
        raw[8] ^= 0x01
        expect, reason = "header", "header"
    elif what == "length":  # an intact header claiming more than a slot holds
        raw = slot_header(2, new + bytes(SLOT_BYTES)) + new
        expect, reason = "header", "length"
    else:                   # CRC-correct bytes that are not a valid blob
        junk = bytearray(new)
        struct.pack_into("<I", junk, 0, 0x12345678)  # the blob's magic
        raw = slot_header(2, bytes(junk)) + bytes(junk)
        expect, reason = "model", "ESNN_ERR_MAGIC"
    path = tmp_path / "flash.bin"
    write_flash(path, {0: (1, old), 1: bytes(raw)})
    with HostEmulator(flash=str(path)) as emu, edgesnn.connect(emu.url) as board:
        info = board.info()
        assert info["active_slot"] == 0
        s1 = info["slots"][1]
        assert s1["check"] == expect and reason in s1["problem"], s1
        assert "FAILED" in emu.log_text()


def test_a_model_too_big_for_the_arena_is_reported_with_the_numbers(host_board_exe, tmp_path,
                                                                      default_model):
    old = default_model.blob
    path = tmp_path / "flash.bin"
    write_flash(path, {0: (1, old)})
    assert default_model.arena_bytes > 256
    with HostEmulator(flash=str(path), arena=256) as emu:
        r = cli("info", "--port", emu.url)
        assert r.returncode == 0, r.stderr
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("slot 0")][0]
        assert "FAILED boot check" in line and "ARENA_TOO_SMALL" in line, r.stdout
        assert "no valid model" in r.stdout


def test_empty_and_erased_slots_are_not_failures(host_board_exe, tmp_path, default_model):
    for fill, word in [(0x00, "empty"), (0xFF, "erased")]:
        path = tmp_path / f"flash{fill}.bin"
        write_flash(path, {0: (1, default_model.blob)}, fill=fill)
        with HostEmulator(flash=str(path)) as emu:
            with edgesnn.connect(emu.url) as board:
                s1 = board.info()["slots"][1]
            assert s1["check"] == word and s1["problem"] is None
            r = cli("info", "--port", emu.url)
            line = [ln for ln in r.stdout.splitlines() if ln.startswith("slot 1")][0]
            assert word in line and "FAILED" not in r.stdout
            assert "FAILED" not in emu.log_text()


# ---- item 8: generations wrap with serial-number arithmetic ------------------------------

def test_uploads_keep_committing_across_the_generation_wrap(host_board_exe, tmp_path,
                                                           default_model):
    a = default_model.blob
    b, c, d = (blob_variant(a, t) for t in (8, 12, 20))
    path = tmp_path / "flash.bin"
    write_flash(path, {0: (0xFFFFFFFE, a), 1: (0xFFFFFFFD, b)})
    with HostEmulator(flash=str(path)) as emu:
        with edgesnn.connect(emu.url) as board:
            assert board_state(board) == (0, 0xFFFFFFFE, zlib.crc32(a), len(a))
            res = board.flash(c, progress=False)
            # 0xFFFFFFFF (erased NOR) and 0 are skipped: the next generation is 1
            assert (res["slot"], res["generation"]) == (1, 1)
            info = board.info()
            assert info["slots"][0]["valid"] and info["slots"][0]["generation"] == 0xFFFFFFFE
        emu.restart()
        with edgesnn.connect(emu.url) as board:
            # serial-number arithmetic: 1 is newer than 0xFFFFFFFE
            assert board_state(board) == (1, 1, zlib.crc32(c), len(c))
            res = board.flash(d, progress=False)
            assert (res["slot"], res["generation"]) == (0, 2)
            assert board.info()["slots"][1]["valid"]  # the fallback survives
        emu.restart()
        with edgesnn.connect(emu.url) as board:
            assert board_state(board) == (0, 2, zlib.crc32(d), len(d))


def test_a_legacy_generation_0xffffffff_still_boots_and_is_succeeded(host_board_exe,
                                                                     tmp_path, default_model):
    a = default_model.blob
    b = blob_variant(a, 8)
    path = tmp_path / "flash.bin"
    write_flash(path, {0: (0xFFFFFFFF, a), 1: (0xFFFFFFFE, b)})
    with HostEmulator(flash=str(path)) as emu:
        with edgesnn.connect(emu.url) as board:
            assert board_state(board) == (0, 0xFFFFFFFF, zlib.crc32(a), len(a))
            c = blob_variant(a, 12)
            res = board.flash(c, progress=False)
            assert (res["slot"], res["generation"]) == (1, 1)
            assert board.info()["slots"][0]["valid"]  # the fallback is intact
        emu.restart()
        with edgesnn.connect(emu.url) as board:
            assert board_state(board) == (1, 1, zlib.crc32(c), len(c))


def test_finetune_commits_across_the_generation_wrap(host_board_exe, tmp_path, default_model):
    a = default_model.blob
    b = blob_variant(a, 8)
    x, y, _, _ = shifted_split("gain", n_train=12)
    path = tmp_path / "flash.bin"
    write_flash(path, {0: (0xFFFFFFFF, a), 1: (0xFFFFFFFE, b)})
    with HostEmulator(flash=str(path)) as emu:
        with edgesnn.connect(emu.url) as board:
            res = board.finetune(x, y, epochs=1)
            assert (res.slot, res.generation) == (1, 1)
            info = board.info()
            assert info["slots"][0]["valid"] and info["slots"][0]["generation"] == 0xFFFFFFFF
        emu.restart()
        with edgesnn.connect(emu.url) as board:
            assert board_state(board) == (1, 1, res.crc32, len(res.blob))
