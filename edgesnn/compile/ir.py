"""A small float graph IR for ANNs that are converted into spiking networks.

A Graph is a list of nodes in topological order over named tensors. Shapes never
include the batch dimension: an input is (C, H, W) or (N,). `Graph.forward` is the
float64 numpy reference (batched, NCHW) against which conversion is judged.

Build graphs with GraphBuilder (the ONNX importer and the tests both do):

    gb = GraphBuilder((1, 8, 8))
    h = gb.relu(gb.conv(gb.input, w1, b1, pads=1))
    y = gb.dense(gb.flatten(gb.avgpool(h, 2)), w2, b2)
    graph = gb.build(y)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..format.arrayops import conv2d, conv_out_size, window_sum
from ..errors import ShapeError

ACT_KINDS = ("relu", "clip")


def _pair(v) -> tuple:
    return (int(v), int(v)) if np.isscalar(v) else tuple(int(i) for i in v)


def pads4(p) -> tuple:
    """Padding as (top, left, bottom, right) from an int, (h, w) or a 4-tuple."""
    if np.isscalar(p):
        return (int(p),) * 4
    p = tuple(int(i) for i in p)
    if len(p) == 2:
        return (p[0], p[1], p[0], p[1])
    if len(p) == 4:
        return p
    raise ShapeError(f"padding {p!r} must be an int, (h, w) or (top, left, bottom, right)")


@dataclass(kw_only=True)
class Node:
    name: str
    inputs: list
    output: str

    op = "node"

    def out_shape(self, in_shapes: list) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, *xs: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(kw_only=True)
class Input(Node):
    shape: tuple
    op = "input"

    def out_shape(self, in_shapes):
        if len(self.shape) not in (1, 3) or min(self.shape) < 1:
            raise ShapeError(f"input shape {self.shape} must be (N,) or (C, H, W) with dims >= 1")
        return tuple(self.shape)


@dataclass(kw_only=True)
class Dense(Node):
    """y = W x + b over the flattened input (a rank-3 input is read C-major, flat)."""

    W: np.ndarray  # [N, Nin]
    b: np.ndarray  # [N]
    op = "dense"

    def out_shape(self, in_shapes):
        nin = int(np.prod(in_shapes[0]))
        if self.W.ndim != 2 or self.W.shape[1] != nin or self.b.shape != (self.W.shape[0],):
            raise ShapeError(
                f"dense {self.name!r}: W {self.W.shape} and b {self.b.shape} do not fit an "
                f"input of {nin} elements (need W [N, {nin}], b [N])"
            )
        return (self.W.shape[0],)

    def forward(self, x):
        return x.reshape(x.shape[0], -1) @ self.W.T + self.b


@dataclass(kw_only=True)
class Conv2d(Node):
    W: np.ndarray  # [C, Cin, kh, kw]
    b: np.ndarray  # [C]
    stride: tuple = (1, 1)
    pads: tuple = (0, 0, 0, 0)  # top, left, bottom, right
    op = "conv"

    def out_shape(self, in_shapes):
        s = in_shapes[0]
        if len(s) != 3 or self.W.ndim != 4 or self.W.shape[1] != s[0]:
            raise ShapeError(
                f"conv {self.name!r}: weights {self.W.shape} need a (C={self.W.shape[1] if self.W.ndim == 4 else '?'}, H, W) input, got {s}"
            )
        if self.b.shape != (self.W.shape[0],):
            raise ShapeError(f"conv {self.name!r}: bias {self.b.shape} must be ({self.W.shape[0]},)")
        _, _, kh, kw = self.W.shape
        pt, pl, pb, pr = self.pads
        if pt >= kh or pb >= kh or pl >= kw or pr >= kw:
            raise ShapeError(f"conv {self.name!r}: pads {self.pads} must be smaller than the kernel {kh}x{kw}")
        return (
            self.W.shape[0],
            conv_out_size(s[1], kh, self.stride[0], pt, pb),
            conv_out_size(s[2], kw, self.stride[1], pl, pr),
        )

    def forward(self, x):
        return conv2d(x, self.W, self.stride, self.pads) + self.b[None, :, None, None]


@dataclass(kw_only=True)
class AvgPool2d(Node):
    k: tuple
    stride: tuple
    op = "avgpool"

    def out_shape(self, in_shapes):
        s = in_shapes[0]
        if len(s) != 3:
            raise ShapeError(f"avgpool {self.name!r} needs a (C, H, W) input, got {s}")
        return (s[0], conv_out_size(s[1], self.k[0], self.stride[0]),
                conv_out_size(s[2], self.k[1], self.stride[1]))

    def forward(self, x):
        return window_sum(x, self.k[0], self.k[1], self.stride) / (self.k[0] * self.k[1])


@dataclass(kw_only=True)
class SumPool2d(AvgPool2d):
    """Window sum without padding (NIR SumPool2d)."""

    op = "sumpool"

    def forward(self, x):
        return window_sum(x, self.k[0], self.k[1], self.stride)


@dataclass(kw_only=True)
class Scale(Node):
    """Elementwise multiplication by a per-element (broadcastable) factor (NIR Scale)."""

    scale: np.ndarray
    op = "scale"

    def out_shape(self, in_shapes):
        try:
            np.broadcast_to(self.scale, in_shapes[0])
        except ValueError:
            raise ShapeError(f"scale {self.name!r}: factor of shape {self.scale.shape} does not fit {in_shapes[0]}") from None
        return tuple(in_shapes[0])

    def forward(self, x):
        return x * self.scale


NEURON_KINDS = ("IF", "LIF", "LI")


@dataclass(kw_only=True)
class Neuron(Node):
    """A discrete-time spiking neuron (or leaky readout) fed by a current I_t each step.

    v_t = beta * v_{t-1} + gain * I_t (LI: output v after the last step). IF/LIF spike
    when v > threshold (v >= if not strict) and reset by subtracting the threshold or to
    zero, immediately or one step late (`delayed`, snnTorch). Parameters are float64
    arrays broadcast to the neuron's shape; `params` keeps the continuous-time source
    values (tau, r, v_leak, ...) and `dt` for reports.
    """

    kind: str
    beta: np.ndarray
    gain: np.ndarray
    threshold: Optional[np.ndarray] = None
    reset: str = "subtract"  # or "zero"
    delayed: bool = False
    strict: bool = True
    params: dict = field(default_factory=dict)
    op = "neuron"

    def out_shape(self, in_shapes):
        if self.kind not in NEURON_KINDS:
            raise ShapeError(f"neuron {self.name!r}: kind {self.kind!r} must be one of {NEURON_KINDS}")
        for key in ("beta", "gain", "threshold"):
            v = getattr(self, key)
            if v is None:
                continue
            v = np.asarray(v, np.float64)
            if v.ndim and v.size == int(np.prod(in_shapes[0])) and v.shape != tuple(in_shapes[0]):
                v = v.reshape(in_shapes[0])  # e.g. (C, L) of a Conv1d seen as (C, 1, L)
            try:
                setattr(self, key, np.broadcast_to(v, in_shapes[0]).copy())
            except ValueError:
                raise ShapeError(f"neuron {self.name!r}: {key} of shape {np.shape(v)} does not fit the input shape {tuple(in_shapes[0])}") from None
        return tuple(in_shapes[0])

    def forward(self, x):  # a static forward has no meaning for a neuron
        raise ShapeError(f"neuron {self.name!r} needs a time-stepped simulation (ir.simulate)")


def simulate(graph: "Graph", x, steps: int, sequence: bool = False, beta: Optional[dict] = None) -> np.ndarray:
    """Float64 causal simulation of a graph with Neuron nodes over `steps` steps.

    x is a batch of static inputs [B, *input_shape] (presented at every step) or, with
    `sequence`, [B, T, *input_shape]. `beta` optionally overrides a neuron's beta by
    node name (to measure the effect of the power-of-two leak). Returns the output's
    totals: spike counts of a spiking output, the last membrane of an LI output, or the
    sum over steps of any other output.
    """
    x = np.asarray(x, dtype=np.float64)
    shape = tuple(graph.input_shape)
    xs = x.reshape((-1, steps) + shape) if sequence else graph.batch_input(x)
    state, prev, total = {}, {}, 0.0
    beta = beta or {}
    out_node = graph.producers()[graph.output]
    for t in range(steps):
        vals = {graph.input: xs[:, t] if sequence else xs}
        for n in graph.nodes[1:]:
            xin = [vals[i] for i in n.inputs]
            if not isinstance(n, Neuron):
                vals[n.output] = n.forward(*xin)
                continue
            v = state.get(n.name, 0.0)
            b = beta.get(n.name, n.beta)
            v = b * v
            if n.kind != "LI" and n.delayed:
                p = prev.get(n.name, False)
                v = np.where(p, 0.0 if n.reset == "zero" else v - n.threshold, v)
            v = v + n.gain * xin[0]
            if n.kind == "LI":
                state[n.name] = v
                vals[n.output] = v
                continue
            s = v > n.threshold if n.strict else v >= n.threshold
            if not n.delayed:
                v = np.where(s, 0.0 if n.reset == "zero" else v - n.threshold, v)
            state[n.name], prev[n.name] = v, s
            vals[n.output] = s.astype(np.float64)
        y = vals[graph.output]
        total = y if isinstance(out_node, Neuron) and out_node.kind == "LI" else total + y
    return total


@dataclass(kw_only=True)
class Flatten(Node):
    op = "flatten"

    def out_shape(self, in_shapes):
        return (int(np.prod(in_shapes[0])),)

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


@dataclass(kw_only=True)
class Add(Node):
    op = "add"

    def out_shape(self, in_shapes):
        if tuple(in_shapes[0]) != tuple(in_shapes[1]):
            raise ShapeError(f"add {self.name!r}: shapes {in_shapes[0]} and {in_shapes[1]} differ")
        return tuple(in_shapes[0])

    def forward(self, a, b):
        return a + b


@dataclass(kw_only=True)
class Act(Node):
    """ReLU, or Clip to [0, max] (ReLU6 and friends)."""

    kind: str = "relu"
    max: Optional[float] = None
    op = "act"

    def out_shape(self, in_shapes):
        if self.kind not in ACT_KINDS:
            raise ShapeError(f"activation kind {self.kind!r} must be one of {ACT_KINDS}")
        if self.kind == "clip" and (self.max is None or self.max <= 0):
            raise ShapeError(f"clip {self.name!r} needs a max > 0, got {self.max}")
        return tuple(in_shapes[0])

    def forward(self, x):
        y = np.maximum(x, 0.0)
        return np.minimum(y, self.max) if self.kind == "clip" else y


COUPLE_KINDS = ("dense", "conv")


@dataclass(kw_only=True)
class Couple(Node):
    """One half of a reversible block: additive coupling over the two channel halves.

    The input's channels (dims[0]) split into a first half (channels [0, C/2), flat
    elements [0, numel/2)) and a second. The target t is the first half, or the second
    with target_hi; the source s is the other. Then

        y_s = x_s,    y_t = x_t + act(F(x_s)),    F(v) = W v + b

    with F dense over rank-1 tensors (kind "dense", W [N/2, N/2]) or an odd, stride-1,
    "same"-padded convolution over (C, H, W) tensors (kind "conv", W [C/2, C/2, kh, kw]),
    and act ReLU ("relu") or clip to [0, max] ("clip"). A reversible block
    y1 = x1 + F(x2), y2 = x2 + G(y1) is two Couple nodes, the first with F and
    target_hi False, the second with G and target_hi True; each is inverted by
    x_t = y_t - act(F(y_s)) (`inverse`). In the SNN a Couple is a COUPLE layer; its
    quantised form also clips act(F) at the chain's unit and wraps totals at 255
    (quantize.py).
    """

    W: np.ndarray
    b: np.ndarray
    kind: str = "dense"
    target_hi: bool = False
    act: str = "relu"
    max: Optional[float] = None
    op = "couple"

    def out_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        where = f"couple {self.name!r}"
        if self.kind not in COUPLE_KINDS:
            raise ShapeError(f"{where}: kind {self.kind!r} must be one of {COUPLE_KINDS}")
        if self.act not in ACT_KINDS or (self.act == "clip" and (self.max is None or self.max <= 0)):
            raise ShapeError(f"{where}: act {self.act!r} (max {self.max}) must be 'relu' or 'clip' with a max > 0")
        rank = 1 if self.kind == "dense" else 3
        if len(s) != rank or s[0] % 2:
            raise ShapeError(f"{where}: a {self.kind} coupling needs a rank-{rank} input with an even "
                             f"channel count, got {s}")
        h = s[0] // 2
        if self.kind == "dense":
            ok = self.W.shape == (h, h)
        else:
            ok = (self.W.ndim == 4 and self.W.shape[:2] == (h, h) and self.W.shape[2] % 2 == 1
                  and self.W.shape[3] % 2 == 1)
        if not ok or self.b.shape != (h,):
            raise ShapeError(f"{where}: W {self.W.shape} and b {self.b.shape} do not fit the halves of "
                             f"{s}: need W [{h}, {h}]" + ("" if self.kind == "dense" else "[kh, kw] (odd)")
                             + f", b [{h}]")
        return s

    @property
    def pads(self) -> tuple:
        """'same' padding (top, left, bottom, right) of a conv coupling."""
        if self.kind != "conv":
            return (0, 0, 0, 0)
        ph, pw = (self.W.shape[2] - 1) // 2, (self.W.shape[3] - 1) // 2
        return (ph, pw, ph, pw)

    def halves(self, x) -> tuple:
        """(target, source) views of a batch x [B, C, ...] (channel axis 1)."""
        h = x.shape[1] // 2
        lo, hi = x[:, :h], x[:, h:]
        return (hi, lo) if self.target_hi else (lo, hi)

    def pre(self, x) -> np.ndarray:
        """F(x_s) before the activation, for a batch x of the input."""
        _, src = self.halves(x)
        if self.kind == "dense":
            return src @ self.W.T + self.b
        return conv2d(src, self.W, (1, 1), self.pads) + self.b[None, :, None, None]

    def activation(self, z) -> np.ndarray:
        y = np.maximum(z, 0.0)
        return np.minimum(y, self.max) if self.act == "clip" else y

    def forward(self, x):
        y = np.array(x, dtype=np.float64, copy=True)
        tgt, _ = self.halves(y)
        tgt += self.activation(self.pre(x))
        return y

    def inverse(self, y):
        """The input x of a batch of outputs y (source half unchanged, F recomputed)."""
        x = np.array(y, dtype=np.float64, copy=True)
        tgt, _ = self.halves(x)
        tgt -= self.activation(self.pre(y))
        return x


@dataclass
class Graph:
    """Nodes in topological order; nodes[0] is the Input; `output` names the result."""

    nodes: list
    output: str
    shapes: dict = field(default_factory=dict)
    # what an importer records about how it read the model (nir_import fills them):
    import_notes: list = field(default_factory=list)  # every guess it made, in words
    reset_mode: Optional[str] = None  # the neuron reset it chose
    source: Optional[str] = None      # which framework's export it read it as

    def __post_init__(self):
        self.shapes = infer_shapes(self.nodes)
        if self.output not in self.shapes:
            raise ShapeError(f"graph output {self.output!r} is not produced by any node")

    @property
    def input(self) -> str:
        return self.nodes[0].output

    @property
    def input_shape(self) -> tuple:
        return self.shapes[self.input]

    def producers(self) -> dict:
        return {n.output: n for n in self.nodes}

    def consumers(self) -> dict:
        """Tensor name -> list of nodes reading it (in order)."""
        cons = {n.output: [] for n in self.nodes}
        for n in self.nodes:
            for t in n.inputs:
                cons[t].append(n)
        return cons

    def batch_input(self, x) -> np.ndarray:
        """x as float64 [B, *input_shape]; any layout with the right numel per sample works."""
        x = np.asarray(x, dtype=np.float64)
        numel = int(np.prod(self.input_shape))
        if x.size % numel or x.ndim < 1 or x.size == 0:
            raise ShapeError(f"input of shape {x.shape} is not a batch of {self.input_shape} samples")
        return x.reshape((-1,) + tuple(self.input_shape))

    def forward_all(self, x) -> dict:
        """Every tensor of the graph for the batch x (float64, batch first)."""
        vals = {self.input: self.batch_input(x)}
        for n in self.nodes[1:]:
            vals[n.output] = n.forward(*(vals[t] for t in n.inputs))
        return vals

    def forward(self, x) -> np.ndarray:
        return self.forward_all(x)[self.output]


def infer_shapes(nodes: list) -> dict:
    if not nodes or not isinstance(nodes[0], Input):
        raise ShapeError("a graph must start with its Input node")
    shapes = {}
    for n in nodes:
        for t in n.inputs:
            if t not in shapes:
                raise ShapeError(f"node {n.name!r} reads {t!r} before it is produced")
        if n.output in shapes:
            raise ShapeError(f"tensor {n.output!r} is produced twice")
        shapes[n.output] = n.out_shape([shapes[t] for t in n.inputs])
    return shapes


class GraphBuilder:
    """Appends nodes, checking shapes as it goes; every method returns the new tensor name."""

    def __init__(self, input_shape, name: str = "input"):
        self.nodes: list = []
        self.shapes: dict = {}
        self.input = self._append(Input(name=name, inputs=[], output=name, shape=tuple(int(d) for d in input_shape)))

    def _unique(self, name: Optional[str], op: str) -> str:
        base = name or f"{op}{len(self.nodes)}"
        out, i = base, 1
        while out in self.shapes:
            out, i = f"{base}_{i}", i + 1
        return out

    def _append(self, node: Node) -> str:
        for t in node.inputs:
            if t not in self.shapes:
                raise ShapeError(f"node {node.name!r} reads unknown tensor {t!r}")
        self.shapes[node.output] = node.out_shape([self.shapes[t] for t in node.inputs])
        self.nodes.append(node)
        return node.output

    def _make(self, cls, name, op, inputs, **kw) -> str:
        n = self._unique(name, op)
        return self._append(cls(name=n, inputs=list(inputs), output=n, **kw))

    def dense(self, x, W, b=None, name=None):
        W = np.asarray(W, dtype=np.float64)
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
        return self._make(Dense, name, "dense", [x], W=W, b=b)

    def conv(self, x, W, b=None, stride=1, pads=0, name=None):
        W = np.asarray(W, dtype=np.float64)
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
        return self._make(Conv2d, name, "conv", [x], W=W, b=b, stride=_pair(stride), pads=pads4(pads))

    def avgpool(self, x, k, stride=None, name=None):
        k = _pair(k)
        return self._make(AvgPool2d, name, "avgpool", [x], k=k, stride=_pair(stride) if stride is not None else k)

    def flatten(self, x, name=None):
        return self._make(Flatten, name, "flatten", [x])

    def add(self, a, b, name=None):
        return self._make(Add, name, "add", [a, b])

    def relu(self, x, name=None):
        return self._make(Act, name, "relu", [x], kind="relu")

    def clip(self, x, max, name=None):
        return self._make(Act, name, "clip", [x], kind="clip", max=float(max))

    def couple(self, x, W, b=None, target_hi=False, act="relu", max=None, name=None):
        """One coupling half (Couple): kind "dense" for a 2-D W, "conv" for a 4-D W."""
        W = np.asarray(W, dtype=np.float64)
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
        return self._make(Couple, name, "couple", [x], W=W, b=b, kind="dense" if W.ndim == 2 else "conv",
                          target_hi=bool(target_hi), act=act, max=None if max is None else float(max))

    def reversible_block(self, x, Wf, bf, Wg, bg, act="relu", max=None, name=None):
        """y1 = x1 + act(F(x2)), y2 = x2 + act(G(y1)): two Couple nodes; returns [y1; y2]."""
        base = name or f"rev{len(self.nodes)}"
        h = self.couple(x, Wf, bf, target_hi=False, act=act, max=max, name=f"{base}_f")
        return self.couple(h, Wg, bg, target_hi=True, act=act, max=max, name=f"{base}_g")

    def producer(self, tensor: str) -> Node:
        return next(n for n in self.nodes if n.output == tensor)

    def shape(self, tensor: str) -> tuple:
        return self.shapes[tensor]

    def build(self, output: Optional[str] = None) -> Graph:
        return Graph(list(self.nodes), output or self.nodes[-1].output)
