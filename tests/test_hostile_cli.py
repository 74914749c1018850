"""Every CLI verb fed truncated, empty, corrupt, wrong-type and hostile files and options
(issue 12, items 1, 2, 3, 5 and 9): exit 2, exactly one line on stderr, no traceback.

Most cases call edgesnn.cli.main in-process (the same code as `python -m edgesnn`, without
a second of interpreter start-up each); a few run the real process where the process
itself matters (a traceback reaching the interpreter, a closed pipe).
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import edgesnn
from _fakeboard import FakeBoard, honest
from edgesnn.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = edgesnn.default_model_path()
ONNX = os.path.join(ROOT, "edgesnn", "models", "digits_mlp.onnx")
BOARD = ["--timeout", "0.2", "--retries", "0"]


def with_header(blob: bytes, **fields) -> bytes:
    """The blob with header fields changed (input_scale) and the CRC recomputed."""
    b = bytearray(blob)
    if "input_scale" in fields:
        struct.pack_into("<f", b, 48, fields["input_scale"])
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])))
    return bytes(b)


def with_meta(blob: bytes, raw: bytes) -> bytes:
    """The blob with its metadata section replaced by `raw` (docs/format.md header)."""
    off = struct.unpack_from("<I", blob, 56)[0]
    b = bytearray(blob[:off]) + raw
    struct.pack_into("<I", b, 8, len(b))  # total_length
    struct.pack_into("<II", b, 56, off, len(raw))
    return with_header(bytes(b))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    blob = open(MODEL, "rb").read()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (6, 1, 8, 8))
    y = np.arange(6) % 10
    f = {}

    def put(name, data):
        p = d / name
        p.write_bytes(data)
        f[name] = str(p)

    def npz(name, compressed=False, **arrays):
        p = d / name
        (np.savez_compressed if compressed else np.savez)(p, **arrays)
        f[name] = str(p)
    npz("good.npz", x=x, y=y, X=x)
    good = open(f["good.npz"], "rb").read()
    put("trunc.npz", good[:len(good) // 2])
    put("empty.npz", b"")
    put("notzip.npz", b"definitely not a zip archive")
    npz("c.npz", compressed=True, x=x, X=x, y=y)
    c = bytearray(open(f["c.npz"], "rb").read())
    c[120:160] = b"\xff" * 40  # inside the first member's deflate stream
    put("corrupt_member.npz", bytes(c))
    npz("nan.npz", x=np.where(x > 0.5, np.nan, x), X=np.where(x > 0.5, np.nan, x), y=y)
    npz("inf.npz", x=x * np.inf, X=x * np.inf, y=y)
    npz("huge.npz", x=x * 1e300, X=x * 1e300, y=y)
    npz("complex.npz", x=x + 1j, X=x + 1j, y=y)
    npz("bool_labels.npz", x=x, X=x, y=y > 3)
    npz("no_samples.npz", x=x[:0], X=x[:0], y=y[:0])
    npz("wrong_y.npz", x=x, X=x, y=y[:3])
    npz("strings.npz", x=np.array(["a", "b"]), X=np.array(["a", "b"]), y=np.array([0, 1]))
    put("trunc.esnn", blob[:len(blob) // 2])
    put("empty.esnn", b"")
    put("random.esnn", bytes(rng.integers(0, 256, 4000, dtype=np.uint8)))
    put("text.esnn", b"hello\n")
    for name, scale in (("nan", float("nan")), ("zero", 0.0), ("inf", float("inf")),
                        ("negative", -1.0)):
        put(f"scale_{name}.esnn", with_header(blob, input_scale=scale))
    onnx = open(ONNX, "rb").read()
    put("trunc.onnx", onnx[:len(onnx) // 3])
    put("empty.onnx", b"")
    put("random.onnx", bytes(rng.integers(0, 256, 500, dtype=np.uint8)))
    put("text.nir", b"not an HDF5 file")
    put("trunc.nir", b"\x89HDF\r\n\x1a\n" + bytes(300))
    os.mkdir(d / "dir.npz")
    f["dir.npz"] = str(d / "dir.npz")
    f["missing"] = str(d / "missing.npz")
    f["out"] = str(d / "out.esnn")
    return f


def one_line_error(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, (argv, err)
    return lines[0]


BAD_DATA = ["trunc.npz", "empty.npz", "notzip.npz", "corrupt_member.npz", "dir.npz", "missing",
            "complex.npz", "no_samples.npz", "strings.npz"]


@pytest.mark.parametrize("bad", BAD_DATA + ["nan.npz", "inf.npz", "wrong_y.npz"])
def test_infer_input(files, capsys, bad):
    one_line_error(["infer", MODEL, "--input", files[bad]], capsys)


@pytest.mark.parametrize("bad", BAD_DATA + ["nan.npz", "inf.npz", "bool_labels.npz",
                                            "wrong_y.npz"])
def test_finetune_data_and_eval(files, capsys, bad):
    one_line_error(["finetune", MODEL, files[bad], "-o", files["out"]], capsys)
    one_line_error(["finetune", MODEL, files["good.npz"], "--eval", files[bad], "-o",
                    files["out"], "--epochs", "1"], capsys)
    assert not os.path.exists(files["out"])


@pytest.mark.parametrize("bad", BAD_DATA + ["nan.npz", "inf.npz", "huge.npz"])
def test_pack_calib(files, capsys, bad):
    line = one_line_error(["pack", ONNX, "-o", files["out"], "--calib", files[bad]], capsys)
    if bad == "huge.npz":  # input_scale would be inf: refused with the number
        assert "input scale" in line and "inf" in line, line
    assert not os.path.exists(files["out"])


@pytest.mark.parametrize("bad", ["trunc.onnx", "empty.onnx", "random.onnx", "text.nir",
                                 "trunc.nir", "missing"])
def test_pack_model(files, capsys, bad):
    one_line_error(["pack", files[bad], "-o", files["out"], "--calib", "digits"], capsys)


BAD_MODELS = ["trunc.esnn", "empty.esnn", "random.esnn", "text.esnn", "missing",
              "scale_nan.esnn", "scale_zero.esnn", "scale_inf.esnn", "scale_negative.esnn"]


@pytest.mark.parametrize("bad", BAD_MODELS)
def test_model_files(files, capsys, bad):
    path = files[bad]
    for argv in (["inspect", path], ["infer", path, "--input", "digits"],
                 ["finetune", path, files["good.npz"], "-o", files["out"]],
                 ["validate", path, "--port", "socket://127.0.0.1:1", *BOARD]):
        line = one_line_error(argv, capsys)
        if bad.startswith("scale_"):
            assert "input_scale is" in line, line


@pytest.mark.parametrize("bad", BAD_MODELS)
def test_flash_model_file(files, capsys, bad):
    """flash talks to a board first (a fake one answering HELLO), then refuses the file."""
    board = FakeBoard(honest())
    try:
        one_line_error(["flash", "--port", board.url, files[bad], "--no-progress", *BOARD],
                       capsys)
    finally:
        board.close()


META = {"list": b"[1,2]", "null": b"null", "number": b"42", "string": b'"x"',
        "bad layers": b'{"layers": ["a", 7, null]}', "bad types": b'{"name": 5, "output_scale": "x"}',
        "deep": b"[" * 100000 + b"]" * 100000, "not json": b"{nope", "not utf-8": b"\xff\xfe"}


@pytest.mark.parametrize("kind", sorted(META))
def test_malformed_metadata_is_ignored_with_one_warning(files, tmp_path, capsys, kind):
    path = tmp_path / "m.esnn"
    path.write_bytes(with_meta(open(MODEL, "rb").read(), META[kind]))
    for argv in (["inspect", str(path)], ["inspect", str(path), "--json"],
                 ["infer", str(path), "--input", "digits", "--json"],
                 ["finetune", str(path), files["good.npz"], "--epochs", "1", "-o",
                  str(tmp_path / "o.esnn"), "--json"]):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, (argv, err)
        assert "Traceback" not in err and "metadata" in err, (argv, err)
        assert all(line.startswith("edgesnn ") and ": warning: " in line
                   for line in err.strip().splitlines()), err
        if "--json" in argv:
            json.loads(out)


NUMBERS = [
    ("info", ["--timeout", "nan"]), ("info", ["--timeout", "-1"]), ("info", ["--timeout", "0"]),
    ("info", ["--timeout", "inf"]), ("info", ["--retries", "-5"]), ("info", ["--retries", "1.5"]),
    ("info", ["--baud", "0"]), ("pull", ["--timeout", "nan", "-o", "x.esnn"]),
    ("flash", ["--chunk", "0", MODEL]), ("flash", ["--chunk", "5000", MODEL]),
    ("infer", [MODEL, "--input", "digits", "--steps", "0"]),
    ("infer", [MODEL, "--input", "digits", "--steps", "64"]),
    ("validate", [MODEL, "-n", "0"]), ("validate", [MODEL, "--timeout", "nan"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--epochs", "0"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--lr", "nan"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--lr", "-1"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--momentum", "1"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--batch", "0"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--slope", "nan"]),
    ("finetune", [MODEL, "d.npz", "-o", "o", "--seed", "-1"]),
    ("pack", [ONNX, "-o", "o", "--calib", "digits", "--steps", "99"]),
    ("pack", [ONNX, "-o", "o", "--calib", "digits", "--percentile", "0"]),
    ("pack", [ONNX, "-o", "o", "--calib", "digits", "--percentile", "nan"]),
    ("pack", [ONNX, "-o", "o", "--calib", "digits", "--dt", "-1"]),
    ("emulate", ["--port-number", "70000"]), ("emulate", ["--arena", "-1"]),
    ("bench", ["--timeout", "nan", "--port", "x"]), ("demo", ["--steps", "0"]),
]


@pytest.mark.parametrize("verb,args", NUMBERS, ids=[" ".join([v] + a[-2:]) for v, a in NUMBERS])
def test_numeric_options(capsys, verb, args):
    line = one_line_error([verb, *args], capsys)
    assert "must be" in line, line


@pytest.mark.parametrize("verb", ["info", "pull", "flash", "validate"])
def test_socket_url_with_a_bad_port(capsys, verb):
    extra = {"pull": ["-o", "x.esnn"], "flash": [MODEL], "validate": [MODEL]}.get(verb, [])
    line = one_line_error([verb, "--port", "socket://127.0.0.1:notaport", *extra], capsys)
    assert "debug|info" not in line and "PORT" in line, line


def test_finetune_learning_rate_that_destroys_the_model_stops(files, capsys):
    line = one_line_error(["finetune", MODEL, files["good.npz"], "-o", files["out"],
                           "--lr", "1e30", "--epochs", "1"], capsys)
    assert "clamped" in line and "lower it" in line, line
    assert not os.path.exists(files["out"])


@pytest.fixture(scope="module")
def flat_model(tmp_path_factory, digits):
    """A model whose input is flat (64,): the digits are 8x8 images."""
    from edgesnn.compile.ir import GraphBuilder
    from edgesnn.compile.pack import pack_graph
    rng = np.random.default_rng(0)
    gb = GraphBuilder((64,))
    h = gb.relu(gb.dense(gb.input, rng.normal(0, 0.2, (32, 64)), np.zeros(32)))
    g = gb.build(gb.dense(h, rng.normal(0, 0.3, (10, 32)), np.zeros(10)))
    blob, _ = pack_graph(g, digits[0][:200].reshape(200, 64), steps=8)
    path = tmp_path_factory.mktemp("flat") / "flat.esnn"
    path.write_bytes(blob)
    return str(path)


def test_digits_on_a_flat_input_model(flat_model, capsys):
    assert main(["infer", flat_model, "--input", "digits", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["predictions"]) == 450


# ---- the real process: a traceback would reach the interpreter, a pipe can close ------
def test_process_prints_one_line_and_no_traceback(files):
    r = subprocess.run([sys.executable, "-m", "edgesnn", "finetune", MODEL,
                        files["corrupt_member.npz"], "-o", files["out"]],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_inspect_into_a_closed_pipe_exits_quietly():
    # `true` exits before the interpreter has started: the first write meets a closed pipe
    script = f"{sys.executable} -m edgesnn inspect {MODEL} | true; echo ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() in ("0", "141"), (r.stdout, r.stderr)
    assert r.stderr == "", r.stderr
