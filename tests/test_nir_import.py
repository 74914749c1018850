"""NIR import round trips: for every supported node type, write a NIR graph with `nir`,
pack it, and compare the runtime (C core, causal T-step) with an independent numpy
simulation of the NIR semantics written here (forward Euler at dt); then bit-exactness
of the C core against the integer oracle, and the bad inputs."""
import nir
import numpy as np
import pytest

import edgesnn
from edgesnn.errors import EdgesnnError, QuantizeError, ShapeError, UnsupportedOpError
from edgesnn.compile.nir_import import NIRImportError, load_nir
from edgesnn.compile.pack import pack_nir
from edgesnn.format.inputs import quantize_input
from edgesnn.format.reference import run_tstep
from edgesnn.format.blob import read_blob

DT, T = 1e-4, 12


def lif(n, beta, thr=1.0, shape=None):
    shape = shape or (n,)
    tau = np.full(shape, DT / (1 - beta))
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(shape), v_threshold=np.full(shape, thr),
                   v_reset=np.zeros(shape))


def chain(ishape, *nodes):
    names = ["input"] + [f"n{i}" for i in range(len(nodes))] + ["output"]
    d = {"input": nir.Input(input_type=np.array(ishape)), "output": nir.Output(output_type=np.array([1]))}
    d.update({f"n{i}": n for i, n in enumerate(nodes)})
    return nir.NIRGraph(nodes=d, edges=list(zip(names, names[1:])), type_check=False)


