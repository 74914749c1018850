"""Integer oracle: numpy execution of an IntModel/BlobView per docs/format.md section 5.

Written from the spec, independently of the C runtime, to check it bit for bit and to
measure quantised accuracy in pack reports. Both modes are vectorised over the batch;
tensors are kept flat ([B, numel], C-major) and reshaped where a window op needs it.
"""
from __future__ import annotations

import numpy as np

from .arrayops import conv2d, window_sum
from ..errors import BlobError
from .intmodel import (
    DTYPE_I32, LF_DELAYED, LF_RESET_ZERO, LF_STRICT, MAX_STEPS, NEURON_LI, NEURON_LIF,
    NEURON_NONE, OP_ADD, OP_CONV2D, OP_COUPLE, OP_DENSE, OP_SUMPOOL2D, IntModel, couple_halves,
)


def _error(status: str, msg: str) -> BlobError:
    return BlobError(f"{status}: {msg}", status=status)


def _steps(model: IntModel, steps: int) -> int:
    """T of the call; every sum pool must keep (per-step maximum of its output) * T <=
    255, where the per-step maximum is 1 for spikes, 255 for a COUPLE output (its
    totals sit in one row) and kh*kw times its input's for a pool."""
    t = int(steps) or int(model.default_steps)
    if not 1 <= t <= MAX_STEPS:
        raise _error("ESNN_ERR_STEPS", f"steps {t} outside 1..{MAX_STEPS}")
    step_max = {}
    for i, layer in enumerate(model.layers):
        if layer.op != OP_SUMPOOL2D:
            step_max[layer.out] = 255 if layer.op == OP_COUPLE else 1
            continue
        step_max[layer.out] = min(layer.kernel[0] * layer.kernel[1] * step_max.get(layer.in0, 1), 0xFFFF)
        if step_max[layer.out] * t > 255:
            raise _error("ESNN_ERR_STEPS", f"layer {i}: {layer.kernel[0]}x{layer.kernel[1]} sum pool with T={t} can exceed 255")
    return t


def _input_batch(model: IntModel, q) -> np.ndarray:
    q = np.asarray(q)
    numel = model.tensors[model.input_tensor].numel
    if q.size % numel or q.size == 0:
        raise _error("ESNN_ERR_INPUT_SIZE", f"input of shape {q.shape} is not a batch of {numel}-element samples")
    if q.dtype != np.uint8 and (q.min() < 0 or q.max() > 255):
        raise _error("ESNN_ERR_INPUT_SIZE", "quantised input values must be 0..255")
    return q.reshape(-1, numel).astype(np.int64)


def _per_element(model: IntModel, t: int, per_channel: np.ndarray) -> np.ndarray:
    """Broadcast a per-channel array over a flat C-major tensor."""
    dims = model.tensors[t].dims
    return np.repeat(per_channel.astype(np.int64), int(np.prod(dims[1:])))


def _affine(model: IntModel, layer, x: np.ndarray) -> np.ndarray:
    """Current of one step without bias for flat x [..., Nin]: W x (zero padding for conv)."""
    w = layer.weights.astype(np.int64)
    if layer.op == OP_DENSE:
        return x @ w.reshape(w.shape[0], -1).T
    lead = x.shape[:-1]
    xs = x.reshape((-1,) + tuple(model.tensors[layer.in0].dims))
    kh, kw, sh, sw, *pads = layer.kernel
    y = conv2d(xs, w, (sh, sw), tuple(pads))
    return y.reshape(lead + (-1,))


def _sumpool(model: IntModel, layer, x: np.ndarray) -> np.ndarray:
    lead = x.shape[:-1]
    xs = x.reshape((-1,) + tuple(model.tensors[layer.in0].dims))
    kh, kw, sh, sw = layer.kernel[:4]
    return window_sum(xs, kh, kw, (sh, sw)).reshape(lead + (-1,))


