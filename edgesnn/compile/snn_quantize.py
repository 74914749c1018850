"""Quantise a spiking float graph (Neuron nodes, e.g. from NIR) into a causal IntModel.

Mapping (docs/format.md 5, causal dynamics). A layer is a Dense/Conv2d (plus folded
Scale nodes) followed by a Neuron. Its float membrane follows
v_t = beta*v_{t-1} + gain*(W x_t + b) with threshold theta (per neuron). The integer
membrane is u = v * 2^k / theta, so with threshold 2^k the dynamics are the same up to
rounding: W_q = round(W * unit_in * gain * 2^k / theta), b_q likewise, and per-neuron
thresholds cost nothing (they are absorbed per output channel). The leak becomes
u -= u >> s, i.e. beta -> 1 - 2^-s, one s per layer: this is the approximation, and it
is reported per layer together with its effect on the calibration data (a float
simulation with the exact beta against one with the mapped beta).
"""
from __future__ import annotations

import numpy as np

from ..errors import QuantizeError
from ..format.intmodel import (
    ACC_LIMIT, CAUSAL_MARGIN, DTYPE_I32, DTYPE_U8, LF_DELAYED, LF_RESET_ZERO, LF_STRICT, MAX_NUMEL,
    MAX_STEPS, NEURON_IF, NEURON_LI, NEURON_LIF, NEURON_NONE, OP_CONV2D, OP_DENSE, OP_SUMPOOL2D,
    IntModel, LayerSpec, TensorSpec,
)
from .ir import AvgPool2d, Conv2d, Dense, Flatten, Graph, Neuron, Scale, SumPool2d, simulate
from .quantize import QuantReport, weight_candidates, pick_shifts, choose_input_quant

LEAK_SHIFTS = np.arange(1, 16)
MIN_BETA = 0.25  # below this the nearest power-of-two leak (0.5) is a different neuron


def map_beta(name: str, beta: np.ndarray) -> tuple:
    """(leak_shift, mapped beta, text) for a layer's betas; raises when meaningless."""
    beta = np.asarray(beta, np.float64)
    if not np.all(np.isfinite(beta)):
        raise QuantizeError(f"{name}: beta contains NaN/inf")
    if np.any(beta <= 0) or np.any(beta >= 1):
        raise QuantizeError(
            f"{name}: beta in [{beta.min():.4g}, {beta.max():.4g}]; a leaky neuron needs 0 < beta < 1 "
            "(beta = 1 - dt/tau: check dt, tau > dt, or use IF for beta = 1)")
    if beta.min() < MIN_BETA:
        raise QuantizeError(
            f"{name}: beta {beta.min():.4g} < {MIN_BETA}: the membrane forgets most of itself every step and "
            "the nearest power-of-two leak (1 - 2^-1 = 0.5) would be a different neuron; retrain with beta >= 0.5 "
            "or check dt")
    cand = 1 - 2.0 ** -LEAK_SHIFTS
    err = np.abs(beta.reshape(-1)[:, None] - cand[None]).mean(axis=0)
    s = int(LEAK_SHIFTS[np.argmin(err)])
    mapped = 1 - 2.0 ** -s
    lo, hi = float(beta.min()), float(beta.max())
    src = f"beta {lo:.4g}" if np.isclose(lo, hi) else f"beta {lo:.4g}..{hi:.4g} (per neuron)"
    return s, mapped, f"{src} -> 1-2^-{s} = {mapped:.6g}"


