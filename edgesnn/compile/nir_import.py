"""NIR (Neuromorphic Intermediate Representation) graphs -> the float graph IR.

NIR describes continuous-time neurons (tau dv/dt = (v_leak - v) + r*I) without a
batch dimension and without dt; every exporter hides its own dt in the parameters
(snnTorch: dt = 1e-4, tau = dt/(1-beta), r = tau/dt). With forward Euler at step dt:

    LIF/LI:  v_t = beta * v_{t-1} + gain * I_t,  beta = 1 - dt/tau,  gain = dt*r/tau
    IF:      v_t = v_{t-1} + gain * I_t,         gain = dt*r

(v_leak must be 0: a resting potential is not a bias the integer neuron can hold.)
NIR thresholds are strict (v > v_threshold) and NIR can only express reset to
v_reset; reset by subtraction is lost on export, so `reset` chooses: "zero" (NIR's
own semantics, immediate), "subtract" (snnTorch's Leaky: subtract the threshold one
step late, reset_delay=True, as in snnTorch 1.0), or "auto" (subtract when every
LIF looks like an snnTorch export, r == tau/dt, else zero). Every guess is recorded
in graph.import_notes.

Norse (1.1.0, norse.torch.to_nir) quirks handled here, both detected and noted:
  * its Input/Output nodes carry the batch dimension ([1, N]); a leading 1 is stripped
    when the first node after Input reads the remaining shape;
  * it exports tau = dt / tau_mem_inv (i.e. dt * tau_true, not tau_true = 1/tau_mem_inv,
    and its own from_nir reads it back as tau_true: the round trip is not the identity)
    with r = 1, so every tau is < dt. `norse_tau="auto"` takes tau_true = tau / dt when
    every leaky neuron has r == 1 and tau < dt (under NIR semantics beta would be < 0).
    Norse's LIFBox: v = v + dt*tau_mem_inv*(I - v), spike = v > v_th (heaviside is
    strict), v = v_reset at once: strict threshold, reset to zero, not delayed. dt=None
    uses Norse's default 1e-3 for such a graph and snnTorch's 1e-4 otherwise.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from ..errors import EdgesnnError, ShapeError, UnsupportedOpError
from .ir import (
    AvgPool2d, Conv2d, Dense, Flatten, Graph, Input, Neuron, Scale, SumPool2d, pads4, infer_shapes,
)

SUPPORTED = ("Input", "Output", "Affine", "Linear", "Conv1d", "Conv2d", "Flatten", "SumPool2d",
             "AvgPool2d", "Scale", "IF", "LIF", "LI", "CubaLIF (only tau_syn == dt, i.e. no synaptic state)")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
SNNTORCH_DT = 1e-4
NORSE_DT = 1e-3
LEAKY = ("LIF", "LI", "CubaLIF")


class NIRImportError(EdgesnnError):
    """A NIR file or graph that cannot be imported (the message says why and what to do)."""


def _arr(node_name, key, v, positive=False):
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise NIRImportError(f"node {node_name!r}: parameter {key} contains NaN or infinite values")
    if positive and np.any(a <= 0):
        raise NIRImportError(f"node {node_name!r}: parameter {key} must be > 0, got min {a.min():g}")
    return a


def _read(path_or_graph):
    import nir

    if isinstance(path_or_graph, nir.NIRGraph):
        return path_or_graph, None
    path = os.fspath(path_or_graph)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise NIRImportError(f"cannot read {path}: {exc.strerror}") from None
    if head != HDF5_MAGIC:
        raise NIRImportError(f"{path} is not a NIR file: NIR graphs are HDF5 files (magic {HDF5_MAGIC!r}), "
                             f"this one starts with {head!r}")
    try:
        # NIR's own type check is skipped: the importer checks every shape itself and
        # names the node (nir's message does not say which edge's source is wrong)
        return nir.read(path, type_check=False), os.path.basename(path)
    except Exception as exc:  # h5py/nir raise many types for a damaged file
        raise NIRImportError(f"{path}: HDF5 file but not a readable NIR graph ({type(exc).__name__}: {exc})") from None


def _toposort(nodes: dict, edges: list) -> list:
    for a, b in edges:
        for n in (a, b):
            if n not in nodes:
                raise NIRImportError(f"edge ({a!r}, {b!r}) names a node {n!r} that is not in the graph")
    preds = {n: [] for n in nodes}
    succ = {n: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
        succ[a].append(b)
    order, ready = [], [n for n in nodes if not preds[n]]
    indeg = {n: len(p) for n, p in preds.items()}
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    if len(order) != len(nodes):
        cyc = sorted(n for n in nodes if indeg[n] > 0)
        raise NIRImportError(f"the NIR graph has a cycle through nodes {cyc} (recurrent layers such as "
                             "RLeaky/RSynaptic): edgesnn runs feed-forward graphs only")
    for n in nodes:
        if len(preds[n]) > 1:
            raise NIRImportError(f"node {n!r} has {len(preds[n])} inputs {preds[n]}; only chains of single-input nodes are supported")
        if len(succ[n]) > 1:
            raise NIRImportError(f"node {n!r} feeds {len(succ[n])} nodes {succ[n]}; only chains are supported")
    return order, preds


def _taus(node):
    t = type(node).__name__
    return [node.tau_mem, node.tau_syn] if t == "CubaLIF" else [node.tau]


def _norse_like(nodes, dt) -> bool:
    """Every leaky neuron has r == 1 and tau < dt: Norse's tau = dt / tau_mem_inv export."""
    leaky = [nd for nd in nodes if type(nd).__name__ in LEAKY]
    return bool(leaky) and all(
        np.allclose(np.asarray(nd.r, np.float64), 1.0)
        and all(np.all(np.asarray(tau, np.float64) < dt) for tau in _taus(nd)) for nd in leaky)


