"""The host runtime: the C core (through cffi) behind a numpy-friendly Model object.

Python only orchestrates here: validation, both execution modes and the arena size
query all happen in runtime_c/, the same code that runs on the boards.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import BlobError, EdgesnnError, ShapeError
from ..format.blob import check_input_scale, meta_section, parse_meta, read_header
from ..format.inputs import quantize_input
from ..format.intmodel import HDR_CAUSAL, HDR_SEQUENCE
from .cffi_core import c_core, raise_for
from .options import TrainOptions, check_steps, split_options

MODES = {"onestep": 0, "tstep": 1}
DTYPES = {1: np.uint8, 2: np.int32}


class MetadataWarning(UserWarning):
    """A model's metadata (host-only JSON) is malformed; the malformed part is ignored."""


@dataclass(frozen=True)
class Memory:
    """Arena bytes of one configuration: kept across calls vs. reused scratch."""
    persistent: int
    scratch: int

    @property
    def total(self) -> int:
        return self.persistent + self.scratch


class Model:
    """A validated .esnn blob bound to the C runtime, with its own arena."""

    def __init__(self, blob: bytes, source: str | None = None, arena_limit: int | None = None):
        """`arena_limit` caps the arena as a board's RAM would; None sizes it exactly."""
        self.arena_limit = arena_limit
        self.source = source
        self._load(blob)

    def _load(self, blob: bytes) -> None:
        """Validate `blob` with the C loader and make it this model's: everything derived
        from the blob is (re)computed here, and the arena is bound again on first use.
        Nothing changes when `blob` is refused."""
        ffi, lib = c_core()
        blob = bytes(blob)
        blob_c = ffi.from_buffer("uint8_t[]", blob)
        info = ffi.new("esnn_info *")
        diag = ffi.new("esnn_diag *")
        st = lib.esnn_validate(blob_c, len(blob), info, diag)
        if st != 0:
            raise_for(st, diag, f"invalid model{' ' + self.source if self.source else ''}")
        meta = self._read_meta(blob)
        input_quant = self._read_input_quant(blob)
        # from here on nothing can fail: the model takes the new blob as a whole
        self.blob, self._blob_c, self._info = blob, blob_c, info
        self.input_shape = tuple(int(d) for d in info.input_dims[0:info.input_rank])
        self.output_shape = tuple(int(d) for d in info.output_dims[0:info.output_rank])
        self.default_steps = int(info.default_steps)
        self.causal = bool(info.flags & HDR_CAUSAL)  # format 1.1 header flags
        self.sequence = bool(info.flags & HDR_SEQUENCE)
        self.meta = meta
        self.input_scale, self.input_zero_point = input_quant
        self._arena = None
        self._arena_key = None
        self._model_c = None
        self._stream = None  # (arena, esnn_model) of the stream, apart from invoke's

    # ---- description -------------------------------------------------------
    def _read_meta(self, blob: bytes) -> dict:
        """The metadata, checked by blob.parse_meta: untrusted host-only JSON whose
        malformed parts are left out with a MetadataWarning (the C core ignores it)."""
        meta, problem = parse_meta(meta_section(blob))
        if problem:
            import warnings
            warnings.warn(MetadataWarning(
                f"{self.source or 'model'}: {problem}"), stacklevel=4)
        return meta

    def _read_input_quant(self, blob: bytes):
        header = read_header(blob)
        try:
            scale = check_input_scale(header.input_scale)
        except BlobError as exc:
            raise BlobError(f"invalid model{' ' + self.source if self.source else ''}: {exc}",
                            status=exc.status) from None
        zp = int(header.input_zero_point)
        return scale, zp

    def info(self) -> dict:
        i = self._info
        return {
            "format_version": f"{i.version_major}.{i.version_minor}",
            "flash_bytes": int(i.total_length),
            "layers": int(i.num_layers),
            "tensors": int(i.num_tensors),
            "default_steps": self.default_steps,
            "onestep_ok": bool(i.onestep_ok),
            "causal": self.causal,
            "sequence_input": self.sequence,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "input_scale": self.input_scale,
            "input_zero_point": self.input_zero_point,
            "macs": int(i.macs),
            "arena_bytes": self.arena_bytes,
            "arena_bytes_tstep": self.memory("tstep").total,
            "name": self.meta.get("name"),
        }

    def memory(self, mode: str = "onestep", steps: int | None = None) -> Memory:
        """Exact arena bytes for `mode` at `steps`, split into persistent and scratch.
        "stream" (causal blobs; no steps: a stream has no T) is one step's activations
        (scratch) plus the state kept between steps (persistent)."""
        ffi, lib = c_core()
        out = ffi.new("uint32_t *")
        diag = ffi.new("esnn_diag *")
        if mode == "stream":
            if steps is not None:
                raise ValueError("a stream has no T: memory('stream') takes no steps")
            code, t = lib.ESNN_MODE_STREAM, 0
        else:
            code, t = self._mode(mode), self.check_steps(steps)
        st = lib.esnn_arena_bytes(self._blob_c, len(self.blob), code, t, out, diag)
        if st != 0:
            raise_for(st, diag, "arena size query")
        persistent = int(self._info.persistent_bytes)
        if mode == "stream":
            persistent = int(out[0]) - int(self._info.scratch_bytes)
        return Memory(persistent=persistent, scratch=int(out[0]) - persistent)

    @property
    def arena_bytes(self) -> int:
        """Arena bytes one-step inference needs (what a board must provide); for a blob
        that cannot run one-step (LIF/LI, sequence input), the T-step need at default T."""
        return self.memory("onestep" if self._info.onestep_ok else "tstep").total

    # ---- inference ----------------------------------------------------------
    def quantize(self, x) -> np.ndarray:
        """Float samples -> the uint8 input codes the device takes."""
        return quantize_input(np.asarray(x, dtype=np.float64), self.input_scale,
                              self.input_zero_point)

    def outputs(self, x, steps: int | None = None, mode: str = "onestep",
                quantized: bool = False) -> np.ndarray:
        """Output totals (spike counts or readout currents), shape (N, *output_shape)."""
        t = self.check_steps(steps)
        if self.sequence and mode == "tstep":
            q = self._seq_batch(x, quantized, t or self.default_steps)
        else:
            q = self.input_codes(x, quantized)
        return self._run(q, self._mode(mode), t)

    def predict(self, x, steps: int | None = None, mode: str = "onestep",
                quantized: bool = False) -> np.ndarray:
        """Class indices (argmax of the output totals, lowest index on ties)."""
        out = self.outputs(x, steps=steps, mode=mode, quantized=quantized)
        return out.reshape(out.shape[0], -1).argmax(axis=1)

    def simulate(self, x, steps: int | None = None, quantized: bool = False) -> np.ndarray:
        """Explicit T-step simulation; returns output totals like `outputs`. For a
        sequence blob x has shape (N, T, *input_shape) or (T, *input_shape)."""
        return self.outputs(x, steps=steps, mode="tstep", quantized=quantized)

    def invoker(self, mode: str = "onestep", steps: int | None = None):
        """A batch-1 call `f(q) -> output totals` on uint8 codes of one sample, with
        everything bound up front: the cheapest path into the C core (benchmarks)."""
        ffi, lib = c_core()
        m, t = self._mode(mode), self.check_steps(steps)
        self._bind(m, t)
        model, diag, out = self._model_c, ffi.new("esnn_diag *"), ffi.new("esnn_tensor *")
        dtype = DTYPES[int(self._info.output_dtype)]
        nbytes = int(self._info.output_numel) * np.dtype(dtype).itemsize
        width = int(self._info.input_numel)

        def call(q: np.ndarray) -> np.ndarray:
            st = lib.esnn_invoke(model, ffi.from_buffer("uint8_t[]", q), width, m, t, diag)
            if st != 0:
                raise_for(st, diag, "inference")
            lib.esnn_output(model, out)
            return np.frombuffer(ffi.buffer(out.data, nbytes), dtype=dtype).copy()
        return call

    # ---- streaming (causal blobs) ------------------------------------------------
    def stream_reset(self) -> None:
        """Start a new stream: every layer's state (membranes, readouts) and the running
        outputs back to zero, as snnTorch's `utils.reset(net)` / `init_leaky()` does.
        The stream has its own arena of exactly `memory("stream").total` bytes, kept
        for the model's life, so it does not disturb `outputs` / `simulate` and they do
        not disturb it. Raises for a blob that is not causal."""
        ffi, lib = c_core()
        diag = ffi.new("esnn_diag *")
        if self._stream is None:
            size = self.memory("stream").total
            if self.arena_limit is not None:
                size = int(self.arena_limit)
            self._stream = self._new_c_model(size, "stream init")
        st = lib.esnn_stream_reset(self._stream[1], diag)
        if st != 0:
            raise_for(st, diag, "stream reset")

    def stream_step(self, frame, quantized: bool = False) -> np.ndarray:
        """Advance every layer by one input frame (shape `input_shape`; float, or uint8
        codes with quantized=True) and return the running outputs, shape `output_shape`
        (int64): a readout's current value (LI: its membrane; NONE: the sum of its
        currents since the reset) or, for a spiking output, the spike counts since the
        reset. The first step after loading starts a stream (no reset needed). T steps
        after a reset give exactly `simulate` of those T frames."""
        return self.stream(np.asarray(frame)[None], quantized=quantized)[0]

    def stream(self, frames, quantized: bool = False) -> np.ndarray:
        """Push frames (T, *input_shape) into the stream, one step each, continuing it;
        returns the running outputs after every step, shape (T, *output_shape)."""
        ffi, lib = c_core()
        frames = np.asarray(frames)
        if frames.ndim == 0 or frames.shape[1:] != self.input_shape:
            raise ShapeError(
                f"frames have shape {tuple(frames.shape)}; the stream takes (T, "
                f"{', '.join(map(str, self.input_shape))}), one frame per step")
        q = self.input_codes(frames, quantized) if len(frames) else \
            np.zeros((0, int(self._info.input_numel)), np.uint8)
        if self._stream is None:
            self.stream_reset()
        model = self._stream[1]
        diag, out = ffi.new("esnn_diag *"), ffi.new("esnn_tensor *")
        n_out = int(self._info.output_numel)
        result = np.empty((len(q), n_out), dtype=np.int64)
        qbuf, width = ffi.from_buffer("uint8_t[]", q), q.shape[1]
        for t in range(len(q)):
            st = lib.esnn_stream_step(model, qbuf + t * width, width, diag)
            if st != 0:
                raise_for(st, diag, "stream step")
            lib.esnn_stream_output(model, out, ffi.NULL)
            result[t] = np.frombuffer(ffi.buffer(out.data, 4 * n_out), dtype=np.int32)
        return result.reshape((len(q),) + self.output_shape)

    @property
    def stream_steps(self) -> int:
        """Frames pushed since the stream's reset (0 before any)."""
        if self._stream is None:
            return 0
        ffi, lib = c_core()
        out, steps = ffi.new("esnn_tensor *"), ffi.new("uint32_t *")
        lib.esnn_stream_output(self._stream[1], out, steps)
        return int(steps[0])

    # ---- fine-tuning ----------------------------------------------------------
    def finetune_memory(self, trainable: str | None = None, mode: str | None = None,
                        steps: int | None = None, momentum: float | None = None,
                        verify: bool | None = None, *, options: TrainOptions | None = None,
                        **given) -> dict:
        """Exact arena bytes a fine-tuning configuration needs, before it starts:
        {"arena_bytes", "persistent_bytes", "scratch_bytes"}. The configuration is
        `options` (a TrainOptions, default: its defaults) with the keywords on top."""
        from .finetune import TrainConfig
        opts = TrainOptions.build(options, trainable=trainable, mode=mode, steps=steps,
                                  momentum=momentum, verify=verify, **given)
        return TrainConfig(self, opts).need

    def finetune(self, X, y, epochs: int = 5, lr: float | None = None,
                 trainable: str | None = None, mode: str | None = None, *,
                 options: TrainOptions | None = None, **kw):
        """Fine-tune this model on labelled samples with the C engine; afterwards the
        model runs (and `save` writes) the re-quantised weights.

        The training options are `options` (a TrainOptions) with any given as keywords on
        top: trainable "head" (last layer, default), "bias" (all biases) or "all"; lr (None
        picks options.DEFAULT_LR[trainable], normalised units); mode "reversible"
        (activation memory independent of depth and T, default) or "stored" (ordinary
        backprop, the baseline); batch, momentum, steps, surrogate ("sigmoid" or "atan"),
        slope, verify (check every reconstruction). Run options: shuffle, seed,
        quantized, validation=(X, y), progress=callable(row), max_saturated. Returns a
        FinetuneResult with per-epoch loss/accuracy (`history`) and the memory peaks
        (`memory`).
        """
        from .finetune import finetune
        given, run = split_options(kw)
        opts = TrainOptions.build(options, lr=lr, trainable=trainable, mode=mode, **given)
        res = finetune(self, X, y, opts, epochs=epochs, **run)
        self.replace_blob(res.blob)
        return res

    def replace_blob(self, blob: bytes) -> None:
        """Make `blob` (validated first) this model's blob, keeping source and arena
        limit: how a fine-tuned model takes its new weights. On an invalid blob the
        model is left as it was."""
        self._load(blob)

    def save(self, path: str) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            f.write(self.blob)
        os.replace(tmp, path)  # never leave a half-written model at `path`

    # ---- input and options, as the board and the fine-tuning engine use them ------
    @property
    def c_blob(self):
        """The blob as the C core takes it (a cffi uint8_t[] over `blob`)."""
        return self._blob_c

    @staticmethod
    def check_steps(steps) -> int:
        """T as the C core takes it: 0 for the blob's default, else 1..63 (ValueError)."""
        return check_steps(steps)

    def input_codes(self, x, quantized: bool = False) -> np.ndarray:
        """Samples -> the (N, numel) uint8 codes the C core and the boards take: shape,
        dtype and NaN/inf checks, then quantisation (unless already `quantized`)."""
        x = np.asarray(x)
        shape = self.input_shape
        if x.dtype.kind not in "biuf":  # complex would lose its imaginary part silently
            raise ShapeError(f"input must be real numbers, got dtype {x.dtype}")
        if x.shape == shape:
            x = x[None]
        if len(shape) == 1 and x.ndim > 2 and int(np.prod(x.shape[1:])) == shape[0]:
            # a flat-input model (a Flatten folded into its first Dense) takes samples of
            # any shape with that many values, flattened in C order as Flatten does:
            # e.g. the 8x8 digits for a (64,) model
            x = x.reshape(x.shape[0], -1)
        if x.ndim == 0 or x.shape[0] == 0:
            raise ShapeError(f"input has shape {tuple(x.shape)}: no samples")
        if x.shape[1:] != shape:
            raise ShapeError(
                f"input has shape {tuple(x.shape)}; the model expects one sample of shape "
                f"{shape} or a batch of shape (N, {', '.join(map(str, shape))})")
        if quantized:
            if x.dtype != np.uint8:
                raise ShapeError(f"quantized input must be uint8, got {x.dtype}")
            q = x
        else:
            if not np.all(np.isfinite(x)):
                raise ValueError("input contains NaN or infinite values")
            q = self.quantize(x)
        return np.ascontiguousarray(q.reshape(q.shape[0], -1), dtype=np.uint8)

    # ---- internals ----------------------------------------------------------
    def _mode(self, mode: str) -> int:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
        return MODES[mode]

    def _seq_batch(self, x, quantized: bool, T: int) -> np.ndarray:
        """(N, T, *input_shape) or (T, *input_shape) frames -> (N, T * numel) codes."""
        x = np.asarray(x)
        shape = (T,) + self.input_shape
        if x.shape == shape:
            x = x[None]
        if x.shape[1:] != shape:
            raise ShapeError(
                f"input has shape {tuple(x.shape)}; this blob takes a sequence of T={T} frames: "
                f"shape (N, {T}, {', '.join(map(str, self.input_shape))})")
        flat = self.input_codes(x.reshape((-1,) + self.input_shape), quantized)
        return np.ascontiguousarray(flat.reshape(x.shape[0], -1))

    def _bind(self, mode: int, steps: int):
        """Give the C model an arena big enough for (mode, steps); reuse it when it is."""
        need = self.memory("tstep" if mode else "onestep", steps or None).total
        if self._arena is not None and self._arena_key >= need:
            return
        size = need if self.arena_limit is None else int(self.arena_limit)
        self._arena, self._model_c = self._new_c_model(size, "init")
        self._arena_key = size

    def _new_c_model(self, size: int, what: str):
        """A C model bound to a fresh zeroed arena of `size` bytes (16-byte aligned, as
        the C core wants): (the numpy buffer that owns the arena, the esnn_model)."""
        ffi, lib = c_core()
        raw = np.zeros(size + 16, dtype=np.uint8)
        ptr = ffi.cast("uint8_t *", ffi.from_buffer(raw))
        pad = (-int(ffi.cast("uintptr_t", ptr))) % 16
        model = ffi.new("esnn_model *")
        diag = ffi.new("esnn_diag *")
        st = lib.esnn_init(model, self._blob_c, len(self.blob), ptr + pad, size, diag)
        if st != 0:
            raise_for(st, diag, what)
        return raw, model

    def _run(self, q: np.ndarray, mode: int, steps: int) -> np.ndarray:
        ffi, lib = c_core()
        self._bind(mode, steps)
        diag = ffi.new("esnn_diag *")
        out = ffi.new("esnn_tensor *")
        n_out = int(self._info.output_numel)
        dtype = DTYPES[int(self._info.output_dtype)]
        result = np.empty((q.shape[0], n_out), dtype=np.int64)
        qbuf = ffi.from_buffer("uint8_t[]", q)
        width = q.shape[1]
        for i in range(q.shape[0]):
            # the C core re-checks the arena against (mode, steps) and reports the numbers
            st = lib.esnn_invoke(self._model_c, qbuf + i * width, width, mode, steps, diag)
            if st != 0:
                raise_for(st, diag, "inference")
            lib.esnn_output(self._model_c, out)
            nbytes = n_out * np.dtype(dtype).itemsize
            result[i] = np.frombuffer(ffi.buffer(out.data, nbytes), dtype=dtype)
        return result.reshape((q.shape[0],) + self.output_shape)


def load(path_or_bytes, arena_limit: int | None = None) -> Model:
    """Load and validate an .esnn model from a path or from bytes."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return Model(bytes(path_or_bytes), arena_limit=arena_limit)
    path = os.fspath(path_or_bytes)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise EdgesnnError(f"cannot read model {path}: {exc.strerror}") from exc
    return Model(data, source=path, arena_limit=arena_limit)


def default_model_path() -> str:
    """The digits model that ships inside the package."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models",
                        "digits.esnn")


def load_default() -> Model:
    return load(default_model_path())
