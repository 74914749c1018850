"""Graph.forward (numpy float64) against an independent torch evaluation of the same graph."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _graphs import random_conv, random_input, random_mlp, random_residual
from edgesnn.format.arrayops import conv_out_size
from edgesnn.errors import ShapeError
from edgesnn.compile.ir import Act, Add, AvgPool2d, Conv2d, Dense, Flatten, GraphBuilder


def torch_forward(graph, x):
    t = lambda a: torch.tensor(a, dtype=torch.float64)
    vals = {graph.input: t(graph.batch_input(x))}
    for n in graph.nodes[1:]:
        xs = [vals[i] for i in n.inputs]
        if isinstance(n, Dense):
            y = F.linear(xs[0].flatten(1), t(n.W), t(n.b))
        elif isinstance(n, Conv2d):
            pt, pl, pb, pr = n.pads
            y = F.conv2d(F.pad(xs[0], (pl, pr, pt, pb)), t(n.W), t(n.b), stride=n.stride)
        elif isinstance(n, AvgPool2d):
            y = F.avg_pool2d(xs[0], n.k, n.stride)
        elif isinstance(n, Flatten):
            y = xs[0].flatten(1)
        elif isinstance(n, Add):
            y = xs[0] + xs[1]
        elif isinstance(n, Act):
            y = torch.clamp(xs[0], 0, n.max) if n.kind == "clip" else torch.relu(xs[0])
        vals[n.output] = y
    return vals[graph.output].numpy()


@pytest.mark.parametrize("factory", [random_mlp, random_conv, random_residual])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_matches_torch(factory, seed):
    rng = np.random.default_rng(seed)
    g = factory(rng)
    x = random_input(rng, g, 8, signed=True)
    np.testing.assert_allclose(g.forward(x), torch_forward(g, x), rtol=1e-10, atol=1e-10)


def test_clip_mlp_and_flat_input_layout():
    rng = np.random.default_rng(3)
    g = random_mlp(rng, clip=0.5)
    x = random_input(rng, g, 4)
    np.testing.assert_allclose(g.forward(x), torch_forward(g, x), atol=1e-12)
    # any layout with the right numel per sample is accepted (e.g. digits as (N,1,8,8))
    np.testing.assert_allclose(g.forward(x.reshape(4, 4, 5)), g.forward(x))


def test_shapes_and_errors():
    gb = GraphBuilder((3, 7, 7))
    h = gb.conv(gb.input, np.zeros((4, 3, 3, 3)), stride=2, pads=(1, 1, 0, 0))
    assert gb.shape(h) == (4, 3, 3)
    assert gb.shape(gb.avgpool(h, 2, stride=1)) == (4, 2, 2)
    with pytest.raises(ShapeError, match="input"):
        gb.conv(gb.input, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ShapeError):
        gb.dense(h, np.zeros((5, 35)))
    with pytest.raises(ShapeError, match="differ"):
        gb.add(h, gb.input)
    with pytest.raises(ShapeError, match="smaller than the kernel"):
        gb.conv(gb.input, np.zeros((4, 3, 3, 3)), pads=3)


def test_conv_out_size():
    assert conv_out_size(8, 3, 1, 1, 1) == 8
    assert conv_out_size(7, 3, 2, 1, 0) == 3
    assert conv_out_size(4, 4, 3) == 1
    with pytest.raises(ShapeError):
        conv_out_size(2, 3, 1)
    with pytest.raises(ShapeError):
        conv_out_size(5, 3, 0)
