"""`edgesnn finetune`: on the host runtime (MODEL DATA -o NEW) and on a board (--port),
the same model bit for bit, per-epoch output, --json, and one-line errors for bad data."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import edgesnn
from edgesnn.cli import main
from edgesnn.emulate import HostEmulator
from edgesnn.data.shifts import shifted_split

MODEL = edgesnn.default_model_path()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """DATA.npz (60 samples of the gain shift) and EVAL.npz (100 held-out ones)."""
    x, y, xe, ye = shifted_split("gain", n_train=60)
    d = tmp_path_factory.mktemp("ft")
    np.savez(d / "ft.npz", X=x, y=y)
    np.savez(d / "ev.npz", X=xe[:100], y=ye[:100])
    return d, x, y


def host_blob(x, y, **kw):
    m = edgesnn.load(MODEL)
    m.finetune(x, y, **kw)
    return m.blob


def test_help_has_an_example():
    r = subprocess.run([sys.executable, "-m", "edgesnn", "finetune", "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "example:" in r.stdout
    for opt in ("--epochs", "--lr", "--trainable", "--mode", "--batch", "--momentum",
                "--steps", "--seed", "--json", "--port", "-o"):
        assert opt in r.stdout, opt


def test_host_finetune_writes_the_model_and_prints_each_epoch(data, tmp_path, capsys):
    d, x, y = data
    out = tmp_path / "new.esnn"
    assert main(["finetune", MODEL, str(d / "ft.npz"), "-o", str(out), "--epochs", "2",
                 "--eval", str(d / "ev.npz")]) == 0
    text = capsys.readouterr().out
    assert "finetune on the host runtime: 60 samples x 2 epochs, trainable=head" in text
    assert "epoch 1/2  loss " in text and "epoch 2/2  loss " in text
    assert "memory  arena " in text and "measured peaks" in text
    assert "eval    accuracy" in text and f"wrote   {out}" in text
    assert out.read_bytes() == host_blob(x, y, epochs=2)
    before, after = text.split("eval    accuracy on ")[1].split(": ")[1].split(" -> ")
    assert float(after.rstrip("%\n").split("%")[0]) > float(before.rstrip("%"))


def test_host_finetune_json_and_uint8_codes(data, tmp_path, capsys):
    d, x, y = data
    q = edgesnn.load(MODEL).quantize(x)
    np.savez(tmp_path / "q.npz", Xq=q, y=y)
    out = tmp_path / "q.esnn"
    assert main(["finetune", MODEL, str(tmp_path / "q.npz"), "-o", str(out), "--epochs", "1",
                 "--trainable", "bias", "--batch", "4", "--momentum", "0.5", "--seed", "7",
                 "--steps", "8", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    want = host_blob(x, y, epochs=1, trainable="bias", batch=4, momentum=0.5, seed=7, steps=8)
    assert out.read_bytes() == want  # codes and floats give the same model
    assert res["target"] == "host" and res["samples"] == 60 and len(res["history"]) == 1
    assert res["memory"]["arena_bytes"] == edgesnn.load(MODEL).finetune_memory(
        "bias", steps=8)["arena_bytes"]
    from edgesnn.runtime.options import DEFAULT_LR
    assert res["steps"] == 8 and res["lr"] == DEFAULT_LR["bias"] and res["bytes"] == len(want)


@pytest.mark.parametrize("arrays, message", [
    ({"X": "x"}, "missing y"),
    ({"y": "y"}, r"missing X \(or Xq\)"),
    ({"X": "x", "Xq": "q", "y": "y"}, "both X and Xq"),
    ({"Xq": "x", "y": "y"}, "must be uint8"),
    ({"X": "flat", "y": "y"}, "shape"),
    ({"X": "x", "y": "y10"}, "outside 0..9"),
    ({"X": "nan", "y": "y"}, "NaN"),
    ({"X": "x", "y": "short"}, r"expected \(60,\)"),
    ({"X": "x", "y": "frac"}, "integers"),
])
def test_bad_data_is_a_one_line_error(data, tmp_path, capsys, arrays, message):
    d, x, y = data
    pool = {"x": x, "y": y, "q": edgesnn.load(MODEL).quantize(x), "flat": x.reshape(60, 64),
            "y10": np.where(np.arange(60) == 5, 10, y), "short": y[:59],
            "nan": np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x),
            "frac": y + 0.5}
    np.savez(tmp_path / "bad.npz", **{k: pool[v] for k, v in arrays.items()})
    out = tmp_path / "o.esnn"
    assert main(["finetune", MODEL, str(tmp_path / "bad.npz"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    import re
    assert re.search(message, err), err
    assert not out.exists()


def test_usage_errors(data, tmp_path, capsys):
    d, x, y = data
    np.save(tmp_path / "x.npy", x)
    cases = [
        ([MODEL, str(d / "ft.npz")], "give -o"),
        ([str(d / "ft.npz")], "MODEL.esnn DATA.npz"),
        ([MODEL, str(tmp_path / "nope.npz"), "-o", "o.esnn"], "no such file"),
        ([MODEL, str(tmp_path / "x.npy"), "-o", "o.esnn"], "needs labels"),
        ([MODEL, str(d / "ft.npz"), "-o", "o.esnn", "--epochs", "0"], "epochs must be"),
        ([MODEL, str(d / "ft.npz"), "-o", "o.esnn", "--momentum", "1"], "momentum"),
    ]
    for argv, message in cases:
        assert main(["finetune"] + argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_board_finetune_equals_the_host_run(data, host_board_exe, tmp_path, capsys):
    d, x, y = data
    with HostEmulator() as emu:
        assert main(["flash", "--port", emu.url, MODEL, "--no-progress"]) == 0
        capsys.readouterr()
        out = tmp_path / "board.esnn"
        assert main(["finetune", "--port", emu.url, str(d / "ft.npz"), "--epochs", "2",
                     "-o", str(out)]) == 0
        text = capsys.readouterr().out
        assert f"finetune on board 'host' at {emu.url}: 60 samples x 2 epochs" in text
        assert "epoch 2/2  loss " in text and "commit  slot 1, generation 2" in text
        assert out.read_bytes() == host_blob(x, y, epochs=2)
        # the host form with the same options prints the same epochs
        assert main(["finetune", MODEL, str(d / "ft.npz"), "--epochs", "2",
                     "-o", str(tmp_path / "host.esnn")]) == 0
        host_text = capsys.readouterr().out
        epochs = [ln for ln in text.splitlines() if ln.startswith("epoch ")]
        assert epochs == [ln for ln in host_text.splitlines() if ln.startswith("epoch ")]
        # --json, a local copy of the board's model given, and the pulled model
        assert main(["finetune", "--port", emu.url, str(out), str(d / "ft.npz"), "--epochs",
                     "1", "--trainable", "bias", "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["target"] == "board" and res["slot"] == 0 and res["generation"] == 3
        assert main(["pull", "--port", emu.url, "-o", str(tmp_path / "pulled.esnn")]) == 0
        capsys.readouterr()
        m = edgesnn.load(str(out))
        m.finetune(x, y, epochs=1, trainable="bias")
        assert (tmp_path / "pulled.esnn").read_bytes() == m.blob
        assert res["crc32"] == f"0x{__import__('zlib').crc32(m.blob):08x}"
        # a model that is not the board's is refused before anything is trained
        assert main(["finetune", "--port", emu.url, MODEL, str(d / "ft.npz")]) == 2
        assert "different model" in capsys.readouterr().err
        # not enough arena: the need and what the board has
    with HostEmulator(arena=4096) as small:
        assert main(["flash", "--port", small.url, MODEL, "--no-progress"]) == 0
        capsys.readouterr()
        assert main(["finetune", "--port", small.url, str(d / "ft.npz")]) == 2
        err = capsys.readouterr().err
        need = edgesnn.load(MODEL).finetune_memory("head")["arena_bytes"]
        assert f"needs an arena of {need} bytes" in err and "host has 4096" in err