def couple_counts(model: IntModel, layer, y: np.ndarray, T: int, tstep: bool = False) -> np.ndarray:
    """IF counts n [B, numel/2] of a COUPLE layer from the totals of its source half.

    y [B, numel] holds totals whose source half is the block's input's (x_s = y_s), so
    this serves the forward and the inverse alike. a = T*b + W x_s (dense, or the
    zero-padded 'same' convolution over the source half's (C/2, H, W) planes); one-step
    n = clamp(floor(a / 2^k), 0, T), or with tstep the T-step IF neuron simulated step by
    step and its spikes counted (format.md 5: the two are equal bit for bit)."""
    dims = tuple(model.tensors[layer.out].dims)
    tgt, src = couple_halves(layer, int(np.prod(dims)))
    xs = np.asarray(y, np.int64)[:, src]
    w = layer.weights.astype(np.int64)
    if len(dims) == 1:
        cur = xs @ w.T
        plane = 1
    else:
        half = (dims[0] // 2,) + dims[1:]
        kh, kw, sh, sw, *pads = layer.kernel
        cur = conv2d(xs.reshape((-1,) + half), w, (sh, sw), tuple(pads)).reshape(xs.shape[0], -1)
        plane = dims[1] * dims[2]
    a = T * np.repeat(layer.bias.astype(np.int64), plane) + cur
    k = np.repeat(layer.shift.astype(np.int64), plane)
    if tstep:
        return _simulate_neuron(a, k, T, 0).sum(axis=1)
    return np.clip(a >> k, 0, T)


def couple_forward(model: IntModel, layer, x: np.ndarray, T: int, tstep: bool = False) -> np.ndarray:
    """Output totals of a COUPLE layer from its input totals x [B, numel]:
    y_s = x_s, y_t = (x_t + n) mod 256 (wrap-around on purpose: it is what makes the block
    exactly invertible, see couple_inverse)."""
    y = np.asarray(x, np.int64) % 256
    tgt, _ = couple_halves(layer, y.shape[1])
    y[:, tgt] = (y[:, tgt] + couple_counts(model, layer, y, T, tstep)) % 256
    return y


def couple_inverse(model: IntModel, layer, y: np.ndarray, T: int) -> np.ndarray:
    """The input totals of a COUPLE layer from its output totals y [B, numel]:
    x_s = y_s, x_t = (y_t - n) mod 256 with n recomputed from y_s. Exact, wrap or not."""
    x = np.asarray(y, np.int64) % 256
    tgt, _ = couple_halves(layer, x.shape[1])
    x[:, tgt] = (x[:, tgt] - couple_counts(model, layer, x, T)) % 256
    return x


def run_onestep(model: IntModel, q_batch, steps: int = 0) -> np.ndarray:
    """Output totals [B, numel] (int64) of one-step mode: every tensor holds its total."""
    T = _steps(model, steps)
    if getattr(model, "sequence", False):
        raise _error("ESNN_ERR_MODE", "the blob takes a sequence of T input frames; one-step needs one static frame (use T-step)")
    for i, layer in enumerate(model.layers):
        if layer.neuron in (NEURON_LIF, NEURON_LI):
            raise _error("ESNN_ERR_MODE", f"layer {i} is {'LIF' if layer.neuron == NEURON_LIF else 'LI'}; one-step mode needs IF neurons only (use T-step)")
    vals = {model.input_tensor: _input_batch(model, q_batch)}
    for layer in model.layers:
        x = vals[layer.in0]
        if layer.op == OP_COUPLE:
            vals[layer.out] = couple_forward(model, layer, x, T)
            continue
        if layer.op in (OP_DENSE, OP_CONV2D):
            b = _per_element(model, layer.out, layer.bias)
            if layer.in0 == model.input_tensor:
                a = T * (b + _affine(model, layer, x))
            else:
                a = T * b + _affine(model, layer, x)
        elif layer.op == OP_ADD:
            a = (_per_element(model, layer.out, layer.mult[0]) * x
                 + _per_element(model, layer.out, layer.mult[1]) * vals[layer.in1])
        else:
            vals[layer.out] = _sumpool(model, layer, x)
            continue
        if layer.neuron == NEURON_NONE:
            vals[layer.out] = a
        else:
            k = _per_element(model, layer.out, layer.shift)
            vals[layer.out] = np.clip(a >> k, 0, T)  # floor(a / 2^k): arithmetic shift
    return vals[model.output_tensor]


def _total_current_tstep(model: IntModel, layer, vals: dict, T: int) -> np.ndarray:
    """Sum over the T steps of the per-step current i_t (section 5, 'Current')."""
    # U8 tensors other than the input hold per-step values [B, T, numel]; the input is
    # q at every step [B, numel]; I32 tensors hold only their total [B, numel].
    if layer.op in (OP_DENSE, OP_CONV2D):
        b = _per_element(model, layer.out, layer.bias)
        if layer.in0 == model.input_tensor:  # direct encoding: the same current every step
            i_t = b + _affine(model, layer, vals[layer.in0])
            return sum(i_t for _ in range(T))
        return (b + _affine(model, layer, vals[layer.in0])).sum(axis=1)
    a = 0
    for idx, m in zip((layer.in0, layer.in1), layer.mult):
        m = _per_element(model, layer.out, m)
        if model.tensors[idx].dtype == DTYPE_I32:
            a = a + m * vals[idx]  # only the total of a current is stored
        else:
            a = a + (m * vals[idx]).sum(axis=1)
    return a


def _simulate_neuron(a: np.ndarray, k: np.ndarray, T: int, leak_shift: int) -> np.ndarray:
    """Per-step spikes [B, T, N] of IF/LIF neurons driven by their time-averaged current."""
    theta = np.int64(T) << k  # T * 2^k, the threshold in T-scaled integers
    drive = np.clip(a, -1, theta)
    u = np.zeros_like(a)
    spikes = np.zeros((a.shape[0], T, a.shape[1]), dtype=np.int64)
    for t in range(T):
        if leak_shift:
            u = u - (u >> leak_shift)
        u = u + drive
        s = u >= theta
        u = u - np.where(s, theta, 0)
        spikes[:, t] = s
    return spikes


def _asr(u, k):
    return u >> k  # numpy >> on int64 is an arithmetic (floor) shift


def _causal_neuron(layer, i_seq: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Causal neurons over per-step currents i_seq [B, T, N] (format.md 5, causal dynamics).

    IF/LIF: per-step spikes [B, T, N]; NONE: sum of the currents [B, N]; LI: membrane
    after the last step [B, N]."""
    B, T, N = i_seq.shape
    if layer.neuron == NEURON_NONE:
        return i_seq.sum(axis=1)
    leak = layer.leak_shift
    v = np.zeros((B, N), np.int64)
    if layer.neuron == NEURON_LI:
        for t in range(T):
            v = v - _asr(v, leak) + i_seq[:, t]
        return v
    f = layer.flags
    thr = np.int64(1) << k
    prev = np.zeros((B, N), bool)
    spikes = np.zeros((B, T, N), np.int64)
    for t in range(T):
        if leak:
            v = v - _asr(v, leak)
        if f & LF_DELAYED:
            v = np.where(prev, 0 if f & LF_RESET_ZERO else v - thr, v)
        v = v + i_seq[:, t]
        s = v > thr if f & LF_STRICT else v >= thr
        if not f & LF_DELAYED:
            v = np.where(s, 0 if f & LF_RESET_ZERO else v - thr, v)
        spikes[:, t] = s
        prev = s
    return spikes


def _run_causal(model: IntModel, q_batch, T: int) -> np.ndarray:
    """Causal T-step: every U8 tensor is [B, T, numel]; a layer's current at step t is
    b + W x_t (or m0 A_t + m1 B_t) and drives its neurons step by step."""
    numel = model.tensors[model.input_tensor].numel
    q = np.asarray(q_batch)
    if getattr(model, "sequence", False):
        if q.size % (T * numel) or q.size == 0:
            raise _error("ESNN_ERR_INPUT_SIZE", f"sequence input of shape {q.shape} is not a batch of {T} frames of {numel}")
        x = q.reshape(-1, T, numel).astype(np.int64)
    else:
        x = np.repeat(_input_batch(model, q)[:, None], T, axis=1)
    vals = {model.input_tensor: x}
    for i, layer in enumerate(model.layers):
        if layer.op == OP_COUPLE:
            raise _error("ESNN_ERR_OP", f"layer {i}: COUPLE is not supported in a causal model")
        if layer.op == OP_SUMPOOL2D:
            vals[layer.out] = _sumpool(model, layer, vals[layer.in0])
            continue
        if layer.op in (OP_DENSE, OP_CONV2D):
            i_seq = _per_element(model, layer.out, layer.bias) + _affine(model, layer, vals[layer.in0])
        else:
            i_seq = (_per_element(model, layer.out, layer.mult[0]) * vals[layer.in0]
                     + _per_element(model, layer.out, layer.mult[1]) * vals[layer.in1])
        k = _per_element(model, layer.out, layer.shift) if layer.shift is not None else None
        vals[layer.out] = _causal_neuron(layer, i_seq, k)
    out = vals[model.output_tensor]
    return out if out.ndim == 2 else out.sum(axis=1)


def run_tstep(model: IntModel, q_batch, steps: int = 0) -> np.ndarray:
    """Output totals [B, numel] (int64) of T-step mode, simulating every neuron step by step.

    For a causal model (format 1.1) each neuron integrates its per-step current; for a
    sequence model q_batch holds T frames per sample ([B, T, numel] or flat)."""
    T = _steps(model, steps)
    if getattr(model, "causal", False):
        return _run_causal(model, q_batch, T)
    vals = {model.input_tensor: _input_batch(model, q_batch)}
    for layer in model.layers:
        if layer.op == OP_SUMPOOL2D:
            vals[layer.out] = _sumpool(model, layer, vals[layer.in0])  # per step: [B, T, numel]
            continue
        if layer.op == OP_COUPLE:
            # the input's rows summed into totals (mod 256), the block on totals with the
            # T-step IF neuron simulated; the totals go to row 0, rows 1..T-1 are zero
            x = vals[layer.in0].sum(axis=1) % 256
            out = np.zeros((x.shape[0], T, x.shape[1]), np.int64)
            out[:, 0] = couple_forward(model, layer, x, T, tstep=True)
            vals[layer.out] = out
            continue
        a = _total_current_tstep(model, layer, vals, T)
        if layer.neuron == NEURON_NONE:
            vals[layer.out] = a
        else:
            k = _per_element(model, layer.out, layer.shift)
            leak = layer.leak_shift if layer.neuron == NEURON_LIF else 0
            vals[layer.out] = _simulate_neuron(a, k, T, leak)
    out = vals[model.output_tensor]
    if model.tensors[model.output_tensor].dtype == DTYPE_I32:
        return out
    return out.sum(axis=1) % 256  # the runtime sums a U8 output's per-step values in place
