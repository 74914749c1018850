#!/usr/bin/env python3
"""The float oracle of the shifted-domain scenario: the shipped digits CNN in float32,
fine-tuned in PyTorch on the same shifted samples the device sees.

The network is rebuilt from edgesnn/models/digits_cnn.onnx (the float graph that
tools/train_default.py exported and edgesnn packs): Conv(1->8, 3x3, pad 1) -> Clip(0,
lambda1) -> AvgPool 2 -> Conv(8->16, 3x3, pad 1) -> Clip(0, lambda2) -> AvgPool 2 ->
Flatten -> Gemm(64->10), the float weights and the two Clip maxima read with `onnx`.
Every weight and bias and both lambdas are trained (Adam, cross-entropy, minibatches,
cosine schedule), deterministically: fixed seed, one CPU thread, deterministic
algorithms. PyTorch is a tool/test dependency, never a runtime one.

    python tools/float_oracle.py --shift gain           # one shift, prints accuracies
    python tools/float_oracle.py --json                 # all shifts
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

ONNX_PATH = os.path.join(ROOT, "edgesnn", "models", "digits_cnn.onnx")
# The oracle recipe (one setting for every shift).
ORACLE = {"epochs": 150, "lr": 3e-3, "batch": 20, "weight_decay": 0.0, "train_lambda": True}


def onnx_weights(path: str = ONNX_PATH) -> dict:
    """{"conv1.w", "conv1.b", "lam1", "conv2.w", "conv2.b", "lam2", "fc.w", "fc.b"} as
    float32 arrays, read from the exported graph (Conv, Clip, AveragePool, Conv, Clip,
    AveragePool, Flatten, Gemm)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i) for i in g.graph.initializer}
    ops = [n.op_type for n in g.graph.node]
    expect = ["Conv", "Clip", "AveragePool", "Conv", "Clip", "AveragePool", "Flatten", "Gemm"]
    if ops != expect:
        raise ValueError(f"{path}: expected the digits CNN {expect}, got {ops}")
    convs = [n for n in g.graph.node if n.op_type == "Conv"]
    clips = [n for n in g.graph.node if n.op_type == "Clip"]
    gemm = [n for n in g.graph.node if n.op_type == "Gemm"][0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gemm.attribute}
    fc_w = init[gemm.input[1]]
    if not attrs.get("transB", 0):
        fc_w = fc_w.T
    out = {}
    for i, (c, k) in enumerate(zip(convs, clips), 1):
        out[f"conv{i}.w"] = init[c.input[1]]
        out[f"conv{i}.b"] = init[c.input[2]]
        if float(init[k.input[1]]) != 0.0:
            raise ValueError("expected Clip(0, lambda)")
        out[f"lam{i}"] = np.asarray(init[k.input[2]], dtype=np.float32)
    out["fc.w"], out["fc.b"] = fc_w, init[gemm.input[2]]
    return {k: np.array(v, dtype=np.float32) for k, v in out.items()}


def build(weights: dict | None = None, train_lambda: bool = True):
    """The float digits CNN as a torch module, initialised from `weights`
    (default: the shipped ONNX graph)."""
    import torch
    from torch import nn

    w = weights or onnx_weights()

    class Clip(nn.Module):
        def __init__(self, lam):
            super().__init__()
            self.lam = nn.Parameter(torch.tensor(float(lam)), requires_grad=train_lambda)

        def forward(self, z):
            return torch.minimum(torch.relu(z), self.lam)

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.act1 = Clip(w["lam1"])
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.act2 = Clip(w["lam2"])
            self.fc = nn.Linear(64, 10)
            with torch.no_grad():
                for name in ("conv1", "conv2", "fc"):
                    layer = getattr(self, name)
                    layer.weight.copy_(torch.from_numpy(w[f"{name}.w"]))
                    layer.bias.copy_(torch.from_numpy(w[f"{name}.b"]))

        def forward(self, x):
            h = nn.functional.avg_pool2d(self.act1(self.conv1(x)), 2)
            h = nn.functional.avg_pool2d(self.act2(self.conv2(h)), 2)
            return self.fc(h.flatten(1))

    return DigitsCNN()


def predict(net, x) -> np.ndarray:
    import torch

    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(np.asarray(x, dtype=np.float32))).argmax(1).numpy()


def finetune_float(x, y, *, epochs: int = ORACLE["epochs"], lr: float = ORACLE["lr"],
                   batch: int = ORACLE["batch"], weight_decay: float = ORACLE["weight_decay"],
                   train_lambda: bool = ORACLE["train_lambda"], seed: int = 0,
                   weights: dict | None = None):
    """Fine-tune the float network (every parameter) on (x, y); returns the module."""
    import torch

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        net = build(weights, train_lambda=train_lambda)
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
        gen = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(epochs):
            perm = torch.randperm(len(xt), generator=gen)
            for i in range(0, len(xt), batch):
                idx = perm[i:i + batch]
                loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
        net.eval()
        return net
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


def oracle(shift: str, n_train: int = 200, seed: int = 0, **kw) -> dict:
    """Float accuracies on the held-out shifted samples of `shift`: before
    ("float_untuned") and after fine-tuning on the `n_train` shifted samples ("float_oracle")."""
    from edgesnn.data.shifts import shifted_split

    x_ft, y_ft, x_ev, y_ev = shifted_split(shift, n_train, seed)
    t0 = time.perf_counter()
    before = float(np.mean(predict(build(), x_ev) == y_ev))
    net = finetune_float(x_ft, y_ft, seed=seed, **kw)
    after = float(np.mean(predict(net, x_ev) == y_ev))
    return {"shift": shift, "n_train": int(len(y_ft)), "float_untuned": before,
            "float_oracle": after, "seconds": time.perf_counter() - t0}


def main(argv=None):
    from edgesnn.data.shifts import SHIFTS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shift", choices=sorted(SHIFTS), action="append",
                    help="shift(s) to run (default: all)")
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=ORACLE["epochs"])
    ap.add_argument("--lr", type=float, default=ORACLE["lr"])
    ap.add_argument("--batch", type=int, default=ORACLE["batch"])
    ap.add_argument("--weight-decay", type=float, default=ORACLE["weight_decay"])
    ap.add_argument("--fixed-lambda", action="store_true", help="do not train the Clip maxima")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = [oracle(s, args.n_train, args.seed, epochs=args.epochs, lr=args.lr, batch=args.batch,
                   weight_decay=args.weight_decay, train_lambda=not args.fixed_lambda)
            for s in (args.shift or list(SHIFTS))]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['shift']:9s} float un-tuned {r['float_untuned']:.4f}  float oracle "
              f"{r['float_oracle']:.4f}  ({r['n_train']} samples, {r['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
