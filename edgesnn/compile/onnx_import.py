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

from ..errors import EdgesnnError, ShapeError, UnsupportedOpError
from .ir import Act, Conv2d, Dense, Graph, GraphBuilder
from .onnx_coupling import CouplingMatcher

SUPPORTED_OPS = (
    "Gemm", "MatMul", "Conv", "BatchNormalization", "Relu", "Clip", "Flatten", "Reshape",
    "AveragePool", "GlobalAveragePool", "Add", "Identity", "Dropout", "Constant", "Cast",
    "Split/Slice..Concat of a reversible block",
)
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


def _same_upper_pads(size: int, k: int, s: int) -> tuple:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class _Importer(CouplingMatcher):
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
        self.convert_coupling_at(node)

    def op_Slice(self, node, a):
        if node.input[0] in self.consts:
            raise _unsupported(node, "a constant input")
        self.convert_coupling_at(node)

    def op_Shape(self, node, a):
        """Only as part of the TorchScript export of torch.chunk in a reversible block."""
        x = node.input[0]
        if not any(self.nodes[i].op_type in ("Slice", "Split") for i in self.readers.get(x, [])):
            raise _unsupported(node)
        self.convert_coupling_at(node)

    def op_GlobalAveragePool(self, node, a):
        x = self.act(node, node.input[0])
        _, h, w = self.gb.shape(x)
        self.names[node.output[0]] = self.gb.avgpool(x, (h, w), (h, w), name=self.name(node))


def load_onnx(model) -> Graph:
    """Load an ONNX file path or ModelProto into a Graph (float64 weights)."""
    import onnx

    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        try:
            model = onnx.load(path)
        except OSError as exc:
            raise EdgesnnError(f"cannot read {path}: {exc.strerror or exc}") from None
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
            raise EdgesnnError(f"{path} is not an ONNX model (protobuf could not parse it: "
                               f"{exc}); export one with torch.onnx.export") from None
        if not model.graph.node or not model.graph.input:
            raise EdgesnnError(f"{path} holds no ONNX graph (no nodes or no inputs): an empty, "
                               "truncated or non-ONNX file?")
    return _Importer(model).run()