def _neuron_params(name, node, dt, tau_scale=1.0):
    """(kind, beta, gain, threshold, v_reset, params) of a NIR neuron node; tau_scale
    multiplies every tau (1/dt for Norse's export)."""
    t = type(node).__name__
    if t == "IF":
        r = _arr(name, "r", node.r)
        thr = _arr(name, "v_threshold", node.v_threshold)
        vr = _arr(name, "v_reset", node.v_reset if node.v_reset is not None else 0.0)
        return "IF", np.ones_like(r), dt * r, thr, vr, {"r": r}
    if t == "CubaLIF":
        tau_syn = _arr(name, "tau_syn", node.tau_syn, positive=True) * tau_scale
        alpha = 1 - dt / tau_syn
        if np.any(np.abs(alpha) > 1e-6):
            raise UnsupportedOpError(
                f"node {name!r} (CubaLIF): synaptic decay alpha = 1 - dt/tau_syn = {float(np.max(alpha)):.4g} "
                f"at dt={dt:g}; the runtime has no synaptic current state, so only tau_syn == dt "
                "(alpha = 0, a plain LIF) maps. Use Leaky instead of Synaptic, or pass the right dt")
        w_in = _arr(name, "w_in", node.w_in)
        tau, v_leak, r = np.asarray(node.tau_mem) * tau_scale, node.v_leak, np.asarray(node.r) * w_in * dt / tau_syn
    elif t in ("LIF", "LI"):
        tau, v_leak, r = np.asarray(node.tau) * tau_scale, node.v_leak, node.r
    else:  # pragma: no cover - the caller dispatches
        raise AssertionError(t)
    tau = _arr(name, "tau", tau, positive=True)
    r = _arr(name, "r", r)
    v_leak = _arr(name, "v_leak", v_leak)
    if np.any(v_leak != 0):
        raise NIRImportError(
            f"node {name!r} ({t}): v_leak = {float(np.max(np.abs(v_leak))):g} != 0; the integer neuron "
            "decays towards 0, and a resting potential is only a bias when r/tau makes it one: fold "
            "v_leak into the bias of the preceding Affine (b += v_leak / r) and export with v_leak = 0")
    beta = 1 - dt / tau
    gain = dt * r / tau
    params = {"tau": tau, "r": r, "v_leak": v_leak}
    if t == "LI":
        return "LI", beta, gain, None, None, params
    thr = _arr(name, "v_threshold", node.v_threshold)
    vr = _arr(name, "v_reset", node.v_reset if getattr(node, "v_reset", None) is not None else 0.0)
    return "LIF", beta, gain, thr, vr, params


