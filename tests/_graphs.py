"""Random float graphs shared by the tests (MLP, CNN, residual CNN)."""
from __future__ import annotations

from edgesnn.compile.build import he_normal as _he
from edgesnn.compile.build import small_bias as _bias
from edgesnn.compile.ir import GraphBuilder


def random_mlp(rng, sizes=(20, 16, 12, 10), clip=None):
    gb = GraphBuilder((sizes[0],))
    h = gb.input
    for i, (nin, nout) in enumerate(zip(sizes[:-1], sizes[1:])):
        h = gb.dense(h, _he(rng, nout, nin), _bias(rng, nout))
        if i < len(sizes) - 2:
            h = gb.clip(h, clip) if clip else gb.relu(h)
    return gb.build(h)


def random_conv(rng, in_shape=(2, 8, 8), ch=(4, 6), n_out=5):
    gb = GraphBuilder(in_shape)
    h = gb.relu(gb.conv(gb.input, _he(rng, ch[0], in_shape[0], 3, 3), _bias(rng, ch[0]), pads=1))
    h = gb.avgpool(h, 2)
    h = gb.relu(gb.conv(h, _he(rng, ch[1], ch[0], 3, 3), _bias(rng, ch[1]), stride=1, pads=(1, 0, 0, 1)))
    h = gb.flatten(h)
    return gb.build(gb.dense(h, _he(rng, n_out, gb.shape(h)[0]), _bias(rng, n_out)))


def random_residual(rng, in_shape=(2, 6, 6), c=4, n_out=5):
    """conv-relu, then a block with an identity skip, then one with a 1x1 projection skip."""
    gb = GraphBuilder(in_shape)
    h1 = gb.relu(gb.conv(gb.input, _he(rng, c, in_shape[0], 3, 3), _bias(rng, c), pads=1))
    r = gb.conv(h1, _he(rng, c, c, 3, 3), _bias(rng, c), pads=1)  # no activation: NONE layer
    h2 = gb.relu(gb.add(r, h1))  # identity skip (U8 input)
    r2 = gb.conv(h2, _he(rng, 2 * c, c, 3, 3), _bias(rng, 2 * c), stride=2, pads=1)
    p = gb.conv(h2, _he(rng, 2 * c, c, 1, 1), _bias(rng, 2 * c), stride=2)
    h3 = gb.relu(gb.add(p, r2))  # projection skip: both inputs are I32 currents
    h3 = gb.avgpool(h3, 3)
    return gb.build(gb.dense(gb.flatten(h3), _he(rng, n_out, 2 * c), _bias(rng, n_out)))


def random_input(rng, graph, n=16, signed=False):
    x = rng.uniform(-1.0 if signed else 0.0, 1.0, size=(n,) + tuple(graph.input_shape))
    return x


def causal_neurons(model, rng):
    """The model's layers with every spiking layer made IF or LIF at random, with random
    neuron flags and leak shifts: the causal variants tests run against the oracle."""
    import dataclasses

    from edgesnn.format.intmodel import NEURON_IF, NEURON_LIF, SPIKING
    layers = []
    for layer in model.layers:
        if layer.neuron in SPIKING:
            lif = bool(rng.integers(2))
            layer = dataclasses.replace(layer, neuron=NEURON_LIF if lif else NEURON_IF,
                                        leak_shift=int(rng.integers(1, 6)) if lif else 0,
                                        flags=int(rng.integers(0, 8)))
        layers.append(layer)
    return layers