class _SNNConverter:
    def __init__(self, graph: Graph, calib_x, steps: int, sequence: bool):
        if not 1 <= steps <= MAX_STEPS:
            raise QuantizeError(f"steps must be 1..{MAX_STEPS}, got {steps}")
        self.g, self.T, self.seq = graph, steps, sequence
        x = np.asarray(calib_x, dtype=np.float64)
        self.scale, self.zp = choose_input_quant(x)
        self.tensors, self.layers = [], []
        self.report = QuantReport(self.scale, self.zp, steps, 100.0)
        self.leaks = {}  # neuron name -> mapped beta

    def _tensor(self, name, dtype, dims):
        dims = tuple(int(d) for d in dims)
        if int(np.prod(dims)) > MAX_NUMEL:
            raise QuantizeError(f"tensor {name!r} has shape {dims}: more than {MAX_NUMEL} elements")
        self.tensors.append(TensorSpec(name, dtype, dims))
        return len(self.tensors) - 1

    def run(self):
        g = self.g
        nodes = g.nodes
        src = {"index": self._tensor(g.input, DTYPE_U8, g.input_shape), "unit": self.scale, "kind": "input"}
        pending = None  # [node, W, b] of a weighted op waiting for its neuron
        in_scale = None  # a Scale right after the input, folded into the next weights
        for n in nodes[1:]:
            if isinstance(n, Flatten):
                if pending is not None:
                    raise QuantizeError(f"{n.name}: Flatten between a weighted layer and its neuron is not supported")
                continue
            if isinstance(n, Scale):
                if pending is not None:
                    node, W, b = pending
                    c = W.shape[0]
                    f = np.broadcast_to(n.scale, g.shapes[node.output]).reshape(c, -1)
                    if not np.allclose(f, f[:, :1]):
                        raise QuantizeError(f"{n.name}: Scale varies within a conv channel; cannot fold it")
                    f = f[:, 0]
                    pending = [node, W * f.reshape((c,) + (1,) * (W.ndim - 1)), b * f]
                elif src["kind"] == "input":
                    in_scale = np.broadcast_to(n.scale, g.input_shape).astype(np.float64)
                else:
                    raise QuantizeError(f"{n.name}: a Scale must follow the input or an Affine/Linear/Conv")
                continue
            if isinstance(n, (Dense, Conv2d)):
                if pending is not None:
                    raise QuantizeError(f"{n.name}: two weighted layers in a row ({pending[0].name}, {n.name}) without a neuron")
                W, b = n.W.astype(np.float64), n.b.astype(np.float64)
                if in_scale is not None:
                    if isinstance(n, Dense):
                        W = W * in_scale.reshape(1, -1)
                    else:
                        per_c = in_scale.reshape(in_scale.shape[0], -1)
                        if not np.allclose(per_c, per_c[:, :1]):
                            raise QuantizeError(f"{n.name}: an input Scale that varies within a channel cannot be folded into a conv")
                        W = W * per_c[:, 0].reshape(1, -1, 1, 1)
                    in_scale = None
                pending = [n, W, b]
                continue
            if isinstance(n, (AvgPool2d, SumPool2d)):
                if pending is not None or src["kind"] != "u8":
                    raise QuantizeError(f"{n.name}: pooling must read the spikes of a spiking layer (after its neuron)")
                kh, kw = n.k
                if kh * kw * self.T > 255:
                    raise QuantizeError(f"{n.name}: a {kh}x{kw} sum pool at T={self.T} can exceed 255; use T <= {255 // (kh * kw)}")
                out = self._tensor(n.output, DTYPE_U8, g.shapes[n.output])
                self.layers.append(LayerSpec(n.name, OP_SUMPOOL2D, NEURON_NONE, src["index"], out,
                                             kernel=(kh, kw) + tuple(n.stride) + (0, 0, 0, 0)))
                self.report.layers.append({"name": n.name, "op": "SUMPOOL2D", "neuron": "NONE", "lambda": None})
                unit = src["unit"] / (kh * kw) if type(n) is AvgPool2d else src["unit"]
                src = {"index": out, "unit": unit, "kind": "u8"}
                continue
            if isinstance(n, Neuron):
                if pending is None:
                    raise QuantizeError(f"{n.name}: a neuron must follow an Affine/Linear/Conv (it becomes that layer's neuron)")
                src = self._layer(pending, n, src)
                pending = None
                continue
            raise QuantizeError(f"{n.name}: node type {type(n).__name__} cannot be converted")  # pragma: no cover
        if pending is not None:
            src = self._layer(pending, None, src)
        if src["kind"] == "input":
            raise QuantizeError("the graph computes nothing: its output is the input")
        model = IntModel(self.tensors, self.layers, 0, src["index"], self.scale, self.zp, self.T,
                         causal=True, sequence=self.seq)
        return model, self.report

    def _layer(self, pending, neuron, src):
        node, W, b = pending
        c = W.shape[0]
        oshape = self.g.shapes[node.output]
        reads_input = src["kind"] == "input"
        w = W.reshape(c, -1) * src["unit"]
        if reads_input and self.zp:
            b = b - self.scale * self.zp * W.reshape(c, -1).sum(axis=1)
        kind = neuron.kind if neuron is not None else "NONE"
        row = {"name": node.name + (f"+{neuron.name}" if neuron is not None else ""),
               "op": "CONV2D" if isinstance(node, Conv2d) else "DENSE", "lambda": None}

        def per_channel(key, arr):
            a = np.broadcast_to(arr, oshape).reshape(c, -1)
            if not np.allclose(a, a[:, :1], rtol=1e-6, atol=0):
                raise QuantizeError(
                    f"{neuron.name}: {key} varies within a conv channel ({node.name}); the runtime has one "
                    "threshold/gain per output channel")
            return a[:, 0]

        gain = per_channel("gain", neuron.gain) if neuron is not None else np.ones(c)
        flags, leak = 0, 0
        if kind in ("IF", "LIF"):
            thr = per_channel("v_threshold", neuron.threshold)
            w2, b2 = w * (gain / thr)[:, None], b * gain / thr
            flags = (LF_STRICT if neuron.strict else 0) | (LF_DELAYED if neuron.delayed else 0) | \
                    (LF_RESET_ZERO if neuron.reset == "zero" else 0)
            row.update(threshold=[float(thr.min()), float(thr.max())],
                       reset=("zero" if neuron.reset == "zero" else "subtract") + (", one step late" if neuron.delayed else ""))
        else:
            w2, b2 = w * gain[:, None], b * gain
        if kind in ("LIF", "LI"):
            leak, mapped, text = map_beta(neuron.name, neuron.beta)
            self.leaks[neuron.name] = mapped
            row.update(beta=[float(neuron.beta.min()), float(neuron.beta.max())], leak_shift=leak,
                       beta_mapped=mapped, approx=text)
        elif kind == "IF":
            row.update(approx="IF: no leak, exact")
        cand = weight_candidates(w2, b2, reads_input)
        margin = CAUSAL_MARGIN if kind in ("IF", "LIF") else 0
        ok = cand.ok & (cand.bound + margin < ACC_LIMIT)
        if kind in ("IF", "LIF"):
            k = pick_shifts(cand.fits, ok, node.name)
        else:  # readout: one shift so the outputs stay comparable
            k0 = pick_shifts(cand.fits.all(axis=1, keepdims=True), ok.all(axis=1, keepdims=True), node.name)
            k = np.full(c, int(k0[0]))
            row["output_scale"] = float(2.0 ** k[0])
        ch = np.arange(c)
        wq = cand.wq[k, ch].astype(np.int8).reshape(W.shape)
        clipped = int(cand.clipped[k, ch].sum())
        if clipped:
            self.report.warnings.append(f"{node.name}: {clipped} weights clipped to +-127")
        neuron_code = {"IF": NEURON_IF, "LIF": NEURON_LIF, "LI": NEURON_LI, "NONE": NEURON_NONE}[kind]
        dtype = DTYPE_U8 if kind in ("IF", "LIF") else DTYPE_I32
        out = self._tensor(node.output if neuron is None else neuron.output, dtype, oshape)
        if isinstance(node, Conv2d):
            op, kernel = OP_CONV2D, tuple(W.shape[2:]) + tuple(node.stride) + tuple(node.pads)
        else:
            op, kernel = OP_DENSE, (0,) * 8
        self.layers.append(LayerSpec(row["name"], op, neuron_code, src["index"], out, leak_shift=leak,
                                     flags=flags, kernel=kernel, weights=wq,
                                     bias=cand.bq[k, ch].astype(np.int32),
                                     shift=k.astype(np.uint8) if dtype == DTYPE_U8 else None))
        row.update(neuron=kind, shift_min=int(k.min()), shift_max=int(k.max()),
                   weight_util=round(float(np.mean(np.abs(wq.reshape(c, -1)).max(axis=1)) / 127), 4),
                   clipped=clipped)
        self.report.layers.append(row)
        return {"index": out, "unit": 1.0, "kind": "u8" if dtype == DTYPE_U8 else "i32"}


def quantize_snn(graph: Graph, calib_x, steps: int = 16, sequence: bool = False) -> tuple:
    """Convert a spiking float graph into a causal IntModel. Returns (IntModel, QuantReport)
    whose layer rows carry the leak approximation text (`approx`)."""
    conv = _SNNConverter(graph, calib_x, int(steps), bool(sequence))
    model, report = conv.run()
    report.leaks = conv.leaks
    return model, report


def leak_effect(graph: Graph, leaks: dict, x, steps: int, sequence: bool = False, y=None) -> dict:
    """Float causal simulation with the exact betas against one with the mapped betas."""
    exact = simulate(graph, x, steps, sequence)
    mapped = simulate(graph, x, steps, sequence, beta=leaks)
    pe = exact.reshape(len(exact), -1).argmax(axis=1)
    pm = mapped.reshape(len(mapped), -1).argmax(axis=1)
    out = {"agreement": float(np.mean(pe == pm))}
    if y is not None:
        y = np.asarray(y).reshape(-1)
        out.update(accuracy_exact=float(np.mean(pe == y)), accuracy_mapped=float(np.mean(pm == y)))
    return out