def load_nir(path_or_graph, dt: Optional[float] = None, reset: str = "auto", norse_tau="auto") -> Graph:
    """Read a NIR graph (file path or nir.NIRGraph) into an ir.Graph with Neuron nodes.

    dt: the exporter's time step; None = 1e-3 for a Norse-like graph (see module doc),
    else 1e-4 (snnTorch). norse_tau: "auto", True or False (read tau as dt/tau_mem_inv).

    Returns a Graph with `import_notes` (every guess made), `reset_mode` (the reset
    chosen) and `source` filled. Raises NIRImportError/UnsupportedOpError/ShapeError
    naming the node for anything the runtime cannot run.
    """
    if reset not in ("auto", "subtract", "zero"):
        raise ValueError(f"reset must be 'auto', 'subtract' or 'zero', got {reset!r}")
    if norse_tau not in ("auto", True, False):
        raise ValueError(f"norse_tau must be 'auto', True or False, got {norse_tau!r}")
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number, got {dt!r}")
    g, source = _read(path_or_graph)
    order, preds = _toposort(g.nodes, g.edges)
    notes = []
    if dt is None:
        dt = NORSE_DT if _norse_like(g.nodes.values(), NORSE_DT) else SNNTORCH_DT
        notes.append(f"dt not given: {dt:g} (" + ("Norse's default: every leaky neuron has r = 1 and tau < 1e-3"
                                                  if dt == NORSE_DT else "snnTorch's default") + ")")
    if norse_tau == "auto":
        norse_tau = _norse_like(g.nodes.values(), dt)
        if norse_tau:
            notes.append(f"tau read as Norse's export, tau = dt / tau_mem_inv (every leaky neuron has r = 1 and "
                         f"tau < dt = {dt:g}): tau_true = tau / dt; pass norse_tau=False to read NIR taus as given")
    tau_scale = 1.0 / dt if norse_tau else 1.0
    inputs = [n for n in order if type(g.nodes[n]).__name__ == "Input"]
    outputs = [n for n in order if type(g.nodes[n]).__name__ == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NIRImportError(f"the graph needs exactly one Input and one Output node, found inputs {inputs} and outputs {outputs}")
    for n in order:
        t = type(g.nodes[n]).__name__
        if t not in [s.split()[0] for s in SUPPORTED]:
            raise UnsupportedOpError(f"node {n!r} has NIR type {t}, which edgesnn cannot run; supported: {', '.join(SUPPORTED)}")

    # reset: NIR only says v_reset; decide subtract/zero once for the whole graph
    lifs = [(n, g.nodes[n]) for n in order if type(g.nodes[n]).__name__ in ("LIF", "IF", "CubaLIF")]
    mode = reset
    if reset == "auto":
        def snntorch_like(node):
            if type(node).__name__ != "LIF":
                return False
            tau, r = np.asarray(node.tau, np.float64), np.asarray(node.r, np.float64)
            return bool(np.allclose(r, tau / dt, rtol=1e-4)) and not np.any(np.asarray(node.v_reset if node.v_reset is not None else 0))
        mode = "subtract" if lifs and all(snntorch_like(nd) for _, nd in lifs) else "zero"
        notes.append("reset guessed: " + ("subtract one step late (every LIF has r = tau/dt and v_reset = 0, "
                                          "as snnTorch exports its Leaky with reset_delay=True; NIR cannot say "
                                          "'subtract', pass reset='zero' if the source reset to zero)"
                                          if mode == "subtract" else
                                          "reset to v_reset immediately (NIR semantics; pass reset='subtract' "
                                          "for a source that subtracted the threshold)"))

    x = inputs[0]
    ishape = tuple(int(d) for d in np.asarray(list(g.nodes[x].input_type.values())[0]).reshape(-1))
    ishape = _strip_batch(g, x, ishape, order, preds, notes)
    conv1d = len(ishape) == 2
    if conv1d:
        ishape = (ishape[0], 1, ishape[1])
        notes.append(f"input {ishape[0]}x{ishape[2]} treated as (C, 1, L) for Conv1d")
    nodes = [Input(name=x, inputs=[], output=x, shape=ishape)]
    shapes = {x: ishape}
    cur = x
    for n in order:
        node = g.nodes[n]
        t = type(node).__name__
        if t in ("Input", "Output"):
            continue
        if not preds[n]:
            raise NIRImportError(f"node {n!r} ({t}) has no input edge")
        shp = shapes[cur]
        kw = dict(name=n, inputs=[cur], output=n)
        if t in ("Affine", "Linear"):
            W = _arr(n, "weight", node.weight)
            b = _arr(n, "bias", node.bias) if t == "Affine" else np.zeros(W.shape[0])
            if W.ndim != 2 or W.shape[1] != int(np.prod(shp)):
                raise ShapeError(f"node {n!r} ({t}): weight {W.shape} does not fit its input of shape {shp} "
                                 f"({int(np.prod(shp))} elements)")
            if len(shp) != 1:
                raise ShapeError(f"node {n!r} ({t}) reads a {shp} tensor; put a Flatten in front of it")
            new = Dense(W=W, b=b.reshape(-1), **kw)
        elif t in ("Conv1d", "Conv2d"):
            W = _arr(n, "weight", node.weight)
            groups = int(np.asarray(node.groups))
            dil = np.atleast_1d(np.asarray(node.dilation)).astype(int)
            if groups != 1 or np.any(dil != 1):
                raise UnsupportedOpError(f"node {n!r} ({t}): groups={groups}, dilation={dil.tolist()}; "
                                         "only groups=1 and dilation=1 are supported")
            b = _arr(n, "bias", node.bias).reshape(-1) if node.bias is not None else np.zeros(W.shape[0])
            pad = node.padding
            if isinstance(pad, str):
                raise UnsupportedOpError(f"node {n!r} ({t}): padding {pad!r}; give explicit integer padding")
            pad = np.atleast_1d(np.asarray(pad)).astype(int)
            stride = np.atleast_1d(np.asarray(node.stride)).astype(int)
            if t == "Conv1d":
                W = W[:, :, None, :]
                stride, pads = (1, int(stride[0])), (0, int(pad[0]), 0, int(pad[0]))
            else:
                stride = tuple(int(s) for s in np.broadcast_to(stride, 2))
                p2 = np.broadcast_to(pad, 2)
                pads = pads4((int(p2[0]), int(p2[1])))
            new = Conv2d(W=W, b=b, stride=tuple(stride), pads=pads, **kw)
        elif t == "Flatten":
            new = Flatten(**kw)
        elif t in ("SumPool2d", "AvgPool2d"):
            k = tuple(int(v) for v in np.broadcast_to(np.atleast_1d(node.kernel_size), 2))
            st = tuple(int(v) for v in np.broadcast_to(np.atleast_1d(node.stride), 2))
            if np.any(np.asarray(node.padding) != 0):
                raise UnsupportedOpError(f"node {n!r} ({t}): padding {np.asarray(node.padding).tolist()}; pooling without padding only")
            new = (SumPool2d if t == "SumPool2d" else AvgPool2d)(k=k, stride=st, **kw)
        elif t == "Scale":
            new = Scale(scale=_arr(n, "scale", node.scale), **kw)
        else:  # neurons
            kind, beta, gain, thr, vr, params = _neuron_params(n, node, dt, tau_scale)
            if kind == "LIF" and np.all(np.abs(beta - 1) < 1e-12):
                kind = "IF"
            if kind in ("IF", "LIF") and np.any(vr != 0):
                raise NIRImportError(f"node {n!r} ({t}): v_reset = {float(np.max(np.abs(vr))):g} != 0; the integer "
                                     "neuron resets to 0 or subtracts the threshold")
            if kind in ("IF", "LIF") and np.any(thr <= 0):
                raise NIRImportError(f"node {n!r} ({t}): v_threshold must be > 0 (min {float(thr.min()):g})")
            params["dt"] = dt
            params["type"] = t
            new = Neuron(kind=kind, beta=beta, gain=gain, threshold=thr,
                         reset=mode if kind != "LI" else "zero", delayed=(mode == "subtract" and kind != "LI"),
                         strict=True, params=params, **kw)
        try:
            shapes[n] = new.out_shape([shp])
        except ShapeError as exc:
            raise ShapeError(f"node {n!r} ({t}): {exc}") from None
        nodes.append(new)
        cur = n
    return Graph(nodes, cur, import_notes=notes, reset_mode=mode, source=source)


def _strip_batch(g, x, ishape, order, preds, notes):
    """Drop a leading batch dimension of 1 (Norse's export) when the node after Input reads the rest."""
    if len(ishape) < 2 or ishape[0] != 1:
        return ishape
    nxt = [n for n in order if preds[n] == [x]]
    if not nxt:
        return ishape
    node = g.nodes[nxt[0]]
    t = type(node).__name__
    want = None
    try:
        want = tuple(int(d) for d in np.asarray(list(node.input_type.values())[0]).reshape(-1))
    except Exception:  # noqa: BLE001 - nodes without a usable input_type
        pass
    strip = (want == ishape[1:] or (t in ("Affine", "Linear") and len(ishape) == 2
                                    and np.asarray(node.weight).shape[1] == ishape[1])
             or (t == "Conv2d" and len(ishape) == 4) or (t == "Conv1d" and len(ishape) == 3))
    if strip:
        notes.append(f"input shape {list(ishape)}: leading batch dimension dropped (Norse exports it)")
        return ishape[1:]
    return ishape


def check_nir_shapes(graph: Graph):  # pragma: no cover - kept for symmetry with onnx_import
    return infer_shapes(graph.nodes)
