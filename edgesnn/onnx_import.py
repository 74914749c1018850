"""Import a float ONNX model into the edgesnn Graph IR.

Only the ops a converted SNN can express are accepted; anything else raises
UnsupportedOpError naming the node, so the user knows which layer to change.
BatchNormalization and bias Adds are folded into the preceding Conv/Gemm/MatMul.
Reversible blocks exported from PyTorch (x1, x2 = torch.chunk(x, 2, dim=1);
y1 = x1 + F(x2); y2 = x2 + G(y1); torch.cat([y1, y2], dim=1)) are recognised as a
whole, from the channel split (Split, or the Shape arithmetic and two Slices of the
TorchScript exporter) to the Concat, and become two Couple nodes.
The batch dimension is dropped: the ONNX input must be [batch, C, H, W] or
[batch, N] with batch dynamic or 1. onnx is imported lazily so `edgesnn` itself
needs only numpy.
"""
from __future__ import annotations

import os

import numpy as np

from .errors import ShapeError, UnsupportedOpError
from .ir import Act, Conv2d, Dense, Graph, GraphBuilder

SUPPORTED_OPS = (
    "Gemm", "MatMul", "Conv", "BatchNormalization", "Relu", "Clip", "Flatten", "Reshape",
    "AveragePool", "GlobalAveragePool", "Add", "Identity", "Dropout", "Constant", "Cast",
    "Split/Slice..Concat of a reversible block",
)
# What F and G of a reversible block may consist of (one Linear/Conv, then ReLU/Clip).
_CHAIN_OPS = ("Gemm", "MatMul", "Conv", "Add", "BatchNormalization", "Relu", "Clip", "Identity", "Dropout")
# Integer shape arithmetic of the TorchScript exporter's torch.chunk (Slice bounds).
_ARITH_OPS = ("Shape", "Gather", "Add", "Sub", "Mul", "Div", "Unsqueeze", "Squeeze", "Concat", "Cast",
              "Identity")
_COUPLING = ("the coupling pattern of a reversible block: x1, x2 = torch.chunk(x, 2, dim=1); "
             "y1 = x1 + F(x2); y2 = x2 + G(y1); torch.cat([y1, y2], dim=1), with F and G a Linear "
             "(rank-1 halves) or a stride-1 'same' Conv with C/2 channels, then ReLU/Clip")
# Ops that usually come from `x.view(x.size(0), -1)` exported with a dynamic batch.
_SHAPE_OPS = ("Shape", "Gather", "Unsqueeze", "Concat")


def _unsupported(node, detail: str = "") -> UnsupportedOpError:
    name = node.name or (node.output[0] if node.output else "?")
    how = f" with {detail}" if detail else ""
    hint = ""
    if node.op_type in _SHAPE_OPS:
        hint = " (to flatten, use torch.flatten(x, 1) or export with a fixed batch size)"
    return UnsupportedOpError(
        f'node "{name}" (op {node.op_type}) is not supported{how}{hint}; supported: {", ".join(SUPPORTED_OPS)}'
    )


class _NoCoupling(Exception):
    """A reversible-block candidate that does not have the expected shape."""

    def __init__(self, node, reason: str):
        self.node, self.reason = node, reason
        super().__init__(reason)


def _coupling_error(node, reason: str) -> UnsupportedOpError:
    name = node.name or (node.output[0] if node.output else "?")
    return UnsupportedOpError(f'node "{name}" (op {node.op_type}): {reason}; expected {_COUPLING}')


