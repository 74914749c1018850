"""Float models built in Python, without ONNX: seeded random reversible networks.

    from edgesnn.compile.build import reversible_mlp
    from edgesnn.compile.pack import pack_graph
    graph = reversible_mlp(64, width=32, blocks=4, n_classes=10, seed=0)
    blob, report = pack_graph(graph, x_calib, steps=16)

A reversible network is a stem (Dense or Conv, then ReLU), L reversible blocks
y1 = x1 + relu(F(x2)), y2 = x2 + relu(G(y1)) (2L Couple nodes, 2L COUPLE layers in the
blob) and a Dense readout. Weights are He-normal (seeded); the couplings are scaled
down (`block_gain`) so that the values, which every block adds to, grow slowly with
depth and the quantised totals stay below 255 for moderate L and T.
"""
from __future__ import annotations

import numpy as np

from .ir import Graph, GraphBuilder


def he_normal(rng, *shape, gain: float = 1.0) -> np.ndarray:
    """Normal weights of shape `shape` with std gain * sqrt(2 / fan_in), fan_in the
    product of shape[1:] (a Dense [N, Nin] or a Conv [C, Cin, kh, kw])."""
    fan_in = int(np.prod(shape[1:]))
    return rng.normal(0.0, gain * np.sqrt(2.0 / fan_in), size=shape)


def small_bias(rng, n: int, std: float = 0.1) -> np.ndarray:
    return rng.normal(0.0, std, size=n)


def _input(gb: GraphBuilder) -> str:
    """The input, flattened when it is (C, H, W)."""
    return gb.flatten(gb.input) if len(gb.shape(gb.input)) == 3 else gb.input


def reversible_mlp(n_in=64, width: int = 32, blocks: int = 2, n_classes: int = 10, seed: int = 0,
                   block_gain: float = 0.5, bias_std: float = 0.1) -> Graph:
    """Dense(width)+ReLU stem, `blocks` reversible blocks of dense couplings over halves
    of `width` (F, G: [width/2, width/2]), Dense(n_classes) readout.

    n_in is the input size, or an input shape such as (1, 8, 8) (flattened first).
    """
    if width < 2 or width % 2:
        raise ValueError(f"width must be even and >= 2, got {width}")
    if blocks < 0:
        raise ValueError(f"blocks must be >= 0, got {blocks}")
    rng = np.random.default_rng(seed)
    shape = (int(n_in),) if np.isscalar(n_in) else tuple(int(d) for d in n_in)
    gb = GraphBuilder(shape)
    h = _input(gb)
    nin = gb.shape(h)[0]
    h = gb.relu(gb.dense(h, he_normal(rng, width, nin), small_bias(rng, width, bias_std), name="stem"),
                name="stem_relu")
    half = width // 2
    for i in range(blocks):
        h = gb.reversible_block(
            h, he_normal(rng, half, half, gain=block_gain), small_bias(rng, half, bias_std),
            he_normal(rng, half, half, gain=block_gain), small_bias(rng, half, bias_std),
            name=f"block{i}")
    out = gb.dense(h, he_normal(rng, n_classes, width, gain=0.5 ** 0.5), small_bias(rng, n_classes, bias_std),
                   name="readout")
    return gb.build(out)


def reversible_cnn(in_shape=(1, 8, 8), channels: int = 8, blocks: int = 2, n_classes: int = 10,
                   seed: int = 0, kernel: int = 3, stem_stride: int = 1, block_gain: float = 0.5,
                   bias_std: float = 0.1) -> Graph:
    """Conv(channels, 3x3, 'same' at stride 1, else pad 1)+ReLU stem, `blocks`
    reversible blocks of kernel x kernel 'same' conv couplings over halves of
    `channels`, then Flatten and a Dense(n_classes) readout."""
    if channels < 2 or channels % 2:
        raise ValueError(f"channels must be even and >= 2, got {channels}")
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel must be odd, got {kernel}")
    rng = np.random.default_rng(seed)
    in_shape = tuple(int(d) for d in in_shape)
    gb = GraphBuilder(in_shape)
    h = gb.relu(gb.conv(gb.input, he_normal(rng, channels, in_shape[0], 3, 3), small_bias(rng, channels, bias_std),
                        stride=stem_stride, pads=1, name="stem"), name="stem_relu")
    half = channels // 2
    for i in range(blocks):
        h = gb.reversible_block(
            h, he_normal(rng, half, half, kernel, kernel, gain=block_gain), small_bias(rng, half, bias_std),
            he_normal(rng, half, half, kernel, kernel, gain=block_gain), small_bias(rng, half, bias_std),
            name=f"block{i}")
    h = gb.flatten(h)
    out = gb.dense(h, he_normal(rng, n_classes, gb.shape(h)[0], gain=0.5 ** 0.5),
                   small_bias(rng, n_classes, bias_std), name="readout")
    return gb.build(out)
