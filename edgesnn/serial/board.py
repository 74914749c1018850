"""`Board`: the commands of docs/protocol.md as Python calls, over a `Link`."""
from __future__ import annotations

import struct
import sys
import time
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import STATUS_NAMES, BoardError, EdgesnnError, LinkTimeout, ShapeError
from ..runtime.model import Model, load
from ..runtime.options import TrainOptions
from . import proto, state
from .finetune import MAX_SATURATED, BoardFinetuneResult, run_finetune
from .link import Link
from .proto import unpack_answer

# HELLO slot entry: valid, boot check, its C status (i16), generation, length, crc32
_SLOT = struct.Struct("<BBhIII")
# The largest image the host reads back or accepts from a board, whatever its HELLO
# claims (docs/serial.md, "Bounds"): far above any MCU slot, small enough for memory.
MAX_IMAGE_BYTES = 64 * 1024 * 1024
# Exchanges without progress a chunked transfer (upload, read-back) tolerates on top of
# the retries: the chunk is halved after each, from 1020 down to 16 bytes in 7 steps.
_EXTRA_CHUNK_ATTEMPTS = 7
_MAX_COMMITS = 3  # UPLOAD_COMMIT answered INCOMPLETE: resend the missing bytes this often


_COMMIT_ANSWER = struct.Struct("<BBHI")  # UPLOAD_COMMIT: slot, -, -, generation
_INFER_HEAD = struct.Struct("<BBHII")    # INFER: dtype, -, numel, argmax, ticks


@dataclass
class Inference:
    """What `Board.infer` returns, one row per sample."""
    outputs: np.ndarray   # output totals, shape (N, *output_shape), int64
    argmax: np.ndarray    # the board's class index per sample, shape (N,)
    ticks: np.ndarray     # the board's tick count per inference (see info()["tick_kind"])
    seconds: float        # wall time of the whole batch, link included


