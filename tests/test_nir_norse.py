"""Norse -> NIR -> .esnn: the edgesnn causal T-step predictions must agree with Norse's
own simulation of the same network on >= 97% of the digits test split.

Pinned: Norse 1.1.0 (installed by tools/install.sh with SETUPTOOLS_SCM_PRETEND_VERSION,
its sdist reports 0.0.0), nir 1.0.8. LIFBoxCell (no synaptic current):
v = v + dt*tau_mem_inv*(I - v), spike = v > v_th (strict), v = v_reset (0) at once, i.e.
edgesnn reset-to-zero, strict, not delayed. tau_mem_inv = 125 and 250 at dt = 1e-3 give
beta = 0.875 and 0.75, exactly the integer leaks 1-2^-3 and 1-2^-2.
Norse's to_nir exports tau = dt/tau_mem_inv and a batch dimension on Input/Output; the
importer detects both (see edgesnn/compile/nir_import.py). Norse is required: no skip.
"""
import numpy as np
import pytest
import torch

from _snn_train import train_counts
import nir
import norse.torch as nt  # a missing Norse is a failure, not a skip
from norse.torch.functional.lif_box import LIFBoxParameters

import edgesnn
from edgesnn.compile.pack import pack_nir

T = 16


@pytest.fixture(scope="module")
def digits_split(digits):
    x_tr, y_tr, x_te, y_te = digits
    return x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1), y_tr, y_te


def _net():
    return nt.SequentialState(
        torch.nn.Linear(64, 64), nt.LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(125.0))),
        torch.nn.Linear(64, 10), nt.LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(250.0))))


def _counts(net, x):
    state, c = None, 0
    for _ in range(T):  # constant-current encoding: the same frame every step
        out, state = net(x, state)
        c = c + out
    return c


def test_norse_version():
    import importlib.metadata as md
    assert nir.__version__ == "1.0.8"
    # the sdist's metadata says 0.0.0 unless installed with SETUPTOOLS_SCM_PRETEND_VERSION
    assert md.version("norse") in ("1.1.0", "0.0.0")


def test_norse_mlp_digits(digits_split, tmp_path):
    xtr, xte, ytr, yte = digits_split
    torch.manual_seed(0)
    net = _net()
    train_counts(net, _counts, xtr, ytr, epochs=15)
    with torch.no_grad():
        ref = _counts(net, torch.tensor(xte, dtype=torch.float32)).numpy()
    graph = nt.to_nir(net, torch.randn(1, 64))
    assert [type(graph.nodes[k]).__name__ for k in ("0", "1", "2", "3")] == ["Affine", "LIF", "Affine", "LIF"]
    assert list(np.asarray(graph.nodes["input"].input_type["input"])) == [1, 64]  # batch dim exported
    path = tmp_path / "norse.nir"
    nir.write(str(path), graph, compression=None)  # Norse exports scalar (0-d) parameters: h5py cannot gzip them
    blob, report = pack_nir(str(path), xtr, ytr, steps=T, eval_x=xte, eval_y=yte)  # dt, reset: auto
    text = report.to_text()
    assert "dt not given: 0.001" in text and "tau read as Norse's export" in text
    assert "leading batch dimension dropped" in text and "reset to v_reset immediately" in text
    assert "1-2^-3 = 0.875" in text and "1-2^-2 = 0.75" in text
    model = edgesnn.load(blob)
    assert model.causal
    counts = model.simulate(xte, steps=T).reshape(len(xte), -1)
    agree = float(np.mean(counts.argmax(1) == ref.argmax(1)))
    acc_ref = float(np.mean(ref.argmax(1) == yte))
    print(f"norse: Norse accuracy {acc_ref:.4f}, edgesnn accuracy {np.mean(counts.argmax(1) == yte):.4f}, "
          f"agreement {agree:.4f} on {len(xte)} test digits")
    assert acc_ref > 0.9
    assert agree >= 0.97, f"edgesnn agrees with Norse on only {agree:.4f}"
    # the same file through the CLI: `edgesnn pack norse.nir -o norse.esnn --calib digits`
    from edgesnn.cli import main
    out = tmp_path / "norse.esnn"
    assert main(["pack", str(path), "-o", str(out), "--calib", "digits", "--steps", str(T)]) == 0
    cli_counts = edgesnn.load(out.read_bytes()).simulate(xte, steps=T).reshape(len(xte), -1)
    cli_agree = float(np.mean(cli_counts.argmax(1) == ref.argmax(1)))
    print(f"norse via CLI: agreement {cli_agree:.4f}")
    assert cli_agree >= 0.97
