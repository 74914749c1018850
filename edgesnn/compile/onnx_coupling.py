"""The reversible-block pattern of an ONNX graph (docs/training.md, "Reversible blocks").

PyTorch exports `x1, x2 = torch.chunk(x, 2, dim=1); y1 = x1 + F(x2); y2 = x2 + G(y1);
torch.cat([y1, y2], dim=1)` as a channel split (Split, or the Shape arithmetic and two
Slices of the TorchScript exporter), two Add chains and a Concat. `CouplingMatcher`
recognises the block as a whole and emits two Couple nodes, or raises naming the node
that breaks the pattern. It is a part of onnx_import's importer (which provides the
graph indexes `nodes`, `readers`, `consts`, `skip`, `names` and the builder `gb`), kept
in its own module because it is the one importer step that looks at many nodes at once.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from .ir import Act, Conv2d, Dense, GraphBuilder

# What F and G of a reversible block may consist of (one Linear/Conv, then ReLU/Clip).
_CHAIN_OPS = ("Gemm", "MatMul", "Conv", "Add", "BatchNormalization", "Relu", "Clip", "Identity", "Dropout")
# Integer shape arithmetic of the TorchScript exporter's torch.chunk (Slice bounds).
_ARITH_OPS = ("Shape", "Gather", "Add", "Sub", "Mul", "Div", "Unsqueeze", "Squeeze", "Concat", "Cast",
              "Identity")
COUPLING_PATTERN = ("the coupling pattern of a reversible block: x1, x2 = torch.chunk(x, 2, dim=1); "
                    "y1 = x1 + F(x2); y2 = x2 + G(y1); torch.cat([y1, y2], dim=1), with F and G a Linear "
                    "(rank-1 halves) or a stride-1 'same' Conv with C/2 channels, then ReLU/Clip")


class NoCoupling(Exception):
    """A reversible-block candidate that does not have the expected shape."""

    def __init__(self, node, reason: str):
        self.node, self.reason = node, reason
        super().__init__(reason)


def coupling_error(node, reason: str) -> UnsupportedOpError:
    name = node.name or (node.output[0] if node.output else "?")
    return UnsupportedOpError(f'node "{name}" (op {node.op_type}): {reason}; expected {COUPLING_PATTERN}')


class CouplingMatcher:
    """The reversible-block methods of the ONNX importer (a mix-in of its _Importer)."""

    def convert_coupling_at(self, node):
        """Convert the reversible block that starts with this split of its input x into
        two Couple nodes, or raise naming the node that breaks the pattern."""
        try:
            self._convert_coupling(node.input[0])
        except NoCoupling as exc:
            raise coupling_error(exc.node, exc.reason) from None

    def _only_readers(self, t: str, n: int, where) -> list:
        got = self.readers.get(t, [])
        if len(got) != n or t in [o.name for o in self.g.output]:
            names = [self.nodes[i].name or self.nodes[i].op_type for i in got]
            raise NoCoupling(where, f"{t!r} must be read by exactly {n} node(s) of the block, "
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
            raise NoCoupling(self.nodes[other[0]], f"the block input {x!r} is also read here")
        if C % 2:
            raise NoCoupling(first, f"the block input {x!r} has an odd channel count {C}")
        splits = [i for i, op in zip(readers, ops) if op == "Split"]
        if splits:
            if len(readers) != 1:
                raise NoCoupling(first, f"{x!r} must be read by one Split alone")
            n = self.nodes[splits[0]]
            a = self.attrs(n)
            sizes = a.get("split")
            if sizes is None and len(n.input) > 1 and n.input[1]:
                if n.input[1] not in self.consts:
                    raise NoCoupling(n, "non-constant split sizes")
                sizes = self.consts[n.input[1]]
            sizes = [C // len(n.output)] * len(n.output) if sizes is None else [int(v) for v in sizes]
            if self._axis(n, a, rank) != 1 or sizes != [C // 2, C // 2]:
                raise NoCoupling(n, f"a split into halves on axis 1 is needed (axis {a.get('axis', 0)}, sizes {sizes})")
            return n.output[0], n.output[1], set(splits)
        slices = [i for i, op in zip(readers, ops) if op == "Slice"]
        if len(slices) != 2:
            raise NoCoupling(first, f"{x!r} must be split into two halves (one Split or two Slices), found {ops}")
        used, halves = set(slices), {}
        for i in slices:
            n = self.nodes[i]
            b = [self._arith(n.input[j], x, used) if len(n.input) > j and n.input[j] else None for j in range(1, 5)]
            starts, ends, axes, steps = b
            axes = [1] if axes is None else [int(v) + (rank + 1 if v < 0 else 0) for v in axes.reshape(-1)]
            if axes != [1] or (steps is not None and [int(v) for v in steps.reshape(-1)] != [1]):
                raise NoCoupling(n, f"a slice of the channel axis 1 with step 1 is needed (axes {axes})")
            lo, hi = (int(np.clip(v.reshape(-1)[0], -C - 1, C + 1)) for v in (starts, ends))
            lo, hi = (min(max(v + C if v < 0 else v, 0), C) for v in (lo, hi))
            halves[(lo, hi)] = n.output[0]
        if set(halves) != {(0, C // 2), (C // 2, C)}:
            raise NoCoupling(self.nodes[slices[0]], f"the Slices take channels {sorted(halves)}, not the halves of {C}")
        for i in used:  # the shape arithmetic feeds these Slices alone
            if self.nodes[i].op_type == "Shape" or i in slices:
                continue
            for t in self.nodes[i].output:
                if any(j not in used for j in self.readers.get(t, [])):
                    raise NoCoupling(self.nodes[i], "shape arithmetic of the split that is also used elsewhere")
        for i in readers:
            if self.nodes[i].op_type == "Shape" and i not in used:
                raise NoCoupling(self.nodes[i], f"Shape of {x!r} that does not feed the split")
        return halves[(0, C // 2)], halves[(C // 2, C)], used

    def _arith(self, t: str, x: str, used: set) -> np.ndarray:
        """Value of an integer tensor computed from constants and Shape(x) (the batch
        taken as 1), the bounds of the TorchScript exporter's torch.chunk Slices."""
        if t in self.consts:
            return np.asarray(self.consts[t], np.float64)
        i = self.producer.get(t)
        if i is None:
            raise NoCoupling(self.nodes[self.readers[t][0]], f"{t!r} is neither constant nor computed")
        n = self.nodes[i]
        if n.op_type not in _ARITH_OPS:
            raise NoCoupling(n, "a split bound that is not constant shape arithmetic")
        used.add(i)
        a = self.attrs(n)
        if n.op_type == "Shape":
            if n.input[0] != x:
                raise NoCoupling(n, f"the shape of {n.input[0]!r}, not of the block input {x!r}")
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
                raise NoCoupling(where, f"{t!r} is not computed from {start!r}")
            n = self.nodes[i]
            ins = [u for u in n.input if u and u not in self.consts]
            if n.op_type not in _CHAIN_OPS or len(ins) != 1:
                raise NoCoupling(n, f"F/G of a reversible block is one Linear/Conv then ReLU/Clip; "
                                     f"{n.op_type} with {len(ins)} computed inputs is not part of it")
            if chain and self.readers.get(t, []) != [chain[-1]]:
                raise NoCoupling(n, f"{t!r} inside F/G is also read elsewhere")
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
            raise NoCoupling(where, f"{what} must be one Linear/Conv followed by ReLU/Clip, got "
                                     f"{[type(n).__name__ for n in nodes[1:]]}")
        lin, act = nodes[1], nodes[2]
        if isinstance(lin, Dense):
            ok = len(shape) == 1 and lin.W.shape == (h, h)
        else:
            kh, kw = lin.W.shape[2:]
            ok = (lin.W.shape[:2] == (h, h) and kh % 2 == 1 and kw % 2 == 1 and tuple(lin.stride) == (1, 1)
                  and tuple(lin.pads) == ((kh - 1) // 2, (kw - 1) // 2) * 2)
        if not ok:
            raise NoCoupling(where, f"{what} ({lin.name}) must map a half {shape} onto itself: a Linear "
                                     "for rank-1 halves, a Conv with C/2 channels, an odd kernel, stride 1 "
                                     "and 'same' padding for (C, H, W) halves")
        return lin.W, lin.b, act.kind, act.max

    def _convert_coupling(self, x: str):
        if x not in self.names:
            raise NoCoupling(self.nodes[self.readers[x][0]], f"{x!r} is not a computed tensor")
        shape = tuple(self.gb.shape(self.names[x]))
        C, rank = shape[0], len(shape)
        h0, h1, used = self._halves(x, C, rank)
        half = (C // 2,) + shape[1:]
        (a1,) = self._only_readers(h0, 1, self.nodes[min(used)])
        add1 = self.nodes[a1]
        if add1.op_type != "Add" or len(add1.input) != 2:
            raise NoCoupling(add1, "the first half must be added to F(second half)")
        r1 = self._only_readers(h1, 2, self.nodes[min(used)])
        linear = [i for i in r1 if self.nodes[i].op_type in ("Gemm", "MatMul", "Conv")]  # F
        rest = [i for i in r1 if i not in linear]
        if len(rest) != 1 or self.nodes[rest[0]].op_type != "Add" or len(set(self.nodes[rest[0]].input)) != 2:
            raise NoCoupling(self.nodes[(rest or r1)[0]], "the second half must be added to G(y1)")
        a2 = rest[0]
        add2 = self.nodes[a2]
        f = add1.input[1] if add1.input[0] == h0 else add1.input[0]
        g = add2.input[1] if add2.input[0] == h1 else add2.input[0]
        y1, y2 = add1.output[0], add2.output[0]
        cf = self._chain(f, h1, add1)
        if set(r1) != {a2, cf[0]}:
            raise NoCoupling(add2, f"{h1!r} must feed F and the second Add only")
        self._only_readers(f, 1, add1)
        r_y1 = self._only_readers(y1, 2, add1)
        cg = self._chain(g, y1, add2)
        self._only_readers(g, 1, add2)
        (c,) = self._only_readers(y2, 1, add2)
        cat = self.nodes[c]
        if cat.op_type != "Concat" or list(cat.input) != [y1, y2] or self._axis(cat, self.attrs(cat), rank) != 1:
            raise NoCoupling(cat, "the block must end with Concat([y1, y2]) on axis 1")
        if set(r_y1) != {c, cg[0]}:
            raise NoCoupling(add1, f"{y1!r} must feed G and the Concat only")
        Wf, bf, actf, maxf = self._half_layer(cf, h1, half, "F", add1)
        Wg, bg, actg, maxg = self._half_layer(cg, y1, half, "G", add2)
        t1 = self.gb.couple(self.names[x], Wf, bf, target_hi=False, act=actf, max=maxf, name=add1.name or None)
        t2 = self.gb.couple(t1, Wg, bg, target_hi=True, act=actg, max=maxg, name=add2.name or None)
        self.names[cat.output[0]] = t2
        self.skip |= used | set(cf) | set(cg) | {a1, a2, c}
