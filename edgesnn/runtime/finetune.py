"""Fine-tuning through the C engine (runtime_c/src/esnn_train_*.c, docs/training.md).

`Trainer` binds one configuration and its arena; `finetune` runs epochs over a labelled
set and returns the history, the memory high-water marks and the new blob. Python only
orders samples and reports; every forward, backward and update step is the C code that
also runs on the boards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import STATUS_NAMES, ArenaError, EdgesnnError, ShapeError
from ..format.blob import read_blob
from .cffi_core import c_core, raise_for
from .options import TrainOptions


# A run stops when, within one epoch, more than this fraction of the parameter updates
# were clamped (stats.saturated / (updates x trainable parameters)): the learning rate
# is far too high and the model is being destroyed (docs/training.md, "Saturation").
MAX_SATURATED = 0.10


class TrainError(EdgesnnError):
    """Fine-tuning refused a model, a configuration or a sample, or diverged."""


def trainable_parameters(model, trainable: str) -> int:
    """How many parameters `trainable` updates: the last weighted layer's weights and
    biases ("head"), every bias ("bias"), or every weight and bias ("all")."""
    layers = [l for l in read_blob(model.blob).layers if l.weights is not None]
    if not layers:
        return 0
    sizes = [(int(l.weights.size), int(l.bias.size) if l.bias is not None else 0) for l in layers]
    if trainable == "head":
        return sum(sizes[-1])
    if trainable == "bias":
        return sum(b for _, b in sizes)
    return sum(w + b for w, b in sizes)


def check_saturation(before: dict, after: dict, params: int, limit, epoch: int,
                     lr: float, where: str) -> None:
    """TrainError when the epoch between the counters `before` and `after` (saturated,
    updates) clamped more than `limit` of its parameter updates; None disables it."""
    if limit is None or params <= 0:
        return
    updates = after["updates"] - before["updates"]
    clamped = after["saturated"] - before["saturated"]
    if updates <= 0 or clamped <= limit * updates * params:
        return
    frac = clamped / (updates * params)
    raise TrainError(
        f"{where}: stopped in epoch {epoch + 1}: {clamped} parameter values were clamped in "
        f"{updates} updates of {params} parameters ({100 * frac:.0f}% > the limit "
        f"{100 * limit:g}%): the learning rate {lr:g} is too high; lower it. Nothing was "
        "written; the model is unchanged")


@dataclass
class FinetuneResult:
    """What a fine-tuning run did: per-epoch loss/accuracy, memory, counters, new blob."""
    history: list = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    updates: int = 0
    saturated: int = 0
    verify_checks: int = 0
    verify_mismatches: int = 0
    blob: bytes = b""

    def as_dict(self) -> dict:
        return {"history": self.history, "memory": self.memory, "updates": self.updates,
                "saturated": self.saturated, "verify_checks": self.verify_checks,
                "verify_mismatches": self.verify_mismatches}


def integer_labels(y, n: int) -> np.ndarray:
    """One integer label per sample, as int64 (integral floats are taken; booleans,
    fractions, NaN and inf are refused)."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ShapeError(f"labels have shape {tuple(y.shape)}; expected ({n},), one per sample")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.floor(y)):
            raise ValueError("labels must be integers (found NaN, inf or a fraction)")
    elif y.dtype.kind not in "iu":  # booleans are not class indices
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    return y.astype(np.int64)


def labels_array(y, n: int, classes: int) -> np.ndarray:
    """Validated integer labels 0..classes-1, one per sample."""
    y = integer_labels(y, n)
    bad = np.flatnonzero((y < 0) | (y >= classes))
    if bad.size:
        raise ValueError(
            f"label {y[bad[0]].item()!r} of sample {int(bad[0])} is outside 0..{classes - 1} "
            f"({bad.size} such labels); the model has {classes} classes")
    return y


