"""Benchmark: one snnTorch network, exported to NIR and packed, run by edgesnn (C core,
causal T-step; one-step where the blob allows it) and by snnTorch's own CPU simulation.

    python tools/bench_nir.py [--steps 16] [--repeat 300] [--out docs/benchmarks_nir.md]

Trains Linear(64,64)->Leaky->Linear(64,10)->Leaky (per-neuron beta/threshold) on the
digits train split for a few seconds, then times per-inference latency at batch 1
(the microcontroller case) and the throughput of a batched call, on the test split.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np


def _timeit(fn, repeat):
    fn()
    best = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best.append((time.perf_counter() - t0) / repeat)
    return min(best)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--out", default=None, help="write a markdown report here")
    args = ap.parse_args(argv)
    import nir
    import snntorch as snn
    import snntorch.utils
    import torch
    from snntorch.export_nir import export_to_nir
    import edgesnn
    from edgesnn.data.datasets import load_digits_split
    from edgesnn.compile.pack import pack_nir

    torch.set_num_threads(1)
    T = args.steps
    xtr, ytr, xte, yte = load_digits_split()  # the project's one held-out split
    xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    torch.manual_seed(0)

    def leaky(n, beta, out=False):
        return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), learn_threshold=True,
                         init_hidden=True, output=out)

    net = torch.nn.Sequential(torch.nn.Linear(64, 64), leaky(64, 0.875), torch.nn.Linear(64, 10), leaky(10, 0.75, True))

    def counts(x):
        snntorch.utils.reset(net)
        c = 0
        for _ in range(T):
            c = c + net(x)[0]
        return c

    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    xt, yt = torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr)
    for _ in range(15):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(counts(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    xte_t = torch.tensor(xte, dtype=torch.float32)
    with torch.no_grad():
        ref = counts(xte_t).numpy()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "mlp.nir")
        nir.write(path, export_to_nir(net, torch.randn(1, 64), ignore_dims=[0]))
        blob, report = pack_nir(path, xtr, ytr, steps=T, eval_x=xte, eval_y=yte)
    model = edgesnn.load(blob)
    got = model.simulate(xte, steps=T)
    agree = float(np.mean(got.argmax(1) == ref.argmax(1)))
    acc_e, acc_s = float(np.mean(got.argmax(1) == yte)), float(np.mean(ref.argmax(1) == yte))

    q = model.quantize(xte).reshape(len(xte), -1)
    tstep = model.invoker("tstep", T)
    rows = []
    one_q = np.ascontiguousarray(q[0])
    t_e = _timeit(lambda: tstep(one_q), args.repeat)
    x1 = xte_t[:1]
    with torch.no_grad():
        t_s = _timeit(lambda: counts(x1), max(20, args.repeat // 10))
        t_sb = _timeit(lambda: counts(xte_t), 5) / len(xte)
    t_eb = _timeit(lambda: model.simulate(q, steps=T, quantized=True), 3) / len(xte)
    rows.append(("edgesnn T-step (C core via cffi), batch 1", t_e))
    rows.append(("snnTorch CPU simulation, batch 1", t_s))
    rows.append((f"edgesnn T-step, batch {len(xte)} (per sample)", t_eb))
    rows.append((f"snnTorch CPU simulation, batch {len(xte)} (per sample)", t_sb))
    onestep = model.info()["onestep_ok"]
    lines = [
        "# NIR import benchmark (snnTorch -> NIR -> edgesnn)",
        "",
        f"Command: `python tools/bench_nir.py --steps {T} --repeat {args.repeat}`",
        f"Host: {platform.machine()} {platform.processor() or ''}, Python {sys.version.split()[0]}, "
        f"torch {torch.__version__} (1 thread), snnTorch {snn.__version__}, nir {nir.__version__}",
        "",
        f"Network: Linear(64,64) -> Leaky(beta 0.875 per neuron, learnt per-neuron thresholds) -> "
        f"Linear(64,10) -> Leaky(beta 0.75), T = {T}, digits test split ({len(xte)} samples); "
        f"blob {len(blob)} B, T-step arena {model.memory('tstep', T).total} B.",
        "",
        f"Agreement of predictions edgesnn vs snnTorch: {agree:.4f}; accuracy snnTorch {acc_s:.4f}, "
        f"edgesnn {acc_e:.4f}.",
        "",
        "| configuration | time per inference | vs snnTorch batch 1 |",
        "|---|---:|---:|",
    ]
    for name, t in rows:
        lines.append(f"| {name} | {t * 1e6:.1f} us | {t_s / t:.1f}x |")
    lines += ["", "One-step: " + ("valid" if onestep else
              "not valid for this blob (LIF layers leak; one-step is exact only for IF with static "
              "input, and the C core refuses it with ESNN_ERR_MODE)") + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
