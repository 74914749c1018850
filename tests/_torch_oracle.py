"""An independent PyTorch autograd implementation of the online training algorithm of
docs/training.md, for checking the C engine's gradients.

The forward pass reproduces the integer arithmetic exactly in float64 (every value is an
integer below 2^53); the spike count is a custom autograd function whose backward is the
online surrogate: with the state detached at every step, d n / d a is the sum over the
T steps of sigma'(u_t / theta_T - 1) / theta_T. Everything else (dense/conv transposes,
pooling, the reversible halves, softmax cross-entropy) is PyTorch's own autograd.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from edgesnn.format.blob import read_blob

OP_DENSE, OP_CONV2D, OP_SUMPOOL2D, OP_COUPLE = 1, 2, 3, 5
LF_TARGET_HI = 0x08


def surrogate(x, kind: str, slope: float):
    if kind == "atan":
        a = slope or 2.0
        return (a / 2.0) / (1.0 + (math.pi / 2.0 * a * x) ** 2)
    k = slope or 4.0
    s = torch.sigmoid(k * x)
    return k * s * (1.0 - s)


class SpikeCount(torch.autograd.Function):
    """n = spike count of the T-step IF neuron driven by total current a (T-scaled)."""

    @staticmethod
    def forward(ctx, a, k, T, kind, slope):
        thr = T * torch.pow(2.0, k)
        i = torch.minimum(torch.clamp(a, min=-1.0), thr)
        u = torch.zeros_like(a)
        n = torch.zeros_like(a)
        S = torch.zeros_like(a)
        for _ in range(T):
            u = u + i
            S = S + surrogate((u - thr) / thr, kind, slope)
            s = (u >= thr).to(a.dtype)
            n = n + s
            u = u - thr * s
        closed = torch.clamp(torch.floor(a / torch.pow(2.0, k)), 0, T)
        assert torch.equal(n, closed), "T-step count differs from the closed form"
        ctx.save_for_backward(S / thr)
        return n

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        return g * d, None, None, None, None


class TorchOracle:
    """The blob's network as float64 torch parameters in integer units."""

    def __init__(self, blob: bytes, steps: int, logit_scale: float, surrogate: str = "sigmoid",
                 slope: float = 0.0):
        self.view = read_blob(blob)
        self.T = steps
        self.ls = logit_scale
        self.kind, self.slope = surrogate, slope
        self.params = {}
        for i, l in enumerate(self.view.layers):
            if l.weights is not None:
                self.params[i] = (
                    torch.tensor(np.asarray(l.weights, dtype=np.float64), requires_grad=True),
                    torch.tensor(np.asarray(l.bias, dtype=np.float64), requires_grad=True))

    def _affine(self, i, l, x, analog):
        W, b = self.params[i]
        T = self.T
        mult = T if analog else 1
        if W.dim() == 2:
            a = mult * (W @ x.reshape(-1)) + T * b
        else:
            kh, kw, sh, sw, pt, pl, pb, pr = l.kernel
            xp = F.pad(x[None], (pl, pr, pt, pb))
            a = mult * F.conv2d(xp, W, stride=(sh, sw))[0] + T * b[:, None, None]
        return a

    def _count(self, l, a):
        k = torch.tensor(np.asarray(l.shift, dtype=np.float64))
        if a.dim() == 3:
            k = k[:, None, None].expand_as(a)
        return SpikeCount.apply(a, k, self.T, self.kind, self.slope)

    def loss(self, q: np.ndarray, label: int):
        v = self.view
        x = torch.tensor(np.asarray(q, dtype=np.float64).reshape(v.tensors[v.input_tensor].dims))
        for i, l in enumerate(v.layers):
            analog = l.in0 == v.input_tensor
            if l.op == OP_SUMPOOL2D:
                kh, kw, sh, sw = l.kernel[:4]
                x = F.avg_pool2d(x[None], (kh, kw), (sh, sw))[0] * (kh * kw)
            elif l.op == OP_COUPLE:
                half = x.shape[0] // 2
                lo, hi = x[:half], x[half:]
                tgt_hi = bool(l.flags & LF_TARGET_HI)
                src, tgt = (lo, hi) if tgt_hi else (hi, lo)
                n = self._count(l, self._affine(i, l, src, False))
                y = tgt + n
                y = y - 256.0 * torch.floor(y.detach() / 256.0)  # wrap-around, identity gradient
                x = torch.cat([lo, y] if tgt_hi else [y, hi])
            elif l.neuron == 0:  # readout
                a = self._affine(i, l, x, analog)
                z = (a.reshape(-1) * self.ls)[None]
                return F.cross_entropy(z, torch.tensor([int(label)]))
            else:
                x = self._count(l, self._affine(i, l, x, analog))
        raise AssertionError("no readout layer")

    def grads(self, qs, labels):
        """Sum over the samples of d loss / d (W, b), per weighted layer, float64."""
        for W, b in self.params.values():
            W.grad = None
            b.grad = None
        for q, y in zip(qs, labels):
            self.loss(q, y).backward()
        return {i: (W.grad.numpy().reshape(-1).copy(), b.grad.numpy().copy())
                for i, (W, b) in self.params.items()}