# ---------------------------------------------------------------- independent simulation
def _conv(x, w, stride, pad):  # x [B, C, H, W], w [O, C, kh, kw]
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    O, C, kh, kw = w.shape
    Ho, Wo = (x.shape[2] - kh) // stride[0] + 1, (x.shape[3] - kw) // stride[1] + 1
    y = np.zeros((x.shape[0], O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = x[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            y[:, :, i, j] = np.einsum("bchw,ochw->bo", patch, w)
    return y


def nir_simulate(g, x, steps, reset):
    """NIR semantics, forward Euler at DT; `reset`: 'zero' (v -> v_reset when v > thr) or
    'subtract' (snnTorch: subtract thr one step after v > thr)."""
    order = ["input"]
    nxt = dict(g.edges)
    while order[-1] in nxt:
        order.append(nxt[order[-1]])
    state, total = {}, 0
    for _ in range(steps):
        h = x
        for name in order[1:-1]:
            n = g.nodes[name]
            t = type(n).__name__
            if t == "Affine":
                h = h @ n.weight.T + n.bias
            elif t == "Linear":
                h = h @ n.weight.T
            elif t == "Scale":
                h = h * n.scale
            elif t == "Flatten":
                h = h.reshape(len(h), -1)
            elif t == "Conv2d":
                h = _conv(h, n.weight, np.broadcast_to(n.stride, 2), np.broadcast_to(n.padding, 2)) + n.bias[:, None, None]
            elif t == "Conv1d":
                h = _conv(h[:, :, None, :], n.weight[:, :, None, :], (1, int(n.stride)), (0, int(n.padding)))[:, :, 0] + n.bias[:, None]
            elif t in ("SumPool2d", "AvgPool2d"):
                k = int(n.kernel_size[0])
                B, C, H, W = h.shape
                h = h[:, :, :H // k * k, :W // k * k].reshape(B, C, H // k, k, W // k, k).sum(axis=(3, 5))
                h = h / (k * k) if t == "AvgPool2d" else h
            elif t in ("LIF", "IF", "LI", "CubaLIF"):
                v, prev = state.get(name, (0.0, False))
                if t == "IF":
                    dv = DT * n.r * h
                elif t == "CubaLIF":  # tau_syn == dt: the synaptic current is w_in * input
                    dv = DT / n.tau_mem * (n.v_leak - v + n.r * n.w_in * h)
                else:
                    dv = DT / n.tau * (n.v_leak - v + n.r * h)
                if t == "LI":
                    v = v + dv
                    state[name] = (v, False)
                    h = v
                    continue
                if reset == "subtract":
                    v = v + dv - np.where(prev, n.v_threshold, 0.0)
                    s = v > n.v_threshold
                else:
                    v = v + dv
                    s = v > n.v_threshold
                    v = np.where(s, n.v_reset, v)
                state[name] = (v, s)
                h = s.astype(float)
        total = h if type(g.nodes[order[-2]]).__name__ == "LI" else total + h
    return total


def _roundtrip(g, ishape, tmp_path, reset="zero", min_agree=0.9, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n,) + tuple(ishape))
    path = tmp_path / "g.nir"
    nir.write(str(path), g)
    blob, report = pack_nir(str(path), x, steps=T, reset=reset)
    model = edgesnn.load(blob)
    got = model.simulate(x.reshape((n,) + model.input_shape), steps=T).reshape(n, -1).astype(float)
    want = nir_simulate(g, x, T, reset).reshape(n, -1)
    agree = np.mean(got.argmax(1) == want.argmax(1))
    scale = report.layers[-1].get("output_scale")
    if scale:  # I32 readout: integer units -> float
        got = got / scale
    corr = np.corrcoef(got.ravel(), want.ravel())[0, 1]
    assert corr > 0.95 and agree >= min_agree, f"corr {corr:.3f}, argmax agreement {agree:.3f}"
    # the C core and the integer oracle agree bit for bit
    view = read_blob(blob)
    q = quantize_input(x, view.input_scale, view.input_zero_point).reshape(n, -1)
    np.testing.assert_array_equal(run_tstep(view, q, T), model.simulate(q.reshape((n,) + model.input_shape), steps=T, quantized=True).reshape(n, -1))
    return report


def _w(rng, *shape, s=1.0):
    return rng.normal(0, s / np.sqrt(np.prod(shape[1:])), shape)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_affine_lif(tmp_path, reset):
    rng = np.random.default_rng(1)
    g = chain([16], nir.Affine(weight=_w(rng, 24, 16, s=3), bias=rng.normal(0, .2, 24)), lif(24, 0.9),
              nir.Affine(weight=_w(rng, 6, 24, s=4), bias=np.zeros(6)), lif(6, 0.8))
    rep = _roundtrip(g, (16,), tmp_path, reset=reset)
    assert rep.layers[0]["approx"] == "beta 0.9 -> 1-2^-3 = 0.875"


def test_linear_if_and_scale(tmp_path):
    rng = np.random.default_rng(2)
    g = chain([16], nir.Scale(scale=rng.uniform(0.5, 2, 16)), nir.Linear(weight=_w(rng, 24, 16, s=3)),
              nir.Scale(scale=rng.uniform(0.5, 1.5, 24)), nir.IF(r=np.full(24, 1 / DT), v_threshold=np.full(24, 1.0), v_reset=np.zeros(24)),
              nir.Linear(weight=_w(rng, 6, 24, s=4)), nir.IF(r=np.full(6, 1 / DT), v_threshold=rng.uniform(.8, 1.2, 6), v_reset=np.zeros(6)))
    rep = _roundtrip(g, (16,), tmp_path)
    assert rep.layers[0]["approx"] == "IF: no leak, exact"


def test_conv2d_flatten_sumpool_li(tmp_path):
    rng = np.random.default_rng(3)
    g = chain([1, 8, 8], nir.Conv2d(input_shape=(8, 8), weight=_w(rng, 4, 1, 3, 3, s=3), stride=1, padding=1, dilation=1, groups=1, bias=np.full(4, .1)),
              lif(4, 0.875, shape=(4, 8, 8)),
              nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
              nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
              nir.Affine(weight=_w(rng, 5, 64, s=2), bias=np.zeros(5)),
              nir.LI(tau=np.full(5, DT / (1 - 0.75)), r=np.full(5, 1 / (1 - 0.75)), v_leak=np.zeros(5)))
    rep = _roundtrip(g, (1, 8, 8), tmp_path)
    assert rep.layers[-1]["neuron"] == "LI"


def test_conv1d_avgpool(tmp_path):
    rng = np.random.default_rng(4)
    g = chain([2, 12], nir.Conv1d(input_shape=12, weight=_w(rng, 4, 2, 3, s=3), stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)),
              lif(4, 0.9, shape=(4, 12)),
              nir.Flatten(input_type={"input": np.array([4, 12])}, start_dim=0, end_dim=-1),
              nir.Affine(weight=_w(rng, 5, 48, s=4), bias=np.zeros(5)), lif(5, 0.9))
    _roundtrip(g, (2, 12), tmp_path)
    g2 = chain([2, 8, 8], nir.Conv2d(input_shape=(8, 8), weight=_w(rng, 4, 2, 3, 3, s=3), stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)),
               lif(4, 0.9, shape=(4, 8, 8)),
               nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
               nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
               nir.Affine(weight=_w(rng, 5, 64, s=6), bias=np.zeros(5)), lif(5, 0.9))
    _roundtrip(g2, (2, 8, 8), tmp_path)


def test_cubalif_and_affine_readout(tmp_path):
    rng = np.random.default_rng(5)
    tau = np.full(20, DT / (1 - 0.875))
    cuba = nir.CubaLIF(tau_syn=np.full(20, DT), tau_mem=tau, r=tau / DT, v_leak=np.zeros(20),
                       v_threshold=np.ones(20), v_reset=np.zeros(20), w_in=np.ones(20))
    g = chain([16], nir.Affine(weight=_w(rng, 20, 16, s=3), bias=np.zeros(20)), cuba,
              nir.Affine(weight=_w(rng, 4, 20, s=2), bias=rng.normal(0, .1, 4)))
    _roundtrip(g, (16,), tmp_path, reset="zero")


# ---------------------------------------------------------------- bad input
def test_not_hdf5(tmp_path):
    p = tmp_path / "x.nir"
    p.write_bytes(b"ESNN not hdf5")
    with pytest.raises(NIRImportError, match="not a NIR file"):
        load_nir(str(p))


def test_cycle_and_unsupported(tmp_path):
    rng = np.random.default_rng(0)
    nodes = {"input": nir.Input(input_type=np.array([4])), "a": nir.Linear(weight=_w(rng, 4, 4)),
             "l": lif(4, .9), "output": nir.Output(output_type=np.array([4]))}
    g = nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "l"), ("l", "a"), ("l", "output")], type_check=False)
    with pytest.raises(NIRImportError, match="cycle"):
        load_nir(g)
    g = chain([4], nir.Threshold(threshold=np.ones(4)))
    with pytest.raises(UnsupportedOpError, match=r"'n0' has NIR type Threshold.*supported: Input"):
        load_nir(g)


