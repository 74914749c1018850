#!/usr/bin/env python3
"""Train the default digits network and export it to ONNX for the edgesnn compiler.

The network is trained to survive ANN->SNN conversion with T rate-coded IF steps
(docs/format.md section 5): every activation becomes a spike count
``n = clamp(floor(T * z / lambda), 0, T)`` whose value is ``lambda * n / T``.  Training
therefore uses a quantisation-aware clip activation with exactly that *floor*
quantiser (QCFS style, straight-through gradient, trainable per-layer lambda), so the
float network and its T-step SNN agree.  The exported graph replaces the quantiser by a
plain ``Clip(0, lambda)`` (the importer reads the Clip max as the IF threshold).

Recipe: Adam (lr 1e-2, weight decay 1e-4 except lambda), cosine schedule, 60 epochs,
batch 32, cross-entropy; BatchNorm after each Conv/hidden Linear during training
(folded into the weights before export); lambda starts at 2.0 and is learned; the
first 10 epochs use the plain clip, the rest the T=16 floor quantiser.

Architectures (``--arch``):

* ``cnn`` (default): Conv(1->8, 3x3, pad 1) -> act -> AvgPool 2 -> Conv(8->16, 3x3,
  pad 1) -> act -> AvgPool 2 -> Flatten -> Gemm(64->10).
* ``mlp``: Flatten -> Gemm(64->32) -> act -> Gemm(32->10).

The exported graph holds only Conv, Clip, AveragePool, Flatten and Gemm nodes (Clip's
min/max are initializers), with a dynamic batch dimension, opset 17.

Usage::

    python tools/train_default.py --out edgesnn/models/digits_cnn.onnx
    python tools/train_default.py --arch mlp --out edgesnn/models/digits_mlp.onnx
    edgesnn pack edgesnn/models/digits_cnn.onnx -o edgesnn/models/digits.esnn \
        --calib digits --steps 16 --name digits-cnn     # the shipped blob

The run is deterministic (fixed seeds, one CPU thread, deterministic algorithms) and
takes a few seconds on CPU.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from edgesnn.data.datasets import load_digits_split  # noqa: E402


SEED = 0
OPSET = 17
DEFAULT_OUT = {
    "cnn": os.path.join(ROOT, "edgesnn", "models", "digits_cnn.onnx"),
    "mlp": os.path.join(ROOT, "edgesnn", "models", "digits_mlp.onnx"),
}


# --------------------------------------------------------------------------- torch


def _torch():
    import torch

    return torch


def build_model(arch: str, steps: int, lam0: float, bn: bool = True):
    torch = _torch()
    nn = torch.nn

    class FloorSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.floor(x)

        @staticmethod
        def backward(ctx, g):
            return g

    class QClip(nn.Module):
        """lambda * clamp(floor(T*z/lambda), 0, T) / T with a straight-through floor.

        With ``quant=False`` (and always at export) it is the plain Clip(0, lambda).
        """

        def __init__(self, steps: int, lam0: float):
            super().__init__()
            self.steps = steps
            self.lam = nn.Parameter(torch.tensor(float(lam0)))
            self.quant = True
            self.export = False

        def forward(self, z):
            if self.export:
                return torch.clamp(z, 0.0, float(self.lam.detach()))
            lam = self.lam.abs() + 1e-3
            if not self.quant:
                return torch.minimum(torch.relu(z), lam)
            y = FloorSTE.apply(z * self.steps / lam)
            y = torch.clamp(y, 0.0, float(self.steps))
            return y * lam / self.steps

    if arch == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8) if bn else nn.Identity(),
            QClip(steps, lam0),
            nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.BatchNorm2d(16) if bn else nn.Identity(),
            QClip(steps, lam0),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(64, 10),
        )
    elif arch == "mlp":
        model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 32),
            nn.BatchNorm1d(32) if bn else nn.Identity(),
            QClip(steps, lam0),
            nn.Linear(32, 10),
        )
    else:
        raise SystemExit(f"unknown --arch {arch!r}")
    return model


def qclips(model):
    return [m for m in model.modules() if hasattr(m, "lam") and hasattr(m, "quant")]


def augment(x, gen):
    """Random shift by -1..1 pixel in each direction (zero fill)."""
    torch = _torch()
    n = x.shape[0]
    pad = torch.nn.functional.pad(x, (1, 1, 1, 1))
    dy = torch.randint(0, 3, (n,), generator=gen)
    dx = torch.randint(0, 3, (n,), generator=gen)
    out = torch.empty_like(x)
    for a in range(3):
        for b in range(3):
            sel = (dy == a) & (dx == b)
            if sel.any():
                out[sel] = pad[sel, :, a : a + 8, b : b + 8]
    return out


def train(arch, steps, epochs, lr, seed, verbose=True, bn=True, lam0=2.0, augment_data=False):
    torch = _torch()
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    x_tr, y_tr, x_te, y_te = load_digits_split()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    model = build_model(arch, steps, lam0=lam0, bn=bn)
    if not augment_data:
        aug_fn = None
    else:
        aug_fn = augment
    lam_params = [m.lam for m in qclips(model)]
    other = [p for p in model.parameters() if all(p is not q for q in lam_params)]
    opt = torch.optim.Adam(
        [
            {"params": other, "weight_decay": 1e-4},
            {"params": lam_params, "weight_decay": 0.0},
        ],
        lr=lr,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    warm = max(1, epochs // 6)  # float clip warm-up epochs, then QAT
    bs = 32
    for ep in range(epochs):
        for m in qclips(model):
            m.quant = ep >= warm
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        tot = 0.0
        for i in range(0, len(xt), bs):
            idx = perm[i : i + bs]
            xb = aug_fn(xt[idx], gen) if aug_fn is not None and arch == "cnn" else xt[idx]
            loss = torch.nn.functional.cross_entropy(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
        sched.step()
        if verbose and (ep % 10 == 0 or ep == epochs - 1):
            model.eval()
            with torch.no_grad():
                acc = (model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean()
            lams = ", ".join(f"{float(m.lam.detach().abs()) + 1e-3:.3f}" for m in qclips(model))
            print(
                f"epoch {ep:3d} loss {tot / len(xt):.4f} "
                f"{'qat ' if ep >= warm else 'clip'} test(q) {acc:.4f} lambda [{lams}]"
            )
    model.eval()
    return model


# --------------------------------------------------------------------------- export


def fold_batchnorm(model):
    """Return an equivalent Sequential (eval mode) with every BatchNorm folded into the
    Conv/Linear before it, so the exported graph has no BatchNormalization node."""
    import copy

    torch = _torch()
    nn = torch.nn
    layers = [copy.deepcopy(m) for m in model]
    out = []
    for m in layers:
        if isinstance(m, nn.Identity):
            continue
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            prev = out[-1]
            assert isinstance(prev, (nn.Conv2d, nn.Linear)), type(prev)
            with torch.no_grad():
                scale = m.weight / torch.sqrt(m.running_var + m.eps)
                bias = prev.bias if prev.bias is not None else torch.zeros_like(m.running_mean)
                shape = (-1,) + (1,) * (prev.weight.dim() - 1)
                prev.weight.mul_(scale.reshape(shape))
                prev.bias = nn.Parameter((bias - m.running_mean) * scale + m.bias)
            continue
        out.append(m)
    folded = nn.Sequential(*out)
    folded.eval()
    return folded


def export_onnx(model, out_path):
    torch = _torch()
    import onnx
    from onnx import numpy_helper

    model = fold_batchnorm(model)
    for m in qclips(model):
        # Fold |lam| + 1e-3 into the stored value so the export uses the trained lambda.
        with torch.no_grad():
            m.lam.copy_(m.lam.abs() + 1e-3)
        m.export = True
    dummy = torch.zeros(1, 1, 8, 8)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation, tracer notes
        torch.onnx.export(
            model,
            (dummy,),
            tmp,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    g = onnx.load(tmp)
    os.remove(tmp)
    # Turn any Constant nodes (Clip min/max) into initializers so the graph holds only
    # compute ops.
    consts = [n for n in g.graph.node if n.op_type == "Constant"]
    for n in consts:
        t = onnx.helper.get_attribute_value(n.attribute[0])
        arr = numpy_helper.to_array(t)
        g.graph.initializer.append(numpy_helper.from_array(arr, n.output[0]))
        g.graph.node.remove(n)
    g.producer_name = "edgesnn tools/train_default.py"
    g.producer_version = "1"
    onnx.checker.check_model(g)
    onnx.save(g, out_path)
    return g


# --------------------------------------------------------------------------- numpy sim


def _conv2d(x, w, b, pads, strides):
    n, c, h, wd = x.shape
    oc, ic, kh, kw = w.shape
    pt, pl, pb, pr = pads[0], pads[1], pads[2], pads[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = strides
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    cols = np.empty((n, ic, kh, kw, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
    out = np.einsum("nckloh,dckl->ndoh", cols, w.astype(np.float64), optimize=True)
    return out + b.reshape(1, -1, 1, 1)


def _int8_per_channel(w):
    """Symmetric per-output-channel int8 fake quantisation of a weight array."""
    flat = w.reshape(w.shape[0], -1)
    s = np.abs(flat).max(axis=1) / 127.0
    s[s == 0] = 1.0
    q = np.clip(np.round(flat / s[:, None]), -127, 127)
    return (q * s[:, None]).reshape(w.shape)


def run_numpy(model_proto, x, steps=None, int8_weights=False):
    """Run the exported graph in numpy. With ``steps`` every Clip(0, lam) is replaced by
    the SNN's floor quantiser lam * clamp(floor(steps*z/lam), 0, steps) / steps; with
    ``int8_weights`` Conv/Gemm weights are fake-quantised per output channel."""
    from onnx import numpy_helper, helper

    env = {i.name: numpy_helper.to_array(i) for i in model_proto.graph.initializer}
    env[model_proto.graph.input[0].name] = x.astype(np.float64)
    for node in model_proto.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            w = _int8_per_channel(ins[1]) if int8_weights else ins[1]
            b = ins[2] if len(ins) > 2 else np.zeros(w.shape[0])
            y = _conv2d(ins[0], w, b, attrs.get("pads", [0, 0, 0, 0]), attrs.get("strides", [1, 1]))
        elif op == "Clip":
            lo, hi = float(ins[1]), float(ins[2])
            assert lo == 0.0, "expected Clip(0, lambda)"
            if steps is None:
                y = np.clip(ins[0], lo, hi)
            else:
                y = hi * np.clip(np.floor(ins[0] * steps / hi), 0, steps) / steps
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "AveragePool":
            k = attrs["kernel_shape"]
            s = attrs.get("strides", k)
            assert tuple(k) == tuple(s) and not any(attrs.get("pads", [0])), attrs
            n, c, h, w_ = ins[0].shape
            y = ins[0][:, :, : h // k[0] * k[0], : w_ // k[1] * k[1]]
            y = y.reshape(n, c, h // k[0], k[0], w_ // k[1], k[1]).mean(axis=(3, 5))
        elif op in ("Flatten", "Reshape"):
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Gemm":
            a, w = ins[0], ins[1]
            if int8_weights:
                w = _int8_per_channel(w if attrs.get("transB", 0) else w.T)
                w = w if attrs.get("transB", 0) else w.T
            if attrs.get("transB", 0):
                w = w.T
            y = a @ w
            if len(ins) > 2 and ins[2] is not None:
                y = y + ins[2]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y
    return env[model_proto.graph.output[0].name]


# --------------------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=["cnn", "mlp"], default="cnn")
    ap.add_argument("--out", default=None, help="output .onnx path")
    ap.add_argument("--steps", type=int, default=16, help="T used by the QAT quantiser")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--augment", action="store_true", help="random 1-pixel shifts (cnn)")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    out = args.out or DEFAULT_OUT[args.arch]
    epochs = args.epochs or 60

    torch = _torch()
    t0 = time.perf_counter()
    model = train(args.arch, args.steps, epochs, args.lr, args.seed, augment_data=args.augment)
    t_train = time.perf_counter() - t0
    x_tr, y_tr, x_te, y_te = load_digits_split()
    with torch.no_grad():
        qacc_torch = (model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean()
        for m in qclips(model):
            m.quant = False
        logits_t = model(torch.from_numpy(x_te)).numpy()
    facc_torch = (logits_t.argmax(1) == y_te).mean()

    g = export_onnx(model, out)
    ops = [n.op_type for n in g.graph.node]

    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
    logits_o = sess.run(None, {sess.get_inputs()[0].name: x_te})[0]
    max_diff = float(np.abs(logits_o - logits_t).max())
    agree = float((logits_o.argmax(1) == logits_t.argmax(1)).mean())
    facc_ort = (logits_o.argmax(1) == y_te).mean()
    facc_np = (run_numpy(g, x_te).argmax(1) == y_te).mean()
    print(f"trained in {t_train:.1f} s ({epochs} epochs, arch {args.arch})")
    print(f"wrote {out}: opset {OPSET}, ops {ops}")
    for node in g.graph.node:
        if node.op_type == "Clip":
            inits = {i.name: i for i in g.graph.initializer}
            from onnx import numpy_helper

            hi = float(numpy_helper.to_array(inits[node.input[2]]))
            print(f"  {node.name}: lambda = {hi:.6f}")
    print(f"onnxruntime vs torch: max |dlogit| {max_diff:.2e}, argmax agreement {agree:.4f}")
    if agree < 1.0 or max_diff > 1e-3:
        raise SystemExit("onnxruntime does not match torch")
    print(f"float test accuracy      torch {facc_torch:.4f}  onnxruntime {facc_ort:.4f}  numpy {facc_np:.4f}")
    print(f"QAT (torch, T={args.steps}) test accuracy {qacc_torch:.4f}")
    for T in sorted({4, 8, args.steps, 16, 32, 63}):
        acc = (run_numpy(g, x_te, steps=T).argmax(1) == y_te).mean()
        acc8 = (run_numpy(g, x_te, steps=T, int8_weights=True).argmax(1) == y_te).mean()
        print(
            f"simulated floor-quantised test accuracy T={T:2d}: {acc:.4f}"
            f"  (with int8 per-channel weights {acc8:.4f})"
        )


if __name__ == "__main__":
    main()
