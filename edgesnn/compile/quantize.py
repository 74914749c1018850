"""ANN-to-SNN conversion and quantisation of a float Graph into an IntModel.

Every SNN tensor X has a float unit u_X: the ANN value is about u_X * total_X / T.
The input has u = input_scale (total T*q); an IF output has u = lambda, its threshold
in ANN units (total = spike count); a sum pool divides its input's unit by kh*kw.
A layer with threshold lambda and shift k_c uses integer weights
W_q = round(W * u_in * 2^k_c / lambda) so that its total current a is about
2^k_c * T * z / lambda and n = clamp(floor(a / 2^k_c), 0, T) is about T*relu(z)/lambda.
The largest k_c that still fits int8 weights and the overflow rule of docs/format.md
wins, because the threshold 2^k_c sets the resolution of the current.

Reversible blocks (Couple nodes, COUPLE layers): every tensor of a chain of Couples has
the unit of the chain's input, lambda of the ReLU/Clip layer it starts from, and each
F's threshold is that unit, so W_q = round(W * 2^k) and b_q = round(b / lambda * 2^k).
An F output above lambda is clipped at T spikes, and totals above 255 wrap around
(mod 256, which keeps the blocks invertible): both are reported as warnings with their
share of the calibration data.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import QuantizeError
from ..format.intmodel import (
    ACC_LIMIT, DTYPE_I32, DTYPE_U8, MAX_LAYERS, MAX_NUMEL, MAX_SHIFT, MAX_STEPS, MAX_TENSORS,
    LF_TARGET_HI, MULT_MAX, NEURON_IF, NEURON_NONE, OP_ADD, OP_CONV2D, OP_COUPLE, OP_DENSE,
    OP_NAMES, OP_SUMPOOL2D, U8_BOUND, WEIGHT_MAX, IntModel, LayerSpec, TensorSpec, add_bound,
    dense_bound,
)
from .ir import Act, Add, AvgPool2d, Conv2d, Couple, Dense, Flatten, Graph, Input

SHIFTS = np.arange(MAX_SHIFT + 1)
_POW2 = 2.0 ** SHIFTS
_BIAS_LIMIT = 2 ** 31


@dataclass
class QuantReport:
    input_scale: float
    input_zero_point: int
    steps: int
    percentile: float
    layers: list = field(default_factory=list)  # one dict per emitted layer
    warnings: list = field(default_factory=list)


def choose_input_quant(x) -> tuple:
    """(scale, zero_point) covering the calibration range of x in uint8.

    The scale is rounded to float32 because the blob header stores it as f32 and the
    host must quantise with exactly the scale the weights were built for.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise QuantizeError(f"calibration data must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.size == 0:
        raise QuantizeError("calibration data holds no samples")
    if not np.all(np.isfinite(x)):
        raise QuantizeError(f"calibration data contains {int(np.sum(~np.isfinite(x)))} NaN or "
                            "infinite values; clean or drop those samples")
    lo, hi = float(x.min()), float(x.max())
    with np.errstate(over="ignore"):
        if lo >= 0:
            scale, zp = (hi / 255.0 if hi > 0 else 1.0), 0
        else:
            hi = max(hi, 0.0)
            scale = (hi - lo) / 255.0
            zp = int(np.clip(np.rint(-lo / scale), 0, 255)) if np.isfinite(scale) else 0
        scale32 = float(np.float32(scale))
    if not (np.isfinite(scale32) and scale32 > 0):
        raise QuantizeError(
            f"calibration data spans [{lo:g}, {hi:g}]: the input scale {scale:g} is "
            f"{scale32:g} as the float32 the blob stores; it must be finite and > 0: "
            "rescale the inputs (e.g. to [0, 1])")
    return scale32, zp


@dataclass
class _Src:
    """How an IR tensor exists in the SNN."""

    kind: str  # "input", "u8" (spike counts), "sum" (sum-pool output), "rev" (output of a
    # reversible chain: totals up to 255 in the chain's unit), "deferred"
    index: int = -1  # SNN tensor index (not for "deferred")
    unit: float = 0.0
    node: object = None  # the Dense/Conv2d whose NONE layer waits for its ADD


@dataclass
class ShiftCandidates:
    """Integer weights and feasibility of a DENSE/CONV2D for every shift 0..20 (axis 0)."""

    wq: np.ndarray  # [21, C, Nin], already clipped to int8
    bq: np.ndarray  # [21, C]
    fits: np.ndarray  # [21, C] weights fit int8 without clipping
    ok: np.ndarray  # [21, C] bias fits int32 and the overflow rule holds
    bound: np.ndarray  # [21, C] worst-case total current
    clipped: np.ndarray  # [21, C] number of clipped weights


def weight_candidates(w2: np.ndarray, b: np.ndarray, reads_input: bool) -> ShiftCandidates:
    """w2 [C, Nin], b [C] already in 'units of the threshold' (times 2^k gives integers)."""
    wq = np.rint(w2[None] * _POW2[:, None, None])
    over = np.abs(wq) > WEIGHT_MAX
    wq = np.clip(wq, -WEIGHT_MAX, WEIGHT_MAX)
    bq = np.rint(b[None] * _POW2[:, None])
    bq_c = np.clip(bq, -(2.0 ** 40), 2.0 ** 40)  # beyond int32 is infeasible anyway; keeps int64 exact
    bound = dense_bound(np.abs(wq).sum(axis=2).astype(np.int64), np.abs(bq_c).astype(np.int64), reads_input)
    ok = (np.abs(bq) < _BIAS_LIMIT) & (bound < ACC_LIMIT)
    return ShiftCandidates(wq, bq_c, ~over.any(axis=2), ok, bound, over.sum(axis=2))


def pick_shifts(fits: np.ndarray, ok: np.ndarray, what: str) -> np.ndarray:
    """Per channel the largest shift where everything fits; shift 0 with clipped weights
    when even shift 0 needs weights beyond int8; an error when the overflow rule fails."""
    good = fits & ok
    k = np.where(good.any(axis=0), MAX_SHIFT - np.argmax(good[::-1], axis=0), 0)
    bad = ~good.any(axis=0) & ~ok[0]
    if bad.any():
        raise QuantizeError(
            f"{what}: channels {np.flatnonzero(bad).tolist()} overflow the int32 accumulator "
            "even at shift 0 (too many inputs or too large weights/bias for this threshold); "
            "reduce the layer's fan-in or regularise its weights"
        )
    return k


class _Converter:
    def __init__(self, graph: Graph, calib_x, steps: int, percentile: float):
        if not 1 <= steps <= MAX_STEPS:
            raise QuantizeError(f"steps must be 1..{MAX_STEPS}, got {steps}")
        self.g = graph
        self.steps = steps
        self.percentile = percentile
        self.acts = graph.forward_all(calib_x)
        self.scale, self.zp = choose_input_quant(self.acts[graph.input])
        self.cons = graph.consumers()
        self.tensors: list = []
        self.layers: list = []
        self.src: dict = {}
        self.fused: set = set()
        self.rev_est: dict = {}  # reversible chain tensors as the SNN sees them (float)
        self.report = QuantReport(self.scale, self.zp, steps, percentile)

    # -- bookkeeping -------------------------------------------------------------------
    def _tensor(self, name: str, dtype: int, ir_name: str) -> int:
        dims = tuple(int(d) for d in self.g.shapes[ir_name])
        numel = int(np.prod(dims))
        if numel > MAX_NUMEL or max(dims) > 0xFFFF:
            raise QuantizeError(
                f"tensor {name!r} has shape {dims} ({numel} elements); the format allows at "
                f"most {MAX_NUMEL} per tensor - shrink the layer or add pooling/stride"
            )
        self.tensors.append(TensorSpec(name, dtype, dims))
        return len(self.tensors) - 1

    def _warn(self, msg: str):
        self.report.warnings.append(msg)

    def _lambda(self, act: Act) -> float:
        if act.kind == "clip":
            return float(act.max)
        v = self.acts[act.output]
        lam = float(np.percentile(v, self.percentile)) if v.size else 0.0
        if lam <= 0:
            lam = float(v.max()) if v.size else 0.0
        if lam <= 0:
            self._warn(f"{act.name}: activation is never positive on the calibration data (dead layer); threshold set to 1.0")
            lam = 1.0
        return lam

    def _weighted_input(self, node, lam: float):
        """(w2 [C, Nin], b [C], reads_input) in threshold units for a Dense/Conv2d node."""
        src = self.src[node.inputs[0]]
        if src.kind == "deferred":
            raise QuantizeError(
                f"{node.name} reads {node.inputs[0]!r}, a layer without activation; only the "
                "final layer or an input of an Add may lack ReLU/Clip"
            )
        c = node.W.shape[0]
        w = node.W.reshape(c, -1)
        b = node.b.astype(np.float64)
        reads_input = src.kind == "input"
        if reads_input and self.zp:
            # x = scale * (q - zp): the -zp term is folded into the bias. Exact for dense
            # layers and unpadded convs; padded borders see q = 0 instead of zp.
            b = b - self.scale * self.zp * w.sum(axis=1)
            if isinstance(node, Conv2d) and any(node.pads):
                self._warn(f"{node.name}: input zero point {self.zp} with padding: border pixels are approximated")
        return w * (src.unit / lam), b / lam, reads_input

    def _emit(self, layer: LayerSpec, row: dict):
        self.layers.append(layer)
        row = {"name": layer.name, "op": OP_NAMES[layer.op], "neuron": ["NONE", "IF", "LIF"][layer.neuron],
               "lambda": None, **row}
        self.report.layers.append(row)

    def _weighted_layer(self, node, cand: ShiftCandidates, k: np.ndarray, neuron: int, out: int, lam, in0: int):
        ch = np.arange(len(k))
        wq = cand.wq[k, ch].astype(np.int8)
        flags = 0
        if isinstance(node, Couple):
            wq = wq.reshape(node.W.shape)
            op, flags = OP_COUPLE, LF_TARGET_HI if node.target_hi else 0
            kernel = (0,) * 8 if node.kind == "dense" else tuple(node.W.shape[2:]) + (1, 1) + node.pads
        elif isinstance(node, Conv2d):
            wq = wq.reshape(node.W.shape)
            op, kernel = OP_CONV2D, tuple(node.W.shape[2:]) + tuple(node.stride) + tuple(node.pads)
        else:
            op, kernel = OP_DENSE, (0,) * 8
        clipped = int(cand.clipped[k, ch].sum())
        if clipped:
            self._warn(f"{node.name}: {clipped} weights clipped to +-{WEIGHT_MAX} (the weights are too large for the threshold even at shift 0)")
        shift = k.astype(np.uint8) if neuron != NEURON_NONE else None
        util = float(np.mean(np.abs(wq.reshape(len(k), -1)).max(axis=1)) / WEIGHT_MAX)
        self._emit(
            LayerSpec(node.name, op, neuron, in0, out, flags=flags, kernel=kernel, weights=wq,
                      bias=cand.bq[k, ch].astype(np.int32), shift=shift),
            {"lambda": lam, "shift_min": int(k.min()), "shift_max": int(k.max()),
             "weight_util": round(util, 4), "clipped": clipped},
        )

    # -- node handlers -----------------------------------------------------------------
    def run(self) -> tuple:
        for node in self.g.nodes:
            if isinstance(node, Input):
                self.src[node.output] = _Src("input", self._tensor(node.output, DTYPE_U8, node.output), self.scale)
            elif isinstance(node, Flatten):
                self.src[node.output] = self.src[node.inputs[0]]  # DENSE reads rank 3 flat
            elif isinstance(node, (Dense, Conv2d)):
                self._dense_or_conv(node)
            elif isinstance(node, Act):
                self._lone_act(node)
            elif isinstance(node, Add):
                self._add(node)
            elif isinstance(node, AvgPool2d):
                self._avgpool(node)
            elif isinstance(node, Couple):
                self._couple(node)
            else:  # pragma: no cover - the IR has no other node types
                raise QuantizeError(f"{node.name}: node type {type(node).__name__} cannot be converted")
        out = self.src[self.g.output]
        if out.kind in ("input", "deferred"):
            raise QuantizeError(f"graph output {self.g.output!r} must be computed by a layer")
        if len(self.layers) > MAX_LAYERS or len(self.tensors) > MAX_TENSORS:
            raise QuantizeError(
                f"{len(self.layers)} layers / {len(self.tensors)} tensors exceed the format "
                f"limits ({MAX_LAYERS}/{MAX_TENSORS}); use a smaller network"
            )
        model = IntModel(self.tensors, self.layers, 0, out.index, self.scale, self.zp, self.steps)
        return model, self.report

    def _dense_or_conv(self, node):
        users = self.cons[node.output]
        if len(users) == 1 and isinstance(users[0], Act):
            act = users[0]
            self.fused.add(act.name)
            lam = self._lambda(act)
            w2, b, reads_input = self._weighted_input(node, lam)
            cand = weight_candidates(w2, b, reads_input)
            k = pick_shifts(cand.fits, cand.ok, node.name)
            out = self._tensor(act.output, DTYPE_U8, act.output)
            self._weighted_layer(node, cand, k, NEURON_IF, out, lam, self.src[node.inputs[0]].index)
            self.src[act.output] = _Src("u8", out, lam)
        elif len(users) == 1 and isinstance(users[0], Add):
            if self.src[node.inputs[0]].kind == "deferred":
                self._weighted_input(node, 1.0)  # raises: two linear layers in a row
            self.src[node.output] = _Src("deferred", node=node)
        elif not users and node.output == self.g.output:
            self._readout(node)
        else:
            raise QuantizeError(
                f"{node.name}: a Dense/Conv without ReLU/Clip must be the final layer or the "
                f"single input of an Add; its output feeds {[u.name for u in users]}"
            )

    def _readout(self, node):
        # One shift for all channels keeps the output currents comparable for argmax.
        w2, b, reads_input = self._weighted_input(node, 1.0)
        cand = weight_candidates(w2, b, reads_input)
        k = pick_shifts(cand.fits.all(axis=1, keepdims=True), cand.ok.all(axis=1, keepdims=True), node.name)
        k = np.full(node.W.shape[0], int(k[0]))
        out = self._tensor(node.output, DTYPE_I32, node.output)
        self._weighted_layer(node, cand, k, NEURON_NONE, out, None, self.src[node.inputs[0]].index)
        self.src[node.output] = _Src("i32", out)
        self.report.layers[-1]["output_scale"] = float(2.0 ** k[0])  # a ~= 2^k * T * z

    def _lone_act(self, node: Act):
        if node.name in self.fused:
            return
        src = self.src[node.inputs[0]]
        if node.kind == "relu" and src.kind in ("u8", "sum", "rev"):
            self.src[node.output] = src  # spike counts are already non-negative
            return
        raise QuantizeError(
            f"{node.name}: {node.kind} must directly follow a Dense, Conv or Add (it becomes "
            f"that layer's IF neuron); here it follows {node.inputs[0]!r}"
        )

    def _add(self, node: Add):
        users = self.cons[node.output]
        if not (len(users) == 1 and isinstance(users[0], Act)):
            raise QuantizeError(f"{node.name}: an Add must be followed by ReLU/Clip (its IF neuron)")
        act = users[0]
        self.fused.add(act.name)
        lam = self._lambda(act)
        nshape = (len(SHIFTS), self.g.shapes[node.output][0])
        fits, ok = np.ones(nshape, bool), np.ones(nshape, bool)
        parts = []  # (kind, data) per input
        for t in node.inputs:
            src = self.src[t]
            if src.kind == "deferred":
                w2, b, reads_input = self._weighted_input(src.node, lam)
                cand = weight_candidates(w2, b, reads_input)
                fits &= cand.fits
                ok &= cand.ok
                parts.append(("deferred", src, cand, np.ones(nshape, np.int64), cand.bound))
            elif src.kind in ("u8", "sum", "rev"):
                m = np.broadcast_to(np.rint(src.unit * _POW2 / lam)[:, None], nshape)
                ok &= m <= MULT_MAX
                parts.append(("u8", src, None, m.astype(np.int64), U8_BOUND))
            else:
                raise QuantizeError(f"{node.name}: the network input cannot feed an Add directly; put a Conv/Dense with ReLU in between")
        bound = add_bound(parts[0][3], parts[0][4], parts[1][3], parts[1][4])
        ok &= bound < ACC_LIMIT
        k = pick_shifts(fits, ok, node.name)
        ch = np.arange(len(k))
        ins = []
        for kind, src, cand, m, _ in parts:
            if kind == "deferred":  # its I32 currents are produced in the ADD's scale
                out = self._tensor(src.node.output, DTYPE_I32, src.node.output)
                self._weighted_layer(src.node, cand, k, NEURON_NONE, out, lam, self.src[src.node.inputs[0]].index)
                ins.append(out)
            else:
                ins.append(src.index)
                if (m[k, ch] == 0).any():
                    self._warn(f"{node.name}: input {src.index} has multiplier 0 on some channels (its unit is tiny against lambda {lam:.4g})")
        mult = np.stack([parts[0][3][k, ch], parts[1][3][k, ch]]).astype(np.int16)
        out = self._tensor(act.output, DTYPE_U8, act.output)
        self._emit(
            LayerSpec(node.name, OP_ADD, NEURON_IF, ins[0], out, in1=ins[1], shift=k.astype(np.uint8), mult=mult),
            {"lambda": lam, "shift_min": int(k.min()), "shift_max": int(k.max()),
             "mult_max": int(np.abs(mult).max())},
        )
        self.src[act.output] = _Src("u8", out, lam)

    def _couple(self, node: Couple):
        x = node.inputs[0]
        src = self.src[x]
        if src.kind not in ("u8", "rev"):
            where = {"input": "the network input", "sum": "a sum pool", "deferred": "a layer without activation",
                     "i32": "an I32 readout"}.get(src.kind, src.kind)
            raise QuantizeError(
                f"{node.name}: a chain of reversible blocks must start from the output of a "
                f"ReLU/Clip layer (its spike counts set the chain's unit), not {where}"
            )
        others = [n.name for n in self.cons[x] if n is not node]
        if others or x == self.g.output:
            raise QuantizeError(
                f"{node.name}: its input {x!r} is also read by {others or ['the graph output']}; a "
                "COUPLE's input may be read by it alone (the trainer overwrites it in place)"
            )
        lam = src.unit
        h = node.W.shape[0]
        # the input, output and F's threshold all have the chain's unit: W in threshold
        # units is W itself, b is b / lambda
        cand = weight_candidates(node.W.reshape(h, -1), node.b / lam, False)
        k = pick_shifts(cand.fits, cand.ok, node.name)
        out = self._tensor(node.output, DTYPE_U8, node.output)
        self._weighted_layer(node, cand, k, NEURON_IF, out, lam, src.index)
        self.report.layers[-1]["target"] = "hi" if node.target_hi else "lo"
        self.src[node.output] = _Src("rev", out, lam)
        self._couple_warnings(node, lam)

    def _couple_warnings(self, node: Couple, lam: float):
        """Where the SNN departs from the float block on the calibration data: F's output
        clipped at lambda (T spikes), and totals beyond 255 that wrap around. The chain is
        followed in float as the SNN computes it (the chain's input and every F clipped
        at lambda), so the totals T * value / lambda estimate the integer ones."""
        x = node.inputs[0]
        if x not in self.rev_est:
            self.rev_est[x] = np.minimum(self.acts[x], lam)  # an IF output: at most T spikes
        xin = self.rev_est[x]
        f = node.activation(node.pre(xin))
        clipped = float(np.mean(f > lam * (1 + 1e-9))) if f.size else 0.0
        y = np.array(xin, copy=True)
        tgt, _ = node.halves(y)
        tgt += np.minimum(f, lam)
        self.rev_est[node.output] = y
        if node.act == "clip" and node.max < lam:
            self._warn(f"{node.name}: F clips at {node.max:.4g}, below the chain unit {lam:.4g}; the SNN "
                       f"clips at {lam:.4g} (T spikes)")
        if clipped > 0:
            self._warn(f"{node.name}: {clipped:.2%} of F's outputs on the calibration data exceed the "
                       f"chain unit {lam:.4g} (lambda of the chain's input) and are clipped at T spikes")
        totals = self.steps * y / lam
        wrap = float(np.mean(totals > 255.5)) if totals.size else 0.0
        if wrap > 0:
            self._warn(f"{node.name}: calibration totals reach {float(totals.max()):.0f} > 255 at "
                       f"T={self.steps} on {wrap:.2%} of the elements; they wrap around (mod 256): "
                       "use a smaller T or fewer blocks")

    def _avgpool(self, node: AvgPool2d):
        src = self.src[node.inputs[0]]
        kh, kw = node.k
        if src.kind != "u8":
            where = {"input": "the network input", "sum": "another pool", "deferred": "a layer without activation",
                     "rev": "a reversible block (its totals reach 255; pool before the blocks)"}[src.kind]
            raise QuantizeError(
                f"{node.name}: average pooling becomes SUMPOOL2D, which must read spike counts "
                f"of a ReLU/Clip layer, not {where}; move the pool after an activation"
            )
        if kh * kw * self.steps > 255:
            raise QuantizeError(
                f"{node.name}: a {kh}x{kw} sum pool at T={self.steps} can reach {kh * kw * self.steps} > 255 "
                f"in its U8 output; use at most T={255 // (kh * kw)}"
            )
        out = self._tensor(node.output, DTYPE_U8, node.output)
        kernel = (kh, kw) + tuple(node.stride) + (0, 0, 0, 0)
        self._emit(LayerSpec(node.name, OP_SUMPOOL2D, NEURON_NONE, src.index, out, kernel=kernel),
                   {"max_steps": 255 // (kh * kw)})
        self.src[node.output] = _Src("sum", out, src.unit / (kh * kw))


def quantize_graph(graph: Graph, calib_x, steps: int = 16, percentile: float = 99.9) -> tuple:
    """Convert `graph` into an IntModel using calibration inputs calib_x (a float batch).

    Returns (IntModel, QuantReport). Raises QuantizeError when the graph has a shape
    the SNN form cannot express (the message names the node and what to change).
    """
    return _Converter(graph, calib_x, int(steps), float(percentile)).run()
