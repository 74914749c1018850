"""Greedy-by-size arena plan: no live overlap, alignment, lifetimes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _graphs import random_conv, random_input, random_mlp, random_residual
from edgesnn.format.plan import plan_arena, plan_memory, tensor_lifetimes
from edgesnn.compile.quantize import quantize_graph


def assert_valid(offsets, sizes, lifetimes, scratch):
    assert scratch % 16 == 0
    for i in range(len(sizes)):
        assert offsets[i] % 16 == 0 and offsets[i] + sizes[i] <= scratch
        for j in range(i):
            live_together = lifetimes[i][0] <= lifetimes[j][1] and lifetimes[j][0] <= lifetimes[i][1]
            disjoint = offsets[i] + sizes[i] <= offsets[j] or offsets[j] + sizes[j] <= offsets[i]
            assert disjoint or not live_together, (i, j)


def model_of(factory, seed=0):
    rng = np.random.default_rng(seed)
    g = factory(rng)
    return quantize_graph(g, random_input(rng, g, 16))[0]


@pytest.mark.parametrize("factory", [random_mlp, random_conv, random_residual])
def test_model_plans_are_valid(factory):
    model = model_of(factory)
    plan = plan_memory(model)
    assert_valid(plan.offsets, plan.sizes, plan.lifetimes, plan.scratch_bytes)
    assert plan.scratch_bytes <= plan.naive_bytes
    for layer in model.layers:  # the runtime needs each layer's input and output disjoint
        for t in layer.inputs:
            a, b = plan.offsets[t], plan.offsets[layer.out]
            assert a + plan.sizes[t] <= b or b + plan.sizes[layer.out] <= a


def test_residual_lifetimes():
    model = model_of(random_residual)
    life = tensor_lifetimes(model)
    n = len(model.layers)
    assert life[model.input_tensor][0] == -1 and life[model.output_tensor][1] == n
    names = [l.name for l in model.layers]
    # the skip tensor (output of the first conv, layer 0) lives until the first ADD reads it
    add1 = next(i for i, l in enumerate(model.layers) if l.op == 4)
    assert model.layers[add1].in1 == model.layers[0].out
    assert life[model.layers[0].out] == (0, add1)
    for i, layer in enumerate(model.layers):
        assert life[layer.out][0] == i
        for t in layer.inputs:
            assert life[t][0] < i <= life[t][1]
    assert plan_memory(model).scratch_bytes < plan_memory(model).naive_bytes, names


def test_mlp_reuses_memory():
    plan = plan_memory(model_of(random_mlp))
    # input, h1, h2 are U8; h2 may reuse the input's slot since the input is dead by then
    assert plan.scratch_bytes < plan.naive_bytes


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 8), st.integers(0, 4)), min_size=1, max_size=14))
def test_random_problems_have_no_live_overlap(items):
    sizes = [s for s, _, _ in items]
    lifetimes = [(f, f + d) for _, f, d in items]
    offsets, scratch = plan_arena(sizes, lifetimes)
    assert_valid(offsets, sizes, lifetimes, scratch)
    assert scratch <= sum((s + 15) // 16 * 16 for s in sizes)
