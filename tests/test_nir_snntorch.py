"""snnTorch -> NIR -> .esnn: the edgesnn causal T-step predictions must agree with
snnTorch's own simulation of the same network on >= 97% of the digits test split.

Pinned: snnTorch 1.0.0 (Leaky: reset = (mem_{t-1} > thr); mem = beta*mem + I - reset*thr;
spk = mem > thr, i.e. strict threshold, subtraction one step late), nir 1.0.8,
nirtorch 2.6. Per-neuron beta and threshold tensors (snnTorch's NIR export needs them).
"""
import nir
import numpy as np
import pytest
import snntorch as snn
import snntorch.utils
import torch
from snntorch.export_nir import export_to_nir

import edgesnn
from _snn_train import train_counts
from edgesnn.compile.pack import pack_nir

T = 16


def test_versions_pinned():
    assert snn.__version__ == "1.0.0" and nir.__version__ == "1.0.8"


@pytest.fixture(scope="module")
def digits_split(digits):
    """The project's held-out split, flat: (x_train, x_test, y_train, y_test)."""
    x_tr, y_tr, x_te, y_te = digits
    return x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1), y_tr, y_te


def _leaky(shape, beta, output=False):
    return snn.Leaky(beta=torch.full(shape, beta), threshold=torch.ones(shape), learn_threshold=True,
                     init_hidden=True, output=output)


def _counts(net, x):
    snntorch.utils.reset(net)
    c = 0
    for _ in range(T):
        out = net(x)
        c = c + (out[0] if isinstance(out, tuple) else out)
    return c


def _check(net, sample, xtr, ytr, xte, yte, tmp_path, name):
    with torch.no_grad():
        ref = _counts(net, torch.tensor(xte.reshape((-1,) + sample.shape[1:]), dtype=torch.float32)).numpy()
    ref = ref.reshape(len(xte), -1)
    path = tmp_path / f"{name}.nir"
    nir.write(str(path), export_to_nir(net, sample, ignore_dims=[0]))
    blob, report = pack_nir(str(path), xtr, ytr, steps=T, eval_x=xte, eval_y=yte)
    text = report.to_text()
    assert "reset guessed: subtract one step late" in text and "1-2^-3 = 0.875" in text
    model = edgesnn.load(blob)
    assert model.causal and not model.info()["onestep_ok"]
    counts = model.simulate(xte, steps=T)
    agree = float(np.mean(counts.reshape(len(xte), -1).argmax(1) == ref.argmax(1)))
    acc_ref = float(np.mean(ref.argmax(1) == yte))
    print(f"{name}: snnTorch accuracy {acc_ref:.4f}, edgesnn accuracy "
          f"{np.mean(counts.reshape(len(xte), -1).argmax(1) == yte):.4f}, agreement {agree:.4f}")
    assert agree >= 0.97, f"{name}: edgesnn agrees with snnTorch on only {agree:.4f}"
    assert acc_ref > 0.9
    with pytest.raises(edgesnn.errors.BlobError) as exc:  # leaky: one-step is refused
        model.outputs(xte[:2], steps=T)
    assert exc.value.name == "ESNN_ERR_MODE"
    return agree


def test_snntorch_mlp_digits(digits_split, tmp_path):
    xtr, xte, ytr, yte = digits_split
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), _leaky((64,), 0.875), torch.nn.Linear(64, 10),
                              _leaky((10,), 0.75, output=True))
    train_counts(net, _counts, xtr, ytr, epochs=15)
    thr = net[1].threshold.detach().numpy()
    assert thr.std() > 0  # per-neuron thresholds really differ
    _check(net, torch.randn(1, 64), xtr, ytr, xte, yte, tmp_path, "mlp")


def test_snntorch_conv_digits(digits_split, tmp_path):
    xtr, xte, ytr, yte = digits_split
    torch.manual_seed(1)
    # per-neuron (8, 8, 8) tensors, as NIR's type check wants them; thresholds differ per
    # channel (the runtime has one threshold per conv channel) and are fixed
    thr = torch.linspace(0.75, 1.25, 8).reshape(8, 1, 1).expand(8, 8, 8).contiguous()
    lif1 = snn.Leaky(beta=torch.full((8, 8, 8), 0.875), threshold=thr, init_hidden=True)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), lif1, torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10), _leaky((10,), 0.75, output=True))
    train_counts(net, _counts, xtr.reshape(-1, 1, 8, 8), ytr, epochs=12)
    _check(net, torch.randn(1, 1, 8, 8), xtr.reshape(-1, 1, 8, 8), ytr, xte.reshape(-1, 1, 8, 8), yte,
           tmp_path, "conv")
