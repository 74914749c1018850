"""The C core's own test suite and the blob fuzzer, built with ASan + UBSan.

The C tests build their blobs with a test-only C builder; the fuzzer is seeded with
blobs written by the Python packer (the shipped model and the three test
architectures), so both writers' output is attacked.
"""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import ROOT

RUNTIME = os.path.join(ROOT, "runtime_c")
DEFAULT_BLOB = os.path.join(ROOT, "edgesnn", "models", "digits.esnn")


def _make(target: str, out_dir: str) -> None:
    r = subprocess.run(["make", "-s", "-C", RUNTIME, target, f"OUT={out_dir}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"make {target} failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cbuild"))
    _make("lib", out)  # -Wall -Wextra -Werror -pedantic
    return out


def _closing_counts(text: str):
    m = re.findall(r"^(\d+) passed, (\d+) failed$", text, re.M)
    assert m, f"no closing 'N passed, N failed' line in:\n{text[-2000:]}"
    return int(m[-1][0]), int(m[-1][1])


def test_c_unit_tests_under_sanitizers(build_dir):
    r = subprocess.run(["make", "-s", "-C", RUNTIME, "test", f"OUT={build_dir}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    passed, failed = _closing_counts(r.stdout)
    assert failed == 0 and passed >= 50


def test_c_unit_tests_with_the_cortex_m3_conv_kernels(tmp_path):
    """The same suite with the kernel choice of a core without DSP or vector unit
    (ESNN_CONV_PLANE=0: the patch kernel takes few-tap convolutions too), so its results
    are checked against the naive reference on the random nets, under the sanitizers."""
    r = subprocess.run(["make", "-s", "-C", RUNTIME, "test", f"OUT={tmp_path}",
                        "DEFS=-DESNN_CONV_PLANE=0"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    passed, failed = _closing_counts(r.stdout)
    assert failed == 0 and passed >= 50


def test_seed_writer_writes_valid_blobs(build_dir, tmp_path):
    """`make seeds` (runtime_c/tests/write_seeds.c): the fuzz and bench seed blobs are
    valid models the Python runtime loads and runs, and the same bytes on every run."""
    import numpy as np

    import edgesnn

    def write(out):
        _make("seeds", out)
        names = ["seed_fuzz", "seed_bench", "seed_couple_dense", "seed_couple_conv"]
        return {n: open(os.path.join(out, n + ".esnn"), "rb").read() for n in names}

    first = write(build_dir)
    assert write(str(tmp_path)) == first
    for name, blob in first.items():
        path = tmp_path / f"{name}.esnn"
        path.write_bytes(blob)
        model = edgesnn.load(str(path))
        x = np.zeros((1, *model.input_shape), dtype=np.float32)
        assert model.predict(x).shape == (1,), name


def _fuzz(build_dir, blob_path, cases):
    _make("fuzz", build_dir)
    exe = os.path.join(build_dir, "fuzz_blob")
    r = subprocess.run([exe, blob_path, str(cases), "7"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    passed, failed = _closing_counts(r.stdout)
    assert failed == 0 and passed >= cases
    return r.stdout


def test_fuzz_shipped_model(build_dir):
    out = _fuzz(build_dir, DEFAULT_BLOB, 12000)
    counts = {int(code): int(n) for code, n in
              re.findall(r"^\s+(-?\d+) .*?\s(\d+)$", out, re.M)}
    # the mutations must reach past the CRC check into every structural rule, and the
    # mutants that stay valid (flipped weights) must really be invoked
    for code in (-2, -5, -7, -9, -12, -14, -15):  # truncated, CRC, bounds, reserved, shape, graph, overflow
        assert counts.get(code, 0) > 0, f"no mutant was refused with status {code}:\n{out}"
    assert counts.get(0, 0) > 1000
    assert int(re.search(r"successful invokes: (\d+)", out).group(1)) > 1000


def test_fuzz_packed_architectures(build_dir, packed_archs, tmp_path):
    for name, blob in packed_archs.items():
        path = tmp_path / f"{name}.esnn"
        path.write_bytes(blob)
        _fuzz(build_dir, str(path), 4000)


def test_device_protocol_unit_tests_under_sanitizers(build_dir):
    """The firmware main loop: framing, dedup, uploads, commits, and a power cut at
    every byte of an upload's flash writes (never a board without a model)."""
    r = subprocess.run(["make", "-s", "-C", RUNTIME, "test-device", f"OUT={build_dir}",
                        f"BLOB={DEFAULT_BLOB}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    passed, failed = _closing_counts(r.stdout)
    assert failed == 0 and passed >= 1000


def test_fuzz_protocol_parser_100k_frames(build_dir):
    """>= 100,000 random and malformed frames against the device under ASan/UBSan; the
    active model's image must never change and inference must still work."""
    _make("fuzz-protocol", build_dir)
    exe = os.path.join(build_dir, "fuzz_protocol")
    r = subprocess.run([exe, DEFAULT_BLOB, "120000", "11"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    passed, failed = _closing_counts(r.stdout)
    assert failed == 0 and passed >= 120000


def test_fuzz_causal_lif_blob(build_dir, tmp_path):
    """A format-1.1 blob (causal dynamics, LIF with reset flags, sequence input) under
    the same mutations, so the 1.1 validation paths are attacked too."""
    import dataclasses

    import numpy as np

    from _graphs import random_input, random_mlp
    from edgesnn.format.blob import write_blob
    from edgesnn.format.intmodel import NEURON_LIF, SPIKING
    from edgesnn.format.plan import plan_memory
    from edgesnn.compile.quantize import quantize_graph

    rng = np.random.default_rng(3)
    g = random_mlp(rng)
    model, _ = quantize_graph(g, random_input(rng, g, 32), steps=8)
    layers = [dataclasses.replace(layer, neuron=NEURON_LIF, leak_shift=3, flags=0b110)
              if layer.neuron in SPIKING else layer for layer in model.layers]
    model = dataclasses.replace(model, layers=layers, causal=True, sequence=True)
    path = tmp_path / "causal.esnn"
    path.write_bytes(write_blob(model, plan_memory(model), {}))
    _fuzz(build_dir, str(path), 6000)


def test_fuzz_reversible_blobs(build_dir, digits, tmp_path):
    """Format-1.2 blobs (COUPLE layers: dense and conv couplings, both targets) from the
    Python packer under the same mutations, so the COUPLE rules and kernel are attacked."""
    from edgesnn.compile.build import reversible_cnn, reversible_mlp
    from edgesnn.compile.pack import pack_graph

    graphs = {"rev_mlp": reversible_mlp((1, 8, 8), width=24, blocks=2, seed=2),
              "rev_cnn": reversible_cnn((1, 8, 8), channels=6, blocks=2, seed=2)}
    for name, g in graphs.items():
        path = tmp_path / f"{name}.esnn"
        path.write_bytes(pack_graph(g, digits[0][:200], steps=16, name=name)[0])
        out = _fuzz(build_dir, str(path), 6000)
        assert int(re.search(r"successful invokes: (\d+)", out).group(1)) > 1000, out


def _file_calls(obj_dir: str) -> dict:
    """Which C file calls which: for each object file of the core, the files defining the
    symbols it leaves undefined (from `nm`)."""
    defs, uses = {}, {}
    for name in sorted(os.listdir(obj_dir)):
        if not name.endswith(".o"):
            continue
        unit = name[:-2]
        out = subprocess.run(["nm", os.path.join(obj_dir, name)], capture_output=True,
                             text=True, check=True).stdout
        uses[unit] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDRB":
                defs[parts[2]] = unit
            elif len(parts) == 2 and parts[0] == "U":
                uses[unit].add(parts[1])
    return {u: {defs[s] for s in syms if s in defs and defs[s] != u} for u, syms in uses.items()}


def _a_cycle(graph: dict):
    state, path = {}, []

    def visit(v):
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def test_c_core_files_call_each_other_without_cycles(build_dir):
    """Kernels never call back into invoke, command handlers never into the dispatcher:
    the file-level call graph of the core (docs/architecture.md) has no cycle."""
    graph = _file_calls(os.path.join(build_dir, "obj"))
    assert len(graph) > 40 and graph["esnn_invoke"], "the call graph was not read"
    assert _a_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # the check can fail
    assert _a_cycle(graph) is None, f"C file cycle: {' -> '.join(_a_cycle(graph))}"