def test_shape_mismatch_and_nan(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(ShapeError, match="n0"):
        load_nir(chain([5], nir.Linear(weight=_w(rng, 4, 4)), lif(4, .9)))
    with pytest.raises(ShapeError, match="n1"):
        load_nir(chain([4], nir.Linear(weight=_w(rng, 4, 4)), lif(3, .9)))
    bad = lif(4, .9)
    bad.v_threshold[1] = np.nan
    with pytest.raises(NIRImportError, match="NaN"):
        load_nir(chain([4], nir.Linear(weight=_w(rng, 4, 4)), bad))


def test_meaningless_mappings(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(20, 4))
    from edgesnn.compile.pack import pack_snn
    for beta, msg in ((0.1, "forgets most"), (-0.5, "0 < beta < 1")):
        g = load_nir(chain([4], nir.Linear(weight=_w(rng, 4, 4)), lif(4, beta)))
        with pytest.raises(QuantizeError, match=msg):
            pack_snn(g, x, steps=T)
    leak = lif(4, .9)
    leak.v_leak = np.full(4, 0.1)
    with pytest.raises(NIRImportError, match="v_leak"):
        load_nir(chain([4], nir.Linear(weight=_w(rng, 4, 4)), leak))
    thr = np.ones((2, 4, 4))
    thr[0, 0, 0] = 2.0  # varies within channel 0
    conv = chain([1, 4, 4], nir.Conv2d(input_shape=(4, 4), weight=_w(rng, 2, 1, 3, 3), stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(2)),
                 nir.LIF(tau=np.full((2, 4, 4), DT / 0.1), r=np.full((2, 4, 4), 10.0), v_leak=np.zeros((2, 4, 4)), v_threshold=thr, v_reset=np.zeros((2, 4, 4))))
    with pytest.raises(QuantizeError, match="varies within a conv channel"):
        pack_snn(load_nir(conv), rng.uniform(size=(5, 1, 4, 4)), steps=T)
    cuba = nir.CubaLIF(tau_syn=np.full(4, 5 * DT), tau_mem=np.full(4, 10 * DT), r=np.full(4, 10.), v_leak=np.zeros(4),
                       v_threshold=np.ones(4), v_reset=np.zeros(4))
    with pytest.raises(UnsupportedOpError, match="synaptic"):
        load_nir(chain([4], nir.Linear(weight=_w(rng, 4, 4)), cuba))


def test_cli_pack_and_inspect_nir(tmp_path, capsys):
    from edgesnn.cli import main
    rng = np.random.default_rng(7)
    g = chain([64], nir.Affine(weight=_w(rng, 16, 64, s=4), bias=np.zeros(16)), lif(16, .9),
              nir.Affine(weight=_w(rng, 10, 16, s=4), bias=np.zeros(10)), lif(10, .9))
    p = tmp_path / "m.nir"
    nir.write(str(p), g)
    out = tmp_path / "m.esnn"
    assert main(["pack", str(p), "-o", str(out), "--calib", "digits", "--steps", "8", "--reset", "zero"]) == 0
    text = capsys.readouterr().out
    assert "beta 0.9 -> 1-2^-3 = 0.875" in text and "power-of-two leak effect" in text
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "one-step: no (layers [0, 1] are LIF/LI and leak" in text and "T-step: yes (causal" in text
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"hello")
    assert main(["pack", str(bad), "-o", str(out), "--calib", "digits"]) != 0
    assert "not a NIR file" in capsys.readouterr().err