def schedule(n: int, epochs: int, shuffle: bool, seed: int):
    """The sample order of each epoch (the host and board runs share it)."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        yield rng.permutation(n) if shuffle else np.arange(n)


def epoch_row(epoch: int, before: dict, after: dict, n: int) -> dict:
    """History row of epoch `epoch` (from 0) of n samples, from the engine's cumulative
    counters (loss_sum, correct) before and after it; host and board runs share it."""
    return {"epoch": epoch + 1, "loss": (after["loss_sum"] - before["loss_sum"]) / n,
            "accuracy": (after["correct"] - before["correct"]) / n}


class TrainConfig:
    """A checked fine-tuning configuration of a model: the C esnn_train_config, T, the
    number of classes and the exact arena need, without allocating anything (a board
    run sends the same configuration to the board).

    `options` is a TrainOptions; keyword options (lr=..., trainable=...) go on top."""

    def __init__(self, model, options: TrainOptions | None = None, *,
                 logit_scale: float | None = None, **given):
        opts = TrainOptions.build(options, **given)
        self._ffi, self._lib = c_core()
        self.model = model
        self.options = opts
        cfg = self._ffi.new("esnn_train_config *")
        cfg.mode = opts.mode_code
        cfg.trainable = opts.trainable_code
        cfg.surrogate = opts.surrogate_code
        cfg.verify = 1 if opts.verify else 0
        cfg.steps = model.check_steps(opts.steps)
        cfg.batch = int(opts.batch)
        cfg.lr, cfg.momentum = opts.rate, float(opts.momentum)
        cfg.slope = float(opts.slope or 0.0)
        T = cfg.steps or model.default_steps
        if logit_scale is None:  # the packer records a ~= output_scale * T * float logit
            out_scale = model.meta.get("output_scale")
            logit_scale = 1.0 / (T * float(out_scale)) if out_scale else 0.0
        cfg.logit_scale = float(logit_scale)
        self.cfg = cfg
        self.T = T
        self.mode, self.trainable = opts.mode, opts.trainable
        self.classes = int(np.prod(model.output_shape))
        self.width = int(np.prod(model.input_shape))
        self.need = self.memory_need()

    def _check(self, st: int, what: str) -> None:
        if st == 0:
            return
        d = self._diag
        if st == self._lib.ESNN_ERR_TRAIN:
            where = f"layer {d.layer}" if d.layer >= 0 else "its causal (NIR) dynamics"
            raise TrainError(
                f"{what}: this model cannot be fine-tuned: {where} "
                "(fine-tuning supports rate-driven chains of Dense/Conv/SumPool/reversible "
                "blocks with IF neurons and a Dense/Conv readout; not causal (NIR) blobs or "
                "Add layers)")
        if st == self._lib.ESNN_ERR_DIVERGED:
            raise TrainError(
                f"{what}: training diverged (NaN/inf gradients at layer {d.layer}); the model "
                "was left unchanged; lower the learning rate")
        if st == self._lib.ESNN_ERR_LABEL:
            raise TrainError(f"{what}: label {d.actual} out of range 0..{d.expected}")
        if st == self._lib.ESNN_ERR_CONFIG:
            raise TrainError(f"{what}: bad configuration (lr, momentum, slope or mode)")
        raise_for(st, d, what)
        raise TrainError(f"{what}: {STATUS_NAMES.get(st, st)}")  # pragma: no cover

    def memory_need(self) -> dict:
        """Exact arena bytes of this configuration, before anything is allocated."""
        need = self._ffi.new("esnn_train_stats *")
        self._diag = self._ffi.new("esnn_diag *")
        st = self._lib.esnn_train_arena_bytes(self.model.c_blob, len(self.model.blob), self.cfg,
                                              need, self._diag)
        self._check(st, "fine-tuning arena query")
        return {"arena_bytes": int(need.arena_bytes),
                "persistent_bytes": int(need.persistent_bytes),
                "scratch_bytes": int(need.scratch_bytes)}


class Trainer(TrainConfig):
    """A fine-tuning configuration of a model with its arena: the C esnn_trainer."""

    def __init__(self, model, options: TrainOptions | None = None, **kw):
        super().__init__(model, options, **kw)
        mode, trainable, T, cfg = self.mode, self.trainable, self.T, self.cfg
        size = self.need["arena_bytes"]
        if model.arena_limit is not None and model.arena_limit < size:
            raise ArenaError(
                f"fine-tuning ({mode}, trainable={trainable}, T={T}) needs an arena of {size} "
                f"bytes ({self.need['persistent_bytes']} persistent + "
                f"{self.need['scratch_bytes']} scratch); the limit is {model.arena_limit}. "
                "Train fewer parameters (trainable='head' or 'bias'), use mode='reversible', "
                "or lower T")
        self._raw = np.zeros(size + 16, dtype=np.uint8)
        ptr = self._ffi.cast("uint8_t *", self._ffi.from_buffer(self._raw))
        pad = (-int(self._ffi.cast("uintptr_t", ptr))) % 16
        self._tr = self._ffi.new("esnn_trainer *")
        self._diag = self._ffi.new("esnn_diag *")
        st = self._lib.esnn_train_init(self._tr, model.c_blob, len(model.blob), cfg,
                                       ptr + pad, size, self._diag)
        self._check(st, "fine-tuning init")

    def sample(self, q: np.ndarray, label: int) -> None:
        """Train on one quantised sample (uint8 codes, flat)."""
        st = self._lib.esnn_train_sample(self._tr, self._ffi.from_buffer("uint8_t[]", q),
                                         q.size, int(label), self._diag)
        self._check(st, "fine-tuning")

    def flush(self) -> None:
        self._check(self._lib.esnn_train_flush(self._tr, self._diag), "fine-tuning update")

    def stats(self) -> dict:
        st = self._ffi.new("esnn_train_stats *")
        self._lib.esnn_train_get_stats(self._tr, st)
        return {k: (float(getattr(st, k)) if k in ("loss_sum", "last_loss") else int(getattr(st, k)))
                for k in ("arena_bytes", "persistent_bytes", "scratch_bytes", "persistent_peak",
                          "scratch_peak", "samples", "updates", "correct", "saturated",
                          "verify_checks", "verify_mismatches", "loss_sum", "last_loss")}

    def grads(self, layer: int):
        """(d loss/d W, d loss/d b) accumulated since the last update, integer units."""
        gw, nw = self._ffi.new("float **"), self._ffi.new("uint32_t *")
        gb, nb = self._ffi.new("float **"), self._ffi.new("uint32_t *")
        st = self._lib.esnn_train_grad(self._tr, layer, gw, nw, gb, nb)
        if st != 0:
            raise TrainError(f"no gradient for layer {layer} (status {st})")

        def arr(p, n):
            if n[0] == 0:
                return None
            return np.frombuffer(self._ffi.buffer(p[0], 4 * n[0]), dtype=np.float32).copy()
        return arr(gw, nw), arr(gb, nb)

    def result(self) -> bytes:
        """The fine-tuned blob (validated by the C loader)."""
        p, n = self._ffi.new("uint8_t **"), self._ffi.new("uint32_t *")
        st = self._lib.esnn_train_result(self._tr, p, n, self._diag)
        self._check(st, "fine-tuning result")
        return bytes(self._ffi.buffer(p[0], n[0]))

    def memory(self) -> dict:
        s = self.stats()
        return {k: s[k] for k in ("arena_bytes", "persistent_bytes", "scratch_bytes",
                                  "persistent_peak", "scratch_peak")}


def finetune(model, X, y, options: TrainOptions | None = None, *, epochs: int = 5,
             shuffle: bool = True, seed: int = 0, quantized: bool = False, validation=None,
             progress=None, max_saturated: float | None = MAX_SATURATED,
             **given) -> FinetuneResult:
    """Fine-tune `model` on (X, y) with `options` (keyword options on top); returns the
    result with the new blob and leaves `model` as it was (see Model.finetune)."""
    opts = TrainOptions.build(options, **given)
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    q = model.input_codes(X, quantized)  # shape check, NaN/inf check, quantisation
    tr = Trainer(model, opts)
    labels = labels_array(y, q.shape[0], tr.classes)
    params = trainable_parameters(model, opts.trainable)
    res = FinetuneResult()
    for epoch, order in enumerate(schedule(q.shape[0], int(epochs), shuffle, seed)):
        before = tr.stats()
        for i in order:
            tr.sample(q[i], labels[i])
        tr.flush()  # a partial last batch still counts
        after = tr.stats()
        check_saturation(before, after, params, max_saturated, epoch, float(tr.cfg.lr),
                         "fine-tuning")
        row = epoch_row(epoch, before, after, after["samples"] - before["samples"])
        if validation is not None:
            vx, vy = validation
            cur = type(model)(tr.result(), arena_limit=model.arena_limit)
            row["val_accuracy"] = float(np.mean(
                cur.predict(vx, steps=opts.steps, quantized=quantized) == np.asarray(vy)))
        res.history.append(row)
        if progress:
            progress(row)
    s = tr.stats()
    res.memory = tr.memory()
    res.updates, res.saturated = s["updates"], s["saturated"]
    res.verify_checks, res.verify_mismatches = s["verify_checks"], s["verify_mismatches"]
    res.blob = tr.result()
    return res
