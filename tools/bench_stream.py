#!/usr/bin/env python3
"""Arena bytes of the streaming mode vs the T-step sequence call (issue 13) for a
6-64-64-4 causal LIF network (snnTorch Leaky semantics: STRICT|DELAYED, beta 0.875)
with an LI readout, packed with sequence input, measured in one run by the C core's
own size query (esnn_arena_bytes):

    python tools/bench_stream.py [--steps 16 50 63]

The stream's arena does not depend on T; the sequence call's grows with it. Each row
also checks that a stream of T frames after a reset gives the sequence call's outputs.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import edgesnn  # noqa: E402
from edgesnn.compile.ir import GraphBuilder, Neuron  # noqa: E402
from edgesnn.compile.pack import pack_snn  # noqa: E402


def net_6_64_64_4(seed: int = 0, readout: str = "LI"):
    """The issue's network: 6 inputs, two LIF layers of 64, 4 outputs (`readout`: "LI"
    for a leaky-integrator readout, "LIF" for a spiking output layer)."""
    rng = np.random.default_rng(seed)
    gb = GraphBuilder((6,))
    h = gb.input
    for i, (n_in, n_out) in enumerate([(6, 64), (64, 64), (64, 4)]):
        h = gb.dense(h, rng.normal(0, 2.0 / np.sqrt(n_in), (n_out, n_in)))
        kind = readout if i == 2 else "LIF"
        node = Neuron(name=f"n{i}", inputs=[h], output=f"n{i}", kind=kind,
                      beta=np.full(n_out, 0.875), gain=np.ones(n_out),
                      threshold=None if kind == "LI" else np.ones(n_out),
                      reset="subtract", delayed=True)
        gb.nodes.append(node)
        gb.shapes[node.output] = node.out_shape([(n_out,)])
        h = node.output
    return gb.build(h)


def packed(steps: int, seed: int = 0, readout: str = "LI", n_calib: int = 64) -> bytes:
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0, 1, size=(n_calib, steps, 6))
    return pack_snn(net_6_64_64_4(seed, readout), x, steps=steps, sequence=True)[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[16, 50, 63])
    args = ap.parse_args(argv)
    print(f"{'T':>4} {'sequence call (B)':>18} {'stream (B)':>11} {'state (B)':>10} "
          f"{'ratio':>6}  stream == sequence")
    for T in args.steps:
        m = edgesnn.load(packed(T))
        seq, st = m.memory("tstep", T).total, m.memory("stream")
        x = np.random.default_rng(T).uniform(0, 1, size=(T, 6))
        m.stream_reset()
        same = np.array_equal(m.stream(x)[-1], m.simulate(x, steps=T)[0])
        print(f"{T:>4} {seq:>18,} {st.total:>11,} {st.persistent:>10,} {seq / st.total:>5.1f}x  "
              f"{'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
