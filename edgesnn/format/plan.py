"""Greedy-by-size arena planner (the TFLM strategy) for the one-step memory plan.

Each tensor is live from the layer that writes it (the network input: from the start)
to the last layer that reads it (the network output: to the end). Tensors are placed
largest first at the lowest 16-aligned offset that overlaps no already placed tensor
whose lifetime intersects. A layer's input is live at that layer and so is its output,
so they never share bytes - the runtime relies on it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .intmodel import ARENA_ALIGN, IntModel


def align_up(n: int, a: int = ARENA_ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass
class MemoryPlan:
    offsets: list  # arena offset per tensor, 16-aligned
    sizes: list  # bytes per tensor
    lifetimes: list  # (first, last) layer index per tensor, inclusive
    scratch_bytes: int  # one-step arena size, multiple of 16
    naive_bytes: int  # every tensor in its own aligned slot (no reuse)


def tensor_lifetimes(model: IntModel) -> list:
    """(first, last) layer indices per tensor; the input starts at -1, the output ends at len(layers)."""
    n = len(model.layers)
    first = [None] * len(model.tensors)
    last = [None] * len(model.tensors)
    first[model.input_tensor] = -1
    for i, layer in enumerate(model.layers):
        first[layer.out] = i
        for t in layer.inputs:
            last[t] = i
    last[model.output_tensor] = n
    return [(f, l if l is not None else f) for f, l in zip(first, last)]


def plan_arena(sizes: list, lifetimes: list, align: int = ARENA_ALIGN) -> tuple:
    """Offsets for tensors of `sizes` bytes with inclusive `lifetimes`; returns (offsets, scratch)."""
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    offsets = [None] * len(sizes)
    placed = []
    for i in order:
        f, l = lifetimes[i]
        busy = sorted(
            (offsets[j], offsets[j] + sizes[j]) for j in placed
            if lifetimes[j][0] <= l and f <= lifetimes[j][1]
        )
        off = 0
        for start, end in busy:
            if off + sizes[i] <= start:
                break  # fits in the gap before this one
            off = max(off, align_up(end, align))
        offsets[i] = off
        placed.append(i)
    scratch = max((o + s for o, s in zip(offsets, sizes)), default=0)
    return offsets, align_up(scratch, align)


def plan_memory(model: IntModel) -> MemoryPlan:
    sizes = [t.nbytes for t in model.tensors]
    lifetimes = tensor_lifetimes(model)
    offsets, scratch = plan_arena(sizes, lifetimes)
    return MemoryPlan(offsets, sizes, lifetimes, scratch, sum(align_up(s) for s in sizes))
