"""The integer SNN model that a .esnn blob encodes (docs/format.md, sections 3-5).

quantize.py produces an IntModel, blob.py turns it into bytes and back (BlobView is
an IntModel), reference.py executes one. The enums and the overflow bound live here
once so the packer, the reader and the oracle use the same rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

OP_DENSE, OP_CONV2D, OP_SUMPOOL2D, OP_ADD, OP_COUPLE = 1, 2, 3, 4, 5
OP_NAMES = {OP_DENSE: "DENSE", OP_CONV2D: "CONV2D", OP_SUMPOOL2D: "SUMPOOL2D", OP_ADD: "ADD",
            OP_COUPLE: "COUPLE"}
NEURON_NONE, NEURON_IF, NEURON_LIF, NEURON_LI = 0, 1, 2, 3
NEURON_NAMES = {NEURON_NONE: "NONE", NEURON_IF: "IF", NEURON_LIF: "LIF", NEURON_LI: "LI"}
SPIKING = (NEURON_IF, NEURON_LIF)
# Header flags (offset 26, format 1.1) and per-layer neuron flags (layer offset 3).
HDR_CAUSAL, HDR_SEQUENCE = 0x1, 0x2
LF_RESET_ZERO, LF_STRICT, LF_DELAYED = 0x1, 0x2, 0x4
LF_SNNTORCH = LF_STRICT | LF_DELAYED  # snnTorch Leaky: v > thr, subtract one step late
LF_KNOWN = LF_RESET_ZERO | LF_STRICT | LF_DELAYED
LF_TARGET_HI = 0x8  # COUPLE (format 1.2): the target is the second channel half
CAUSAL_MARGIN = 2 ** 20  # causal IF/LIF layers need bound + 2^20 < 2^31 (format.md 4)
DTYPE_U8, DTYPE_I32 = 1, 2
DTYPE_BYTES = {DTYPE_U8: 1, DTYPE_I32: 4}
NO_TENSOR = 0xFFFF

MAX_LAYERS = 64
MAX_TENSORS = 64
MAX_NUMEL = 65535
MAX_STEPS = 63
MAX_SHIFT = 20
ARENA_ALIGN = 16
WEIGHT_MAX = 127  # int8 weights are kept symmetric, [-127, 127]
MULT_MAX = 32767
ACC_LIMIT = 2 ** 31  # every worst-case total current must stay below this
U8_BOUND = 255  # the overflow rule takes every U8 input element as 255


@dataclass
class TensorSpec:
    name: str
    dtype: int
    dims: tuple  # (N,) or (C, H, W)

    @property
    def numel(self) -> int:
        return int(np.prod(self.dims))

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPE_BYTES[self.dtype]


def couple_halves(layer, numel: int) -> tuple:
    """(target, source) slices of a COUPLE layer over a flat C-major tensor of numel
    elements: the first half is [0, numel/2), the second [numel/2, numel)."""
    h = numel // 2
    lo, hi = slice(0, h), slice(h, numel)
    return (hi, lo) if layer.flags & LF_TARGET_HI else (lo, hi)


@dataclass
class LayerSpec:
    name: str
    op: int
    neuron: int
    in0: int
    out: int
    in1: int = NO_TENSOR
    leak_shift: int = 0
    flags: int = 0  # LF_* (IF/LIF layers of causal models only)
    kernel: tuple = (0,) * 8  # kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right
    weights: Optional[np.ndarray] = None  # int8 [N, Nin] or [C, Cin, kh, kw]
    bias: Optional[np.ndarray] = None  # int32 [C]
    shift: Optional[np.ndarray] = None  # uint8 [C]
    mult: Optional[np.ndarray] = None  # int16 [2, C]
    # COUPLE (format 1.2): weights [C/2, C/2] (dense, rank-1 tensors) or
    # [C/2, C/2, kh, kw] (odd "same" conv), bias and shift [C/2]; flags LF_TARGET_HI

    @property
    def inputs(self) -> list:
        return [self.in0] if self.in1 == NO_TENSOR else [self.in0, self.in1]


@dataclass
class IntModel:
    tensors: list
    layers: list
    input_tensor: int
    output_tensor: int
    input_scale: float
    input_zero_point: int
    default_steps: int
    meta: dict = field(default_factory=dict)
    causal: bool = False  # T-step neurons integrate per-step currents (format 1.1)
    sequence: bool = False  # input is T frames, step-major (needs causal)

    @property
    def header_flags(self) -> int:
        return (HDR_CAUSAL if self.causal else 0) | (HDR_SEQUENCE if self.sequence else 0)

    @property
    def format_minor(self) -> int:
        """The minor format version the model needs: 2 with COUPLE layers, 1 with causal
        dynamics (header flags, LI), else 0 (docs/format.md)."""
        if any(l.op == OP_COUPLE for l in self.layers):
            return 2
        if self.header_flags or any(l.neuron == NEURON_LI for l in self.layers):
            return 1
        return 0


def dense_bound(sum_abs_w, abs_b, reads_network_input: bool):
    """Worst-case |total current| at T=63 of a DENSE/CONV2D channel (format.md, section 4)."""
    sum_abs_w = np.asarray(sum_abs_w, dtype=np.int64)
    abs_b = np.asarray(abs_b, dtype=np.int64)
    if reads_network_input:
        return MAX_STEPS * (U8_BOUND * sum_abs_w + abs_b)
    return U8_BOUND * sum_abs_w + MAX_STEPS * abs_b


def add_bound(m0, bound0, m1, bound1):
    """Worst-case |total current| of an ADD channel; bound_i is 255 for U8 inputs."""
    return np.abs(np.asarray(m0, np.int64)) * bound0 + np.abs(np.asarray(m1, np.int64)) * bound1


def layer_bounds(model: IntModel) -> list:
    """Per layer, the per-channel worst-case total current (None for SUMPOOL2D)."""
    tensor_bound = {}
    out = []
    for layer in model.layers:
        if layer.op in (OP_DENSE, OP_CONV2D, OP_COUPLE):  # COUPLE: C/2 weight rows
            c = layer.weights.shape[0]
            w = np.abs(layer.weights.reshape(c, -1).astype(np.int64)).sum(axis=1)
            bound = dense_bound(w, np.abs(layer.bias.astype(np.int64)), layer.in0 == model.input_tensor)
        elif layer.op == OP_ADD:
            def in_bound(t):
                return tensor_bound.get(t, U8_BOUND) if model.tensors[t].dtype == DTYPE_I32 else U8_BOUND
            bound = add_bound(layer.mult[0], in_bound(layer.in0), layer.mult[1], in_bound(layer.in1))
        else:
            bound = None
        if bound is not None and model.tensors[layer.out].dtype == DTYPE_I32:
            tensor_bound[layer.out] = bound
        if bound is not None and getattr(model, "causal", False) and layer.neuron in SPIKING:
            bound = bound + CAUSAL_MARGIN
        out.append(bound)
    return out


def mode_support(model: IntModel) -> dict:
    """Which execution modes a model supports, and why (for `edgesnn inspect`)."""
    leaky = [i for i, l in enumerate(model.layers) if l.neuron in (NEURON_LIF, NEURON_LI)]
    causal, seq = getattr(model, "causal", False), getattr(model, "sequence", False)
    if seq:
        one, why = False, "the input is a sequence of T frames; one-step needs one static frame"
    elif leaky:
        one, why = False, (f"layers {leaky} are LIF/LI and leak; one-step is exact only for IF "
                           "with static input")
    elif causal:
        one, why = True, ("approximation: causal IF layers, one-step gives the time-averaged "
                          "(OneSpike) counts; exact for the first layer only")
    else:
        one, why = True, "exact: IF neurons with static input, equal to T-step bit for bit"
    tw = ("causal: every neuron integrates its per-step current (snnTorch/NIR dynamics)"
          if causal else "averaged: every neuron is driven by its time-averaged current")
    if seq:
        tw += "; input is T frames, step-major"
    return {"onestep": one, "onestep_reason": why, "tstep": True, "tstep_reason": tw,
            "causal": causal, "sequence": seq}
