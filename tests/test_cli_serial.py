"""The serial verbs: emulate, flash, info, validate, ports, infer --port."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, blob_variant

import edgesnn
from edgesnn.cli import main
from edgesnn.emulate import HostEmulator

MODEL = edgesnn.default_model_path()


@pytest.fixture(scope="module")
def emu(host_board_exe):
    with HostEmulator() as e:
        yield e


def test_every_serial_verb_has_help_with_an_example():
    for verb in ["emulate", "flash", "info", "validate", "pull", "ports", "infer"]:
        r = subprocess.run([sys.executable, "-m", "edgesnn", verb, "--help"],
                           capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0 and "example:" in r.stdout, verb
    r = subprocess.run([sys.executable, "-m", "edgesnn", "infer", "--help"],
                       capture_output=True, text=True, cwd=ROOT)
    assert "--port" in r.stdout


def test_flash_info_validate_infer(emu, capsys, digits):
    assert main(["flash", "--port", emu.url, MODEL, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["verified"] and res["bytes"] == os.path.getsize(MODEL)

    assert main(["info", "--port", emu.url, "--json", "--stats"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["active"]["length"] == res["bytes"] and info["stats"]["uploads_committed"] >= 1

    assert main(["info", "--port", emu.url]) == 0
    text = capsys.readouterr().out
    assert "active, generation" in text and "arena" in text
    assert "fine-tuning yes (edgesnn finetune --port)" in text and "verify" not in text

    assert main(["validate", "--port", emu.url, MODEL, "-n", "60"]) == 0
    assert "bit-exact output totals: 60/60" in capsys.readouterr().out

    assert main(["validate", "--port", emu.url, MODEL, "-n", "20", "--json"]) == 0
    v = json.loads(capsys.readouterr().out)
    assert v["bit_exact"] and v["agree"] == 20

    assert main(["infer", "--port", emu.url, "--input", "digits", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    host = edgesnn.load(MODEL).predict(digits[2])
    assert out["predictions"] == host.tolist() and out["accuracy"] > 0.9
    assert len(out["ticks"]) == len(host)

    x = digits[2][:4]
    np.save(os.path.join(str(emu._tmp), "x.npy"), x)
    assert main(["infer", MODEL, "--port", emu.url, "--input",
                 os.path.join(str(emu._tmp), "x.npy")]) == 0
    assert "samples on board" in capsys.readouterr().out


def test_flash_text_output_and_a_different_model_is_refused_by_validate(emu, capsys, tmp_path):
    other = tmp_path / "other.esnn"
    other.write_bytes(blob_variant(edgesnn.load(MODEL).blob, 5))
    assert main(["flash", "-p", emu.url, str(other)]) == 0
    out = capsys.readouterr().out
    assert "flashed other.esnn" in out and "verify" in out and ": ok" in out
    assert main(["validate", "--port", emu.url, MODEL, "-n", "5"]) == 2
    err = capsys.readouterr().err
    assert "different model" in err and "flash it first" in err and len(err.splitlines()) == 1
    assert main(["flash", "-p", emu.url, MODEL, "--no-progress"]) == 0


def test_pull_reads_back_both_slots(capsys, tmp_path, host_board_exe):
    """After two flashes the active slot holds the second model and the inactive one
    the first; `pull` reads each back byte for byte, and refuses an empty board."""
    first = edgesnn.load(MODEL).blob
    second = blob_variant(first, 5)
    with HostEmulator() as e:
        assert main(["pull", "--port", e.url, "-o", str(tmp_path / "none.esnn")]) == 2
        assert "no valid model" in capsys.readouterr().err
        assert not (tmp_path / "none.esnn").exists()
        src = tmp_path / "second.esnn"
        src.write_bytes(second)
        assert main(["flash", "-p", e.url, MODEL, "--no-progress"]) == 0
        assert main(["flash", "-p", e.url, str(src), "--no-progress"]) == 0
        capsys.readouterr()
        assert main(["pull", "-p", e.url, "-o", str(tmp_path / "active.esnn"), "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert (tmp_path / "active.esnn").read_bytes() == second and res["bytes"] == len(second)
        old_slot = 1 - res["slot"]
        assert main(["pull", "-p", e.url, "--slot", str(old_slot), "-o",
                     str(tmp_path / "old.esnn")]) == 0
        assert "validated" in capsys.readouterr().out
        assert (tmp_path / "old.esnn").read_bytes() == first


def test_failures_are_one_line_with_exit_2(capsys, tmp_path):
    assert main(["info", "--port", "socket://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "cannot open socket://127.0.0.1:1" in err and len(err.strip().splitlines()) == 1
    assert main(["infer", "--input", "digits"]) == 2
    assert "--port" in capsys.readouterr().err
    bad = tmp_path / "bad.esnn"
    bad.write_bytes(b"ESNN" + bytes(100))
    assert main(["flash", "--port", "socket://127.0.0.1:1", str(bad)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_silent_board_times_out_with_advice(capsys):
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # accepts, never answers
    try:
        url = f"socket://127.0.0.1:{srv.getsockname()[1]}"
        assert main(["info", "--port", url, "--timeout", "0.05", "--retries", "2"]) == 2
        err = capsys.readouterr().err
        assert "no answer from the board" in err and "HELLO" in err and "2 retries" in err
    finally:
        srv.close()


def test_ports_and_auto(capsys, monkeypatch):
    assert main(["ports", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
    from edgesnn.serial import ports
    monkeypatch.setattr(ports, "list_ports", lambda: [])
    assert main(["info"]) == 2  # --port auto with nothing to pick
    assert "no USB serial port" in capsys.readouterr().err
    two = [{"device": d, "description": "board", "hwid": "", "usb": True, "vid": 1, "pid": 2,
            "serial_number": None, "manufacturer": None} for d in ("/dev/A", "/dev/B")]
    monkeypatch.setattr(ports, "list_ports", lambda: two)
    assert main(["info", "--port", "auto"]) == 2
    assert "refusing to guess" in capsys.readouterr().err
    monkeypatch.setattr(ports, "list_ports", lambda: two[:1])
    assert ports.resolve_port("auto") == "/dev/A"


def test_emulate_runs_until_sigterm(host_board_exe, tmp_path):
    flash = tmp_path / "board.bin"
    p = subprocess.Popen([sys.executable, "-m", "edgesnn", "emulate", "--json", "--flash",
                          str(flash)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT)
    try:
        line = json.loads(p.stdout.readline())
        assert line["url"].startswith("socket://127.0.0.1:") and not line["temporary_flash"]
        with edgesnn.connect(line["url"]) as board:
            board.flash(MODEL, progress=False)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert flash.exists()
    with HostEmulator(flash=str(flash)) as e, edgesnn.connect(e.url) as board:
        assert board.info()["active"]["length"] == os.path.getsize(MODEL)  # kept
