"""The Cortex-M kernels on geometries other than the default model's: each model is
flashed to a board and validated bit for bit against the host runtime, one-step at two
T and T-step, so every fast path and its fall-backs run on the real instruction set
(QEMU). mps2-an386 (Cortex-M4) runs the DSP kernels (esnn_conv2d_patch.c,
esnn_conv2d_plane.c, esnn_dense.c, esnn_sumpool2d.c under __ARM_FEATURE_DSP);
lm3s6965evb (Cortex-M3) the portable ones, with the patch kernel taking few-tap
convolutions too (ESNN_CONV_PLANE=0, which the host never builds). Fails, never skips,
without the toolchain (tools/install.sh)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import edgesnn
from _graphs import random_conv, random_mlp, random_residual
from edgesnn.compile.build import he_normal, reversible_cnn, reversible_mlp, small_bias
from edgesnn.emulate import QemuBoard
from edgesnn.compile.ir import GraphBuilder
from edgesnn.compile.pack import pack_graph


def conv_net(rng, in_shape, layers, pool=None, dense=None, end_relu=True):
    """Convs given as (out channels, kernel, stride, pads), optional pool after the
    first and a dense readout; strong weights so that many neurons spike."""
    gb = GraphBuilder(in_shape)
    h, c = gb.input, in_shape[0]
    for i, (co, k, s, p) in enumerate(layers):
        kh, kw = (k, k) if isinstance(k, int) else k
        h = gb.conv(h, he_normal(rng, co, c, kh, kw, gain=1.5), small_bias(rng, co, 0.3),
                    stride=s, pads=p)
        if end_relu or i < len(layers) - 1:
            h = gb.relu(h)
        c = co
        if pool and i == 0:
            h = gb.avgpool(h, pool)
    if dense:
        h = gb.flatten(h)
        h = gb.dense(h, he_normal(rng, dense, gb.shape(h)[0]), small_bias(rng, dense))
    return gb.build(h)


def cases():
    rng = np.random.default_rng(7)
    return {
        # few taps: the register kernel of esnn_conv2d_plane.c, and its variants
        "c1 3x3 pad 1": conv_net(rng, (1, 8, 8), [(8, 3, 1, 1)]),
        "c1 3x3 stride 2 on 9x7": conv_net(rng, (1, 9, 7), [(5, 3, 2, 1)]),
        "c2 2x2 asymmetric pad": conv_net(rng, (2, 7, 6), [(6, 2, 1, (1, 0, 0, 1))]),
        "c1 1x5": conv_net(rng, (1, 5, 9), [(4, (1, 5), 1, (0, 2, 0, 2))]),
        "c3 1x3 (not 3x3)": conv_net(rng, (3, 6, 6), [(7, (1, 3), 1, 0)]),
        # many taps: the four-channel kernel of esnn_conv2d_patch.c
        "c8 3x3 on 4x4 (default model)": conv_net(rng, (1, 8, 8), [(8, 3, 1, 1), (16, 3, 1, 1)],
                                                  pool=2, dense=10),
        "c3 3x3 to 9 channels": conv_net(rng, (3, 5, 5), [(9, 3, 1, 1)]),
        "c6 3x3 stride 2": conv_net(rng, (6, 7, 7), [(4, 3, 2, 1)]),
        "c16 1x1": conv_net(rng, (16, 4, 4), [(6, 1, 1, 0)]),
        "c5 3x3 pad 2": conv_net(rng, (5, 4, 6), [(4, 3, 1, 2)]),
        "c8 3x3 stride (2,1)": conv_net(rng, (8, 6, 6), [(4, 3, (2, 1), 1)]),
        "c8 3x3 readout (no neuron)": conv_net(rng, (8, 4, 4), [(8, 3, 1, 1)], end_relu=False),
        # pools of other widths, odd sizes, 3x3
        "pool 2 on 12x12": conv_net(rng, (1, 12, 12), [(3, 3, 1, 1)], pool=2, dense=6),
        "pool 2 on 9x9": conv_net(rng, (1, 9, 9), [(3, 3, 1, 1)], pool=2, dense=6),
        "pool 3": conv_net(rng, (1, 9, 9), [(3, 3, 1, 1)], pool=3, dense=6),
        # dense sizes around the four-row kernel
        "mlp 64-13-7": random_mlp(rng, sizes=(64, 13, 7)),
        "mlp 6-5-3": random_mlp(rng, sizes=(6, 5, 3)),
        "mlp 200-9-3": random_mlp(rng, sizes=(200, 9, 3)),
        "conv + pools": random_conv(rng),
        "residual adds": random_residual(rng),
        "reversible cnn": reversible_cnn((1, 8, 8), channels=8, blocks=2, seed=2),
        "reversible mlp": reversible_mlp((1, 8, 8), width=32, blocks=3, seed=1),
    }


@pytest.mark.parametrize("board_name", ["mps2-an386", "lm3s6965evb"])
def test_kernels_bit_exact_on_many_geometries(board_name):
    missing = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run tools/install.sh (CI does)")
    rng = np.random.default_rng(11)
    bad = []
    with QemuBoard(board_name) as q, edgesnn.connect(q.url, timeout=20) as board:
        for name, graph in cases().items():
            x = rng.uniform(0, 1, size=(60,) + tuple(graph.input_shape)).astype(np.float32)
            blob, _ = pack_graph(graph, x[:40], steps=16, name=name[:20])
            model = edgesnn.load(blob)
            assert np.count_nonzero(model.outputs(x[40:])) > 0, name  # not a dead network
            board.flash(blob, progress=False)
            for mode, steps, n in (("onestep", None, 12), ("onestep", 5, 6), ("tstep", 4, 3)):
                v = board.validate(model, x[40:40 + n], mode=mode, steps=steps)
                if v["agree"] != v["samples"]:
                    bad.append(f"{name} {mode} T={steps}: {v['agree']}/{v['samples']}")
    assert not bad, bad