def test_sequence_input_blob():
    """Sequence input: T frames, step-major; C core == oracle; one-step refused."""
    from edgesnn.compile.ir import GraphBuilder, Neuron
    from edgesnn.compile.pack import pack_snn
    rng = np.random.default_rng(3)
    gb = GraphBuilder((6,))
    h = gb.dense(gb.input, _w(rng, 8, 6, s=3))
    gb.nodes.append(Neuron(name="lif", inputs=[h], output="lif", kind="LIF", beta=np.full(8, .875),
                           gain=np.ones(8), threshold=np.ones(8), reset="subtract", delayed=True))
    gb.shapes["lif"] = gb.nodes[-1].out_shape([(8,)])
    g = gb.build("lif")
    x = rng.uniform(size=(30, T, 6))
    blob, _ = pack_snn(g, x, steps=T, sequence=True)
    model = edgesnn.load(blob)
    assert model.sequence and not model.info()["onestep_ok"]
    got = model.simulate(x, steps=T)
    view = read_blob(blob)
    q = quantize_input(x, view.input_scale, view.input_zero_point)
    np.testing.assert_array_equal(got, run_tstep(view, q.reshape(30, -1), T))
    with pytest.raises(ShapeError):
        model.simulate(x[:, :3], steps=T)
    with pytest.raises(EdgesnnError):
        model.outputs(x[:, 0], steps=T)  # one-step