def _same_upper_pads(size: int, k: int, s: int) -> tuple:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class _Importer:
    def __init__(self, model):
        from onnx import numpy_helper  # lazy: onnx is only needed to import

        self.np_helper = numpy_helper
        self.g = model.graph
        self.consts = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in self.g.initializer}
        self.nodes = list(self.g.node)
        self.uses = {}
        self.readers = {}  # tensor -> indices of the nodes reading it
        self.producer = {}  # tensor -> index of the node writing it
        for i, n in enumerate(self.nodes):
            for t in n.input:
                if t:
                    self.uses[t] = self.uses.get(t, 0) + 1
                    self.readers.setdefault(t, []).append(i)
            for t in n.output:
                self.producer[t] = i
        self.skip = set()  # nodes already converted as part of a reversible block
        for o in self.g.output:
            self.uses[o.name] = self.uses.get(o.name, 0) + 1
        inputs = [i for i in self.g.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise ShapeError(f"the model needs exactly one non-constant input, it has {[i.name for i in inputs]}")
        self.gb = GraphBuilder(self._input_shape(inputs[0]), name=inputs[0].name or "input")
        self.names = {inputs[0].name: self.gb.input}  # ONNX tensor -> IR tensor

    @staticmethod
    def _input_shape(vi) -> tuple:
        dims = [(d.dim_value if d.HasField("dim_value") else None) for d in vi.type.tensor_type.shape.dim]
        if len(dims) not in (2, 4):
            raise ShapeError(f"input {vi.name!r} has rank {len(dims)}; expected [batch, N] or [batch, C, H, W]")
        if dims[0] not in (None, 0, 1):
            raise ShapeError(f"input {vi.name!r}: batch dimension is {dims[0]}; export with a dynamic batch or batch 1")
        if any(d is None or d < 1 for d in dims[1:]):
            raise ShapeError(f"input {vi.name!r} has unknown dims {dims[1:]}; export with a fixed sample shape")
        return tuple(dims[1:])

    # -- helpers -------------------------------------------------------------------------
    def act(self, node, t: str) -> str:
        if t in self.names:
            return self.names[t]
        if t in self.consts:
            raise _unsupported(node, f"the constant {t!r} where a computed tensor is expected")
        raise ShapeError(f"node {node.name!r} reads {t!r}, which no earlier node produces")

    def const(self, node, t: str, what: str) -> np.ndarray:
        if t not in self.consts:
            raise _unsupported(node, f"a non-constant {what} ({t!r})")
        return self.consts[t]

    def opt_const(self, node, idx: int):
        return self.consts.get(node.input[idx]) if len(node.input) > idx and node.input[idx] else None

    def attrs(self, node) -> dict:
        import onnx

        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def foldable(self, t: str):
        """The IR Dense/Conv2d that alone produces ONNX tensor t, if it can absorb an affine op."""
        if t not in self.names or self.uses.get(t, 0) != 1:
            return None
        node = self.gb.producer(self.names[t])
        return node if isinstance(node, (Dense, Conv2d)) else None

    def per_channel(self, node, ir_tensor: str, value: np.ndarray) -> np.ndarray:
        """A constant broadcast onto one sample of ir_tensor, as one value per channel."""
        shape = self.gb.shape(ir_tensor)
        try:
            full = np.broadcast_to(value, (1,) + tuple(shape))[0]
        except ValueError:
            raise _unsupported(node, f"a constant of shape {value.shape} that does not broadcast to {shape}") from None
        flat = full.reshape(shape[0], -1)
        if not np.all(flat == flat[:, :1]):
            raise _unsupported(node, "a constant that is not one value per channel")
        return flat[:, 0].copy()

    # -- driver ----------------------------------------------------------------------------
    def run(self) -> Graph:
        for node in self.nodes:  # constants first: a coupling is converted as a whole
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.op_Constant(node, self.attrs(node))
        for i, node in enumerate(self.nodes):
            if i in self.skip:
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None or node.domain not in ("", "ai.onnx"):
                raise _unsupported(node)
            handler(node, self.attrs(node))
        out = self.g.output[0].name
        if out not in self.names:
            raise ShapeError(f"graph output {out!r} is a constant or not produced")
        return self.gb.build(self.names[out])

    def name(self, node):
        return node.name or None

    # -- ops -------------------------------------------------------------------------------
    def op_Constant(self, node, a):
        if "value" in a:
            v = self.np_helper.to_array(a["value"])
        else:
            key = next((k for k in ("value_float", "value_floats", "value_int", "value_ints") if k in a), None)
            if key is None:
                raise _unsupported(node, f"attributes {sorted(a)}")
            v = np.asarray(a[key])
        self.consts[node.output[0]] = np.asarray(v, dtype=np.float64)

    def op_Identity(self, node, a):
        t = node.input[0]
        if t in self.consts:
            self.consts[node.output[0]] = self.consts[t]
        else:
            self.names[node.output[0]] = self.act(node, t)

    op_Dropout = op_Identity  # inference: pass through (the mask output is never read)

    def op_Cast(self, node, a):
        if node.input[0] not in self.consts:
            raise _unsupported(node, "a non-constant input (only casts of constants are folded)")
        self.consts[node.output[0]] = self.consts[node.input[0]]

    def op_Gemm(self, node, a):
        if a.get("transA", 0):
            raise _unsupported(node, "transA=1")
        x = self.act(node, node.input[0])
        B = self.const(node, node.input[1], "weight B")
        W = (B if a.get("transB", 0) else B.T) * a.get("alpha", 1.0)
        C = self.opt_const(node, 2)
        if C is None and len(node.input) > 2 and node.input[2]:
            raise _unsupported(node, "a non-constant bias C")
        b = np.zeros(W.shape[0]) if C is None else np.broadcast_to(C, (1, W.shape[0]))[0] * a.get("beta", 1.0)
        self.names[node.output[0]] = self.gb.dense(x, W, b, name=self.name(node))

    def op_MatMul(self, node, a):
        x = self.act(node, node.input[0])
        B = self.const(node, node.input[1], "right-hand matrix")
        if B.ndim != 2:
            raise _unsupported(node, f"a weight of rank {B.ndim} (need [Nin, N])")
        self.names[node.output[0]] = self.gb.dense(x, B.T, None, name=self.name(node))

    def op_Add(self, node, a):
        ta, tb = node.input[0], node.input[1]
        if ta in self.consts and tb in self.consts:
            self.consts[node.output[0]] = self.consts[ta] + self.consts[tb]
            return
        if ta in self.consts or tb in self.consts:  # a bias: fold into the producer
            t, c = (tb, self.consts[ta]) if ta in self.consts else (ta, self.consts[tb])
            prod = self.foldable(t)
            if prod is None:
                raise _unsupported(node, "a constant operand that does not follow a Conv/Gemm/MatMul (only bias adds are foldable)")
            prod.b = prod.b + self.per_channel(node, self.names[t], c)
            self.names[node.output[0]] = self.names[t]
            return
        self.names[node.output[0]] = self.gb.add(self.act(node, ta), self.act(node, tb), name=self.name(node))

    def op_Conv(self, node, a):
        x = self.act(node, node.input[0])
        W = self.const(node, node.input[1], "weight")
        if W.ndim != 4:
            raise _unsupported(node, f"{W.ndim - 2}-D convolution (only 2-D)")
        if a.get("group", 1) != 1:
            raise _unsupported(node, f"group={a['group']} (only group=1)")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise _unsupported(node, f"dilations={list(a['dilations'])} (only 1)")
        stride = tuple(a.get("strides", [1, 1]))
        kh, kw = W.shape[2:]
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto == "NOTSET":
            pads = tuple(a.get("pads", [0, 0, 0, 0]))
        elif auto == "VALID":
            pads = (0, 0, 0, 0)
        elif auto == "SAME_UPPER":
            _, h, w = self.gb.shape(x)
            (pt, pb), (pl, pr) = _same_upper_pads(h, kh, stride[0]), _same_upper_pads(w, kw, stride[1])
            pads = (pt, pl, pb, pr)
        else:
            raise _unsupported(node, f"auto_pad={auto} (NOTSET, VALID, SAME_UPPER are)")
        b = self.opt_const(node, 2)
        if b is None and len(node.input) > 2 and node.input[2]:
            raise _unsupported(node, "a non-constant bias")
        self.names[node.output[0]] = self.gb.conv(x, W, b, stride=stride, pads=pads, name=self.name(node))

    def op_BatchNormalization(self, node, a):
        if a.get("training_mode", 0):
            raise _unsupported(node, "training_mode=1")
        prod = self.foldable(node.input[0])
        if prod is None:
            raise _unsupported(node, "an input that is not the sole output of a Conv/Gemm/MatMul (BatchNormalization is folded into it)")
        scale, bias, mean, var = (self.const(node, t, "parameter") for t in node.input[1:5])
        s = scale / np.sqrt(var + a.get("epsilon", 1e-5))
        prod.W = prod.W * s.reshape((-1,) + (1,) * (prod.W.ndim - 1))
        prod.b = (prod.b - mean) * s + bias
        self.names[node.output[0]] = self.names[node.input[0]]

    def op_Relu(self, node, a):
        self.names[node.output[0]] = self.gb.relu(self.act(node, node.input[0]), name=self.name(node))

    def op_Clip(self, node, a):
        lo = self.opt_const(node, 1)
        hi = self.opt_const(node, 2)
        for i in (1, 2):
            if len(node.input) > i and node.input[i] and node.input[i] not in self.consts:
                raise _unsupported(node, "a non-constant min/max")
        lo = a.get("min") if lo is None else float(lo)
        hi = a.get("max") if hi is None else float(hi)
        if lo is not None and lo != 0:
            raise _unsupported(node, f"min={lo} (an IF neuron clips at 0; only min 0 or absent)")
        x = self.act(node, node.input[0])
        if hi is not None and hi <= 0:
            raise _unsupported(node, f"max={hi} (must be > 0)")
        prev = self.gb.producer(x)
        if isinstance(prev, Act) and prev.kind == "relu" and self.uses.get(node.input[0], 0) == 1:
            # Relu then Clip(max): one clipped IF neuron. Here a missing min is harmless.
            if hi is not None:
                prev.kind, prev.max = "clip", hi
            self.names[node.output[0]] = x
            return
        if lo is None:
            raise _unsupported(node, "no min: without a lower bound at 0 it is not an activation an IF "
                               "neuron can express (use clamp(min=0, max=...) or ReLU6)")
        if hi is None:
            self.names[node.output[0]] = self.gb.relu(x, name=self.name(node))
        else:
            self.names[node.output[0]] = self.gb.clip(x, hi, name=self.name(node))

    def _flatten_to(self, node, x: str):
        if len(self.gb.shape(x)) == 1:
            self.names[node.output[0]] = x
        else:
            self.names[node.output[0]] = self.gb.flatten(x, name=self.name(node))

    def op_Flatten(self, node, a):
        x = self.act(node, node.input[0])
        rank = len(self.gb.shape(x)) + 1  # with the batch dimension
        axis = a.get("axis", 1)
        if (axis + rank if axis < 0 else axis) != 1:
            raise _unsupported(node, f"axis={axis} (only 1: keep the batch, flatten the rest)")
        self._flatten_to(node, x)

    def op_Reshape(self, node, a):
        x = self.act(node, node.input[0])
        target = [int(v) for v in self.const(node, node.input[1], "shape")]
        numel = int(np.prod(self.gb.shape(x)))
        ok = len(target) == 2 and (
            (target[0] in (-1, 0, 1) and target[1] in (-1, numel)) and not (target[0] == -1 and target[1] == -1)
        )
        if not ok:
            raise _unsupported(node, f"target shape {target} (only flattening to (N, -1), (1, -1) or (-1, {numel}))")
        self._flatten_to(node, x)

    def op_AveragePool(self, node, a):
        x = self.act(node, node.input[0])
        k = tuple(a["kernel_shape"])
        stride = tuple(a.get("strides", [1, 1]))
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if any(a.get("pads", [0, 0, 0, 0])) or auto not in ("NOTSET", "VALID"):
            raise _unsupported(node, "padding (a sum pool has none)")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise _unsupported(node, "dilations != 1")
        if a.get("ceil_mode", 0):
            _, h, w = self.gb.shape(x)
            if (h - k[0]) % stride[0] or (w - k[1]) % stride[1]:
                raise _unsupported(node, "ceil_mode=1 on a size that does not divide evenly")
        self.names[node.output[0]] = self.gb.avgpool(x, k, stride, name=self.name(node))

    # -- reversible blocks -------------------------------------------------------------------
    def op_Split(self, node, a):
        self._coupling(node)

    def op_Slice(self, node, a):
        if node.input[0] in self.consts:
            raise _unsupported(node, "a constant input")
        self._coupling(node)

    def op_Shape(self, node, a):
        """Only as part of the TorchScript export of torch.chunk in a reversible block."""
        x = node.input[0]
        if not any(self.nodes[i].op_type in ("Slice", "Split") for i in self.readers.get(x, [])):
            raise _unsupported(node)
        self._coupling(node)

    def _coupling(self, node):
        """Convert the reversible block that starts with this split of its input x into
        two Couple nodes, or raise naming the node that breaks the pattern."""
        try:
            self._convert_coupling(node.input[0])
        except _NoCoupling as exc:
            raise _coupling_error(exc.node, exc.reason) from None

    def _only_readers(self, t: str, n: int, where) -> list:
        got = self.readers.get(t, [])
        if len(got) != n or t in [o.name for o in self.g.output]:
            names = [self.nodes[i].name or self.nodes[i].op_type for i in got]
            raise _NoCoupling(where, f"{t!r} must be read by exactly {n} node(s) of the block, "
                                     f"it is read by {names}" + (" and is a graph output" if n == len(got) else ""))
        return got

    def _axis(self, node, a, rank: int) -> int:
        axis = int(a.get("axis", 0))
        return axis + rank + 1 if axis < 0 else axis

    def _halves(self, x: str, C: int, rank: int):
        """(h0, h1, nodes): the ONNX tensors of x's channel halves and the nodes making them."""
        readers = self.readers.get(x, [])
        ops = [self.nodes[i].op_type for i in readers]
        other = [i for i, op in zip(readers, ops) if op not in ("Split", "Slice", "Shape")]
        first = self.nodes[readers[0]]
        if other:
            raise _NoCoupling(self.nodes[other[0]], f"the block input {x!r} is also read here")
        if C % 2:
            raise _NoCoupling(first, f"the block input {x!r} has an odd channel count {C}")
        splits = [i for i, op in zip(readers, ops) if op == "Split"]
        if splits:
            if len(readers) != 1:
                raise _NoCoupling(first, f"{x!r} must be read by one Split alone")
            n = self.nodes[splits[0]]
            a = self.attrs(n)
            sizes = a.get("split")
            if sizes is None and len(n.input) > 1 and n.input[1]:
                if n.input[1] not in self.consts:
                    raise _NoCoupling(n, "non-constant split sizes")
                sizes = self.consts[n.input[1]]
            sizes = [C // len(n.output)] * len(n.output) if sizes is None else [int(v) for v in sizes]
            if self._axis(n, a, rank) != 1 or sizes != [C // 2, C // 2]:
                raise _NoCoupling(n, f"a split into halves on axis 1 is needed (axis {a.get('axis', 0)}, sizes {sizes})")
            return n.output[0], n.output[1], set(splits)
        slices = [i for i, op in zip(readers, ops) if op == "Slice"]
        if len(slices) != 2:
            raise _NoCoupling(first, f"{x!r} must be split into two halves (one Split or two Slices), found {ops}")
        used, halves = set(slices), {}
        for i in slices:
            n = self.nodes[i]
            b = [self._arith(n.input[j], x, used) if len(n.input) > j and n.input[j] else None for j in range(1, 5)]
            starts, ends, axes, steps = b
            axes = [1] if axes is None else [int(v) + (rank + 1 if v < 0 else 0) for v in axes.reshape(-1)]
            if axes != [1] or (steps is not None and [int(v) for v in steps.reshape(-1)] != [1]):
                raise _NoCoupling(n, f"a slice of the channel axis 1 with step 1 is needed (axes {axes})")
            lo, hi = (int(np.clip(v.reshape(-1)[0], -C - 1, C + 1)) for v in (starts, ends))
            lo, hi = (min(max(v + C if v < 0 else v, 0), C) for v in (lo, hi))
            halves[(lo, hi)] = n.output[0]
        if set(halves) != {(0, C // 2), (C // 2, C)}:
            raise _NoCoupling(self.nodes[slices[0]], f"the Slices take channels {sorted(halves)}, not the halves of {C}")
        for i in used:  # the shape arithmetic feeds these Slices alone
            if self.nodes[i].op_type == "Shape" or i in slices:
                continue
            for t in self.nodes[i].output:
                if any(j not in used for j in self.readers.get(t, [])):
                    raise _NoCoupling(self.nodes[i], "shape arithmetic of the split that is also used elsewhere")
        for i in readers:
            if self.nodes[i].op_type == "Shape" and i not in used:
                raise _NoCoupling(self.nodes[i], f"Shape of {x!r} that does not feed the split")
        return halves[(0, C // 2)], halves[(C // 2, C)], used

    def _arith(self, t: str, x: str, used: set) -> np.ndarray:
        """Value of an integer tensor computed from constants and Shape(x) (the batch
        taken as 1), the bounds of the TorchScript exporter's torch.chunk Slices."""
        if t in self.consts:
            return np.asarray(self.consts[t], np.float64)
        i = self.producer.get(t)
        if i is None:
            raise _NoCoupling(self.nodes[self.readers[t][0]], f"{t!r} is neither constant nor computed")
        n = self.nodes[i]
        if n.op_type not in _ARITH_OPS:
            raise _NoCoupling(n, "a split bound that is not constant shape arithmetic")
        used.add(i)
        a = self.attrs(n)
        if n.op_type == "Shape":
            if n.input[0] != x:
                raise _NoCoupling(n, f"the shape of {n.input[0]!r}, not of the block input {x!r}")
            dims = np.array((1,) + tuple(self.gb.shape(self.names[x])), np.float64)
            return dims[a.get("start", 0):a.get("end", len(dims))]
        v = [self._arith(u, x, used) if u else None for u in n.input]
        if n.op_type in ("Cast", "Identity"):
            return v[0]
        if n.op_type == "Gather":
            return np.take(v[0], v[1].astype(np.int64), axis=int(a.get("axis", 0)))
        if n.op_type in ("Add", "Sub", "Mul"):
            return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}[n.op_type](v[0], v[1])
        if n.op_type == "Div":
            return np.trunc(v[0] / v[1])  # integer division truncates
        if n.op_type in ("Unsqueeze", "Squeeze"):
            axes = a.get("axes", v[1].astype(np.int64).tolist() if len(v) > 1 and v[1] is not None else None)
            if n.op_type == "Unsqueeze":
                return np.expand_dims(v[0], tuple(int(k) for k in axes))
            return np.squeeze(v[0], None if axes is None else tuple(int(k) for k in axes))
        return np.concatenate([np.atleast_1d(u) for u in v], axis=int(a.get("axis", 0)))

    def _chain(self, end: str, start: str, where) -> list:
        """Indices of the nodes computing `end` from `start` (in order), each reading one
        computed tensor; every tensor in between has one reader."""
        chain, t = [], end
        while t != start:
            i = self.producer.get(t)
            if i is None or len(chain) > 16:
                raise _NoCoupling(where, f"{t!r} is not computed from {start!r}")
            n = self.nodes[i]
            ins = [u for u in n.input if u and u not in self.consts]
            if n.op_type not in _CHAIN_OPS or len(ins) != 1:
                raise _NoCoupling(n, f"F/G of a reversible block is one Linear/Conv then ReLU/Clip; "
                                     f"{n.op_type} with {len(ins)} computed inputs is not part of it")
            if chain and self.readers.get(t, []) != [chain[-1]]:
                raise _NoCoupling(n, f"{t!r} inside F/G is also read elsewhere")
            chain.append(i)
            t = ins[0]
        return chain[::-1]

    def _half_layer(self, chain: list, start: str, shape: tuple, what: str, where):
        """Run F's (G's) ONNX nodes on a scratch graph whose input is one half; returns
        (W, b, act, max) of its Linear/Conv then ReLU/Clip."""
        saved = self.gb, self.names
        self.gb = GraphBuilder(shape, name="half")
        self.names = {start: self.gb.input}
        try:
            for i in chain:
                n = self.nodes[i]
                getattr(self, f"op_{n.op_type}")(n, self.attrs(n))
            nodes, out = self.gb.nodes, self.names[self.nodes[chain[-1]].output[0]]
        finally:
            self.gb, self.names = saved
        h = shape[0]
        if (len(nodes) != 3 or not isinstance(nodes[1], (Dense, Conv2d)) or not isinstance(nodes[2], Act)
                or nodes[2].output != out):
            raise _NoCoupling(where, f"{what} must be one Linear/Conv followed by ReLU/Clip, got "
                                     f"{[type(n).__name__ for n in nodes[1:]]}")
        lin, act = nodes[1], nodes[2]
        if isinstance(lin, Dense):
            ok = len(shape) == 1 and lin.W.shape == (h, h)
        else:
            kh, kw = lin.W.shape[2:]
            ok = (lin.W.shape[:2] == (h, h) and kh % 2 == 1 and kw % 2 == 1 and tuple(lin.stride) == (1, 1)
                  and tuple(lin.pads) == ((kh - 1) // 2, (kw - 1) // 2) * 2)
        if not ok:
            raise _NoCoupling(where, f"{what} ({lin.name}) must map a half {shape} onto itself: a Linear "
                                     "for rank-1 halves, a Conv with C/2 channels, an odd kernel, stride 1 "
                                     "and 'same' padding for (C, H, W) halves")
        return lin.W, lin.b, act.kind, act.max

    def _convert_coupling(self, x: str):
        if x not in self.names:
            raise _NoCoupling(self.nodes[self.readers[x][0]], f"{x!r} is not a computed tensor")
        shape = tuple(self.gb.shape(self.names[x]))
        C, rank = shape[0], len(shape)
        h0, h1, used = self._halves(x, C, rank)
        half = (C // 2,) + shape[1:]
        (a1,) = self._only_readers(h0, 1, self.nodes[min(used)])
        add1 = self.nodes[a1]
        if add1.op_type != "Add" or len(add1.input) != 2:
            raise _NoCoupling(add1, "the first half must be added to F(second half)")
        r1 = self._only_readers(h1, 2, self.nodes[min(used)])
        linear = [i for i in r1 if self.nodes[i].op_type in ("Gemm", "MatMul", "Conv")]  # F
        rest = [i for i in r1 if i not in linear]
        if len(rest) != 1 or self.nodes[rest[0]].op_type != "Add" or len(set(self.nodes[rest[0]].input)) != 2:
            raise _NoCoupling(self.nodes[(rest or r1)[0]], "the second half must be added to G(y1)")
        a2 = rest[0]
        add2 = self.nodes[a2]
        f = add1.input[1] if add1.input[0] == h0 else add1.input[0]
        g = add2.input[1] if add2.input[0] == h1 else add2.input[0]
        y1, y2 = add1.output[0], add2.output[0]
        cf = self._chain(f, h1, add1)
        if set(r1) != {a2, cf[0]}:
            raise _NoCoupling(add2, f"{h1!r} must feed F and the second Add only")
        self._only_readers(f, 1, add1)
        r_y1 = self._only_readers(y1, 2, add1)
        cg = self._chain(g, y1, add2)
        self._only_readers(g, 1, add2)
        (c,) = self._only_readers(y2, 1, add2)
        cat = self.nodes[c]
        if cat.op_type != "Concat" or list(cat.input) != [y1, y2] or self._axis(cat, self.attrs(cat), rank) != 1:
            raise _NoCoupling(cat, "the block must end with Concat([y1, y2]) on axis 1")
        if set(r_y1) != {c, cg[0]}:
            raise _NoCoupling(add1, f"{y1!r} must feed G and the Concat only")
        Wf, bf, actf, maxf = self._half_layer(cf, h1, half, "F", add1)
        Wg, bg, actg, maxg = self._half_layer(cg, y1, half, "G", add2)
        t1 = self.gb.couple(self.names[x], Wf, bf, target_hi=False, act=actf, max=maxf, name=add1.name or None)
        t2 = self.gb.couple(t1, Wg, bg, target_hi=True, act=actg, max=maxg, name=add2.name or None)
        self.names[cat.output[0]] = t2
        self.skip |= used | set(cf) | set(cg) | {a1, a2, c}

    def op_GlobalAveragePool(self, node, a):
        x = self.act(node, node.input[0])
        _, h, w = self.gb.shape(x)
        self.names[node.output[0]] = self.gb.avgpool(x, (h, w), (h, w), name=self.name(node))


def load_onnx(model) -> Graph:
    """Load an ONNX file path or ModelProto into a Graph (float64 weights)."""
    import onnx

    if isinstance(model, (str, os.PathLike)):
        model = onnx.load(os.fspath(model))
    return _Importer(model).run()