class _Window:
    """Chunk size control: halve after a lost exchange, double after a run of good ones,
    so a clean link moves full frames and a noisy one still gets small frames through."""

    def __init__(self, maximum: int, minimum: int = 16):
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.size = maximum
        self._streak = 0

    def ok(self) -> None:
        self._streak += 1
        if self._streak >= 4 and self.size < self.maximum:
            self.size = min(self.maximum, self.size * 2)
            self._streak = 0

    def failed(self) -> None:
        self.size = max(self.minimum, self.size // 2)
        self._streak = 0


def parse_hello(p: bytes) -> dict:
    """The HELLO response payload as a dict (section 3, 0x01)."""
    if len(p) < 58:
        raise EdgesnnError(f"the board's HELLO answer is {len(p)} bytes, too short for "
                           "protocol version 1; is it running edgesnn firmware?")
    version, major, minor, max_payload, ram, arena, slot_bytes, active, tick, session, feat = \
        struct.unpack_from("<HHHHIIIBBBB", p)
    slots = []
    for i in range(2):
        valid, code, status, gen, length, crc = _SLOT.unpack_from(p, 24 + 16 * i)
        check, problem = state.slot_check(valid, code, status, length, slot_bytes)
        slots.append({"slot": i, "valid": bool(valid), "generation": gen, "length": length,
                      "crc32": crc, "check": check, "problem": problem})
    off = 56
    n = p[off]
    name = p[off + 1:off + 1 + n].decode("utf-8", "replace")
    off += 1 + n
    runtime = ""
    if off < len(p):
        n = p[off]
        runtime = p[off + 1:off + 1 + n].decode("utf-8", "replace")
        off += 1 + n
    active_slot = None if active == proto.NO_ACTIVE_SLOT else int(active)
    return {
        "protocol_version": version, "blob_version": f"{major}.{minor}",
        "max_payload": max_payload, "ram_bytes": ram, "arena_bytes": arena,
        "slot_bytes": slot_bytes, "active_slot": active_slot,
        "tick_kind": proto.TICK_KINDS.get(tick, f"kind {tick}"), "slots": slots,
        "session": proto.SESSIONS.get(session, f"kind {session}"),
        "finetune": bool(feat & proto.FEATURE_FINETUNE),
        "finetune_verify": bool(feat & proto.FEATURE_VERIFY),
        "session_tokens": bool(feat & proto.FEATURE_OWNER),
        **state.idle_fields(p, off),
        "active": slots[active_slot] if active_slot in (0, 1) else None,
        "name": name, "runtime_version": runtime,
    }


def _as_blob(model_or_blob) -> bytes:
    if isinstance(model_or_blob, Model):
        return model_or_blob.blob
    if isinstance(model_or_blob, (bytes, bytearray, memoryview)):
        return bytes(model_or_blob)
    path = str(model_or_blob)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise EdgesnnError(f"cannot read model {path}: {exc.strerror}") from exc


def as_model(model) -> Model:
    """`model` as a validated local Model: a Model, blob bytes or a path."""
    return model if isinstance(model, Model) else load(
        bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else str(model))


class Board:
    """A board running edgesnn firmware, reached over `link` (see `edgesnn.connect`)."""

    def __init__(self, link: Link, url: str | None = None):
        self.link = link
        self.url = url or link.name
        self._info: dict | None = None
        self._model = None  # the local Model matching the active slot, for quantisation

    # ---- description ----------------------------------------------------------
    def info(self) -> dict:
        """HELLO: protocol and blob versions, RAM/arena/slot sizes, both slots, name."""
        self._info = parse_hello(self.link.request(proto.HELLO))
        self._info["url"] = self.url
        return self._info

    def stats(self) -> dict:
        """STATS: the board's counters and (boards that measure them) its stack and arena
        high-water marks; fields a board does not send are left out."""
        p = self.link.request(proto.STATS)
        n = min(len(p) // 4, len(proto.STATS_FIELDS))
        if n < proto.STATS_FIELDS_V1:
            raise EdgesnnError(f"the board's STATS answer is {len(p)} bytes, expected at "
                               f"least {4 * proto.STATS_FIELDS_V1}")
        return dict(zip(proto.STATS_FIELDS, struct.unpack_from(f"<{n}I", p)))

    def reset(self) -> dict:
        """Reboot the board (the upload session is dropped); returns the new HELLO."""
        self.link.request(proto.RESET)
        self._info = None
        self._model = None
        self.link.reader.reset()
        return self.info()

    # ---- upload -----------------------------------------------------------------
    def upload(self, blob, progress=None, chunk: int = proto.MAX_CHUNK) -> dict:
        """Write an image to the inactive slot and commit it (section 3, 0x10-0x12).

        Resumes a session the board still has open for the same image (same size and
        CRC), so calling `upload` again after a dropped link continues where the board
        left off. `progress(done, total)` is called as the board acknowledges bytes.
        """
        blob = _as_blob(blob)
        size, crc = len(blob), zlib.crc32(blob)
        if not 1 <= chunk <= proto.MAX_CHUNK:
            raise ValueError(f"chunk must be 1..{proto.MAX_CHUNK} bytes, got {chunk}")
        t0 = time.perf_counter()
        self._info = None
        self._model = None
        try:
            nxt = self._begin(size, crc)
        except BoardError as exc:
            if exc.name == "TOO_LARGE":
                raise BoardError(exc.status, exc.name,
                                 f"the board refused the image: {size} bytes do not fit a "
                                 f"slot ({self._slot_bytes_text()}); use a smaller model",
                                 exc.payload) from None
            raise
        resumed_from = nxt
        window = _Window(chunk)
        failures = 0
        sessions = 1
        commits = 0
        sent = 0
        if progress:
            progress(nxt, size)
        while True:
            while nxt < size:
                data = blob[nxt:nxt + window.size]
                try:
                    p = self.link.request(proto.UPLOAD_CHUNK, struct.pack("<I", nxt) + data,
                                          retries=0)
                except LinkTimeout:
                    failures += 1
                    window.failed()
                    if failures > self.link.retries + _EXTRA_CHUNK_ATTEMPTS:
                        raise self._upload_timeout(nxt, size) from None
                    continue
                except BoardError as exc:
                    if exc.name == "NO_SESSION" and sessions < 3:  # the board rebooted
                        sessions += 1
                        nxt = self._begin(size, crc)
                        continue
                    raise
                new = self._u32(p, "UPLOAD_CHUNK")
                if new > size:
                    raise EdgesnnError(f"the board reports next_offset {new} beyond the "
                                       f"image size {size}; abort with RESET and retry")
                sent += len(data)
                if new <= nxt:
                    # no progress (a board that forgets or lies): bounded like silence
                    failures += 1
                    window.failed()
                    if failures > self.link.retries + _EXTRA_CHUNK_ATTEMPTS:
                        raise EdgesnnError(
                            f"the board on {self.url} does not take the image: it answers "
                            f"next_offset {new} to bytes at {nxt} (of {size}) again and again; "
                            "RESET it and flash again")
                else:
                    failures = 0
                    window.ok()
                nxt = new
                if progress:
                    progress(nxt, size)
            try:
                p = self.link.request(proto.UPLOAD_COMMIT)
            except BoardError as exc:
                if exc.name == "INCOMPLETE" and len(exc.payload) >= 4 and commits < _MAX_COMMITS:
                    commits += 1
                    nxt = self._u32(exc.payload, "UPLOAD_COMMIT")
                    if nxt >= size:
                        raise EdgesnnError(
                            f"the board says the upload is incomplete at byte {nxt} of {size}"
                            "; RESET it and flash again") from None
                    continue
                if exc.name == "NO_SESSION" and sessions < 3:
                    sessions += 1
                    nxt = self._begin(size, crc)
                    continue
                raise self._commit_error(exc) from None
            break
        slot, _, _, generation = unpack_answer(_COMMIT_ANSWER, p, "UPLOAD_COMMIT")
        return {"slot": slot, "generation": generation, "bytes": size, "crc32": crc,
                "resumed_from": resumed_from, "sent_bytes": sent,
                "seconds": time.perf_counter() - t0}

    def abort(self) -> None:
        """Drop an open upload session (the inactive slot stays invalid)."""
        self.link.request(proto.UPLOAD_ABORT)

    def flash(self, blob_or_path, progress: bool = True, chunk: int = proto.MAX_CHUNK) -> dict:
        """Validate a model locally, upload it, then check by HELLO that the board runs it.

        `progress=True` draws a tqdm bar (bytes, rate) on stderr; a callable gets
        `(done, total)` as in `upload`; False shows nothing.
        """
        blob = _as_blob(blob_or_path)
        model = as_model(blob)  # validated by the C core before any byte is sent
        info = self.info()  # (its HELLO has ended a stale fine-tuning session)
        if info["session"] == "finetune":  # another host's, and alive: refuse, once, here
            raise BoardError(proto.BUSY, "BUSY", f"cannot flash {info['name']} now: " +
                             state.finetune_session_text(info["session_idle"],
                                                         info["session_idle_limit"]), b"\x02")
        if len(blob) > info["slot_bytes"]:
            raise EdgesnnError(f"the model is {len(blob)} bytes; a slot on {info['name']} "
                               f"holds {info['slot_bytes']}: use a smaller model")
        if model.arena_bytes > info["arena_bytes"]:
            raise EdgesnnError(f"the model needs an arena of {model.arena_bytes} bytes; "
                               f"{info['name']} provides {info['arena_bytes']}")
        bar = None
        callback = progress if callable(progress) else None
        if progress is True:
            from tqdm import tqdm
            bar = tqdm(total=len(blob), unit="B", unit_scale=True, unit_divisor=1024,
                       desc=f"flash {info['name']}", file=sys.stderr, leave=True,
                       dynamic_ncols=True)

            def callback(done, total):
                bar.update(done - bar.n)
        try:
            result = self.upload(blob, progress=callback, chunk=chunk)
        finally:
            if bar is not None:
                bar.close()
        after = self.info()
        act = after["active"]
        if act is None or act["crc32"] != result["crc32"] or act["length"] != len(blob):
            got = ("no valid model" if act is None else
                   f"slot {after['active_slot']} with {act['length']} bytes, crc32 "
                   f"0x{act['crc32']:08x}")
            raise EdgesnnError(f"verify failed: the board runs {got}, expected {len(blob)} "
                               f"bytes with crc32 0x{result['crc32']:08x}")
        self._model = model
        result["verified"] = True
        result["info"] = after
        return result

    # ---- read back --------------------------------------------------------------
    def pull(self, slot: int | None = None) -> bytes:
        """Read a slot's image (the active one by default) and check its CRC."""
        info = self.info()
        if slot is None:
            slot = info["active_slot"]
            if slot is None:
                raise EdgesnnError(f"{info['name']} has no valid model to read; flash one first")
        if slot not in (0, 1):
            raise ValueError(f"slot must be 0 or 1, got {slot}")
        desc = info["slots"][slot]
        if not desc["valid"]:
            raise EdgesnnError(f"slot {slot} of {info['name']} holds no valid model")
        length = desc["length"]
        # the loop below is bounded by sizes known before it starts, never by answers
        limit = min(info["slot_bytes"], MAX_IMAGE_BYTES)
        if not 0 < length <= limit:
            raise EdgesnnError(
                f"slot {slot} of {info['name']} claims an image of {length} bytes; a slot "
                f"holds {info['slot_bytes']} and the host reads at most {MAX_IMAGE_BYTES}: "
                "the board's HELLO is inconsistent (is it running edgesnn firmware?)")
        out = bytearray()
        window = _Window(proto.MAX_PAYLOAD)
        failures = 0
        while len(out) < length:
            n = min(window.size, length - len(out))
            try:
                part = self.link.request(proto.READ_SLOT,
                                         struct.pack("<BBHI", slot, 0, n, len(out)), retries=0)
            except LinkTimeout:
                failures += 1
                window.failed()
                if failures > self.link.retries + _EXTRA_CHUNK_ATTEMPTS:
                    raise
                continue
            if len(part) != n:
                raise EdgesnnError(f"the board answered READ_SLOT for {n} bytes at offset "
                                   f"{len(out)} of slot {slot} with {len(part)} bytes; is it "
                                   "running edgesnn firmware?")
            out += part
            failures = 0
            window.ok()
        blob = bytes(out)
        if zlib.crc32(blob) != desc["crc32"]:
            raise EdgesnnError(f"slot {slot} read back with crc32 0x{zlib.crc32(blob):08x}, "
                               f"the board's header says 0x{desc['crc32']:08x}")
        return blob

    # ---- inference ----------------------------------------------------------------
    def active_model(self):
        """The board's active model as a local `Model` (read back once, then cached)."""
        info = self.info() if self._info is None else self._info
        act = info["active"]
        if act is None:
            raise EdgesnnError(f"{info['name']} has no valid model; flash one first "
                               "(edgesnn flash --port URL MODEL.esnn)")
        m = self._model
        if m is not None and len(m.blob) == act["length"] and zlib.crc32(m.blob) == act["crc32"]:
            return m
        self._model = as_model(self.pull())
        return self._model

    def local_model(self, model=None) -> Model:
        """The local copy of the board's active model, used to quantise inputs and
        configure fine-tuning: `model` (a Model, blob or path), checked to be the one the
        board runs, or else the board's own, read back once (`active_model`)."""
        if model is None:
            return self.active_model()
        model = as_model(model)
        self._check_same(model)
        self._model = model
        return model

    def _check_same(self, model) -> None:
        info = self.info() if self._info is None else self._info
        act = info["active"]
        if act is None:
            raise EdgesnnError(f"{info['name']} has no valid model; flash one first")
        if len(model.blob) != act["length"] or zlib.crc32(model.blob) != act["crc32"]:
            raise EdgesnnError(
                f"the board runs a different model ({act['length']} bytes, crc32 "
                f"0x{act['crc32']:08x}) than the one given ({len(model.blob)} bytes, crc32 "
                f"0x{zlib.crc32(model.blob):08x}); flash it first")

    def infer(self, x, mode: str = "onestep", steps: int | None = None,
              quantized: bool = False, model=None) -> Inference:
        """Run the active model on the board for each sample of `x`.

        Float inputs are quantised with the active model's input scale, taken from
        `model` (a local copy of the same model) or read back from the board once.
        """
        self.info()  # the active slot may have changed since the last call
        model = self.local_model(model)
        if mode not in proto.INFER_MODES:
            raise ValueError(f"mode must be one of {sorted(proto.INFER_MODES)}, got {mode!r}")
        t = model.check_steps(steps)
        q = model.input_codes(x, quantized)
        if q.shape[1] > proto.MAX_INPUT:
            raise ShapeError(f"the input has {q.shape[1]} bytes; one INFER frame carries at "
                             f"most {proto.MAX_INPUT}")
        head = struct.pack("<BBH", proto.INFER_MODES[mode], t, 0)
        n = q.shape[0]
        numel = int(np.prod(model.output_shape))
        outs = np.empty((n, numel), dtype=np.int64)
        argmax = np.empty(n, dtype=np.int64)
        ticks = np.empty(n, dtype=np.int64)
        t0 = time.perf_counter()
        for i in range(n):
            try:
                p = self.link.request(proto.INFER, head + q[i].tobytes())
            except BoardError as exc:
                raise self._runtime_error(exc) from None
            dtype, _, cnt, am, tk = unpack_answer(_INFER_HEAD, p, "INFER")
            if cnt != numel:
                raise EdgesnnError(f"the board returned {cnt} outputs, the model has {numel}")
            raw = p[_INFER_HEAD.size:]
            width = {proto.DTYPE_U8: 1, proto.DTYPE_I32: 4}.get(dtype)
            if width is None:
                raise EdgesnnError(f"the board returned outputs of unknown dtype {dtype}")
            if len(raw) != cnt * width or am >= cnt:
                raise EdgesnnError(f"the board's INFER answer carries {len(raw)} bytes of "
                                   f"outputs and argmax {am}; {cnt} outputs of {width} bytes "
                                   "expected: is it running edgesnn firmware?")
            vals = np.frombuffer(raw, dtype=np.uint8 if width == 1 else "<i4", count=cnt)
            outs[i], argmax[i], ticks[i] = vals, am, tk
        return Inference(outputs=outs.reshape((n,) + model.output_shape), argmax=argmax,
                         ticks=ticks, seconds=time.perf_counter() - t0)

    # ---- fine-tuning -------------------------------------------------------------
    def finetune(self, X, y, epochs: int = 5, lr: float | None = None,
                 trainable: str | None = None, mode: str | None = None, *,
                 options: TrainOptions | None = None, shuffle: bool = True, seed: int = 0,
                 progress=None, quantized: bool = False, model=None, bar: bool = False,
                 sample_timeout: float | None = None,
                 max_saturated: float | None = MAX_SATURATED,
                 **given) -> BoardFinetuneResult:
        """Fine-tune the board's active model on (X, y) on the board itself.

        The training options are `Model.finetune`'s: `options` (a TrainOptions) with any
        given as keywords on top (lr, trainable, mode, batch, momentum, steps, surrogate,
        slope, verify). The sample order (`edgesnn.runtime.finetune.schedule(n, epochs,
        shuffle, seed)`) and the configuration are the host's too, so the new model is
        bit for bit the one `Model.finetune` computes on the host. The board trains in
        its own arena (FINETUNE_BEGIN answers ARENA_TOO_SMALL with the need when it does
        not fit), writes the result to its inactive slot and activates it only when it
        is completely written and verified; an interruption (cable, reset, power,
        Ctrl-C) leaves the previous model active.

        `progress`: a callable gets each epoch's row ({"epoch", "loss", "accuracy"}) as
        on the host; True (or `bar=True`) draws a tqdm bar of samples on stderr. `model`: a local copy of
        the board's model (else it is read back once). Returns a BoardFinetuneResult:
        `history`, `memory` (the board's arena need and measured peaks), `blob` (the new
        model, read back and CRC-checked), `slot`, `generation`, `crc32`, `ticks` and
        `board_memory` (stack/arena high-water marks where the board measures them).
        `sample_timeout`: seconds to wait for each sample's answer before retransmitting
        (default: the link's timeout plus 2 s at first, then plus 3x the board's median
        time per sample). `max_saturated`: stop (FINETUNE_ABORT, nothing written) when an
        epoch clamps more than this fraction of its parameter updates, as on the host
        (edgesnn.runtime.finetune.MAX_SATURATED; None disables the check).
        """
        opts = TrainOptions.build(options, lr=lr, trainable=trainable, mode=mode, **given)
        self._info = None
        return run_finetune(self, X, y, opts, epochs=epochs, shuffle=shuffle, seed=seed,
                            quantized=quantized, progress=progress, bar=bar, model=model,
                            sample_timeout=sample_timeout, max_saturated=max_saturated)

    def finetune_abort(self) -> dict | None:
        """End the fine-tuning session the board has open, whichever host began it (a
        crashed one's, typically; nothing is written, the active model stays). Returns
        {"idle": seconds since its host's last request} of the session ended, or None
        when none was open (a HELLO ends a stale session by itself: None then too)."""
        info = self.info()
        self.link.request(proto.FINETUNE_ABORT)  # no token: any session
        self._info = None
        if info["session"] != "finetune":
            return None
        return {"idle": info["session_idle"]}

    def validate(self, model, x, steps: int | None = None, mode: str = "onestep",
                 quantized: bool = False, y=None) -> dict:
        """Run every sample on the board and on the host runtime; compare output totals
        bit for bit. The board must run `model` (flash it first)."""
        model = as_model(model)
        board = self.infer(x, mode=mode, steps=steps, quantized=quantized, model=model)
        host = model.outputs(x, steps=steps, mode=mode, quantized=quantized)
        b = board.outputs.reshape(len(board.argmax), -1)
        h = np.asarray(host).reshape(b.shape[0], -1)
        same = np.all(b == h, axis=1)
        host_pred = h.argmax(axis=1)
        res = {
            "samples": int(b.shape[0]), "agree": int(same.sum()),
            "mismatches": [int(i) for i in np.flatnonzero(~same)],
            "mode": mode, "steps": steps or model.default_steps,
            "board_predictions": board.argmax, "host_predictions": host_pred,
            "argmax_agree": int(np.sum(board.argmax == host_pred)),
            "ticks_mean": float(board.ticks.mean()) if len(board.ticks) else 0.0,
            "seconds": board.seconds,
        }
        if y is not None:
            y = np.asarray(y)
            res["board_accuracy"] = float(np.mean(board.argmax == y))
            res["host_accuracy"] = float(np.mean(host_pred == y))
        return res

    # ---- helpers ------------------------------------------------------------------
    def _begin(self, size: int, crc: int) -> int:
        return self._u32(self.link.request(proto.UPLOAD_BEGIN, struct.pack("<II", size, crc)),
                         "UPLOAD_BEGIN")

    @staticmethod
    def _u32(p: bytes, what: str) -> int:
        if len(p) < 4:
            raise EdgesnnError(f"the board's {what} answer is {len(p)} bytes, expected 4")
        return struct.unpack_from("<I", p)[0]

    def _slot_bytes_text(self) -> str:
        try:
            return f"{self.info()['slot_bytes']} bytes"
        except EdgesnnError:
            return "size unknown"

    def _upload_timeout(self, nxt: int, size: int) -> LinkTimeout:
        return LinkTimeout(
            f"the board on {self.url} stopped answering during the upload, at byte {nxt} of "
            f"{size}; check the connection, then run the same upload again: it resumes "
            "from the last byte the board acknowledged")

    @staticmethod
    def _commit_error(exc: BoardError) -> BoardError:
        if exc.name == "CRC_MISMATCH":
            msg = ("the board rejected the image: its CRC does not match the one announced "
                   "(bytes were corrupted on the way); the upload was dropped, run it again")
        elif exc.name == "INVALID_MODEL" and len(exc.payload) >= 12:
            st, exp, act = struct.unpack_from("<iII", exc.payload)
            msg = (f"the board rejected the image as a model: {STATUS_NAMES.get(st, st)} "
                   f"(expected {exp}, got {act}); the previous model stays active")
        else:
            msg = str(exc) + "; the previous model stays active"
        return BoardError(exc.status, exc.name, msg, exc.payload)

    @staticmethod
    def _runtime_error(exc: BoardError) -> BoardError:
        if exc.name == "RUNTIME_ERROR" and len(exc.payload) >= 12:
            st, exp, act = struct.unpack_from("<iII", exc.payload)
            name = STATUS_NAMES.get(st, f"status {st}")
            hint = ""
            if name == "ESNN_ERR_ARENA_TOO_SMALL":
                hint = f": the board's arena is too small (needs {exp} bytes, has {act})"
            elif name == "ESNN_ERR_INPUT_SIZE":
                hint = f": input of {act} values, the model expects {exp}"
            else:
                hint = f" (expected {exp}, got {act})"
            return BoardError(exc.status, exc.name,
                              f"inference failed on the board: {name}{hint}", exc.payload)
        if exc.name == "NO_MODEL":
            return BoardError(exc.status, exc.name,
                              "the board has no valid model; flash one first", exc.payload)
        return exc

    # ---- lifetime -----------------------------------------------------------------
    def close(self) -> None:
        self.link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<edgesnn Board {self.url}>"
