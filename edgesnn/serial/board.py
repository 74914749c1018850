"""`Board`: the commands of docs/protocol.md as Python calls, over a `Link`."""
from __future__ import annotations

import struct
import sys
import time
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import BoardError, EdgesnnError, LinkTimeout, ShapeError
from . import proto
from .link import Link

_SLOT = struct.Struct("<BBHIII")  # valid, reserved, reserved, generation, length, crc32


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
        valid, _, _, gen, length, crc = _SLOT.unpack_from(p, 24 + 16 * i)
        slots.append({"slot": i, "valid": bool(valid), "generation": gen, "length": length,
                      "crc32": crc})
    off = 56
    n = p[off]
    name = p[off + 1:off + 1 + n].decode("utf-8", "replace")
    off += 1 + n
    runtime = ""
    if off < len(p):
        n = p[off]
        runtime = p[off + 1:off + 1 + n].decode("utf-8", "replace")
    active_slot = None if active == proto.NO_ACTIVE_SLOT else int(active)
    return {
        "protocol_version": version, "blob_version": f"{major}.{minor}",
        "max_payload": max_payload, "ram_bytes": ram, "arena_bytes": arena,
        "slot_bytes": slot_bytes, "active_slot": active_slot,
        "tick_kind": proto.TICK_KINDS.get(tick, f"kind {tick}"), "slots": slots,
        "session": proto.SESSIONS.get(session, f"kind {session}"),
        "finetune": bool(feat & proto.FEATURE_FINETUNE),
        "finetune_verify": bool(feat & proto.FEATURE_VERIFY),
        "active": slots[active_slot] if active_slot in (0, 1) else None,
        "name": name, "runtime_version": runtime,
    }


def _as_blob(model_or_blob) -> bytes:
    from ..runtime import Model
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


def _as_model(model):
    from ..runtime import Model, load
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
                    if failures > self.link.retries + 7:
                        raise self._upload_timeout(nxt, size) from None
                    continue
                except BoardError as exc:
                    if exc.name == "NO_SESSION" and sessions < 3:  # the board rebooted
                        sessions += 1
                        nxt = self._begin(size, crc)
                        continue
                    raise
                failures = 0
                window.ok()
                sent += len(data)
                new = self._u32(p, "UPLOAD_CHUNK")
                if new > size:
                    raise EdgesnnError(f"the board reports next_offset {new} beyond the "
                                       f"image size {size}; abort with RESET and retry")
                nxt = new
                if progress:
                    progress(nxt, size)
            try:
                p = self.link.request(proto.UPLOAD_COMMIT)
            except BoardError as exc:
                if exc.name == "INCOMPLETE" and len(exc.payload) >= 4:
                    nxt = self._u32(exc.payload, "UPLOAD_COMMIT")
                    continue
                if exc.name == "NO_SESSION" and sessions < 3:
                    sessions += 1
                    nxt = self._begin(size, crc)
                    continue
                raise self._commit_error(exc) from None
            break
        slot, _, _, generation = struct.unpack_from("<BBHI", p)
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
        model = _as_model(blob)  # validated by the C core before any byte is sent
        info = self.info()
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
        out = bytearray()
        window = _Window(proto.MAX_PAYLOAD)
        failures = 0
        while len(out) < desc["length"]:
            n = min(window.size, desc["length"] - len(out))
            try:
                out += self.link.request(proto.READ_SLOT,
                                         struct.pack("<BBHI", slot, 0, n, len(out)), retries=0)
            except LinkTimeout:
                failures += 1
                window.failed()
                if failures > self.link.retries + 7:
                    raise
                continue
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
        self._model = _as_model(self.pull())
        return self._model

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
        if model is not None:
            model = _as_model(model)
            self._check_same(model)
            self._model = model
        else:
            model = self.active_model()
        if mode not in proto.INFER_MODES:
            raise ValueError(f"mode must be one of {sorted(proto.INFER_MODES)}, got {mode!r}")
        t = model._steps(steps)
        q = model._batch(x, quantized)
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
            dtype, _, cnt, am, tk = struct.unpack_from("<BBHII", p)
            if cnt != numel:
                raise EdgesnnError(f"the board returned {cnt} outputs, the model has {numel}")
            raw = p[12:]
            if dtype == proto.DTYPE_U8:
                vals = np.frombuffer(raw, dtype=np.uint8, count=cnt)
            elif dtype == proto.DTYPE_I32:
                vals = np.frombuffer(raw, dtype="<i4", count=cnt)
            else:
                raise EdgesnnError(f"the board returned outputs of unknown dtype {dtype}")
            outs[i], argmax[i], ticks[i] = vals, am, tk
        return Inference(outputs=outs.reshape((n,) + model.output_shape), argmax=argmax,
                         ticks=ticks, seconds=time.perf_counter() - t0)

    # ---- fine-tuning -------------------------------------------------------------
    def finetune(self, X, y, epochs: int = 5, lr: float | None = None, trainable: str = "head",
                 mode: str = "reversible", batch: int = 1, momentum: float = 0.9,
                 steps: int | None = None, surrogate: str = "sigmoid",
                 slope: float | None = None, shuffle: bool = True, seed: int = 0,
                 progress=None, quantized: bool = False, verify: bool = False, model=None,
                 bar: bool = False, sample_timeout: float | None = None):
        """Fine-tune the board's active model on (X, y) on the board itself.

        The options and their defaults are `Model.finetune`'s, and so are the sample order
        (`edgesnn.finetune.schedule(n, epochs, shuffle, seed)`) and the configuration, so
        the new model is bit for bit the one `Model.finetune` computes on the host. The
        board trains in its own arena (FINETUNE_BEGIN answers ARENA_TOO_SMALL with the
        need when it does not fit), writes the result to its inactive slot and activates
        it only when it is completely written and verified; an interruption (cable,
        reset, power, Ctrl-C) leaves the previous model active.

        `progress`: a callable gets each epoch's row ({"epoch", "loss", "accuracy"}) as
        on the host; True (or `bar=True`) draws a tqdm bar of samples on stderr. `model`: a local copy of
        the board's model (else it is read back once). Returns a BoardFinetuneResult:
        `history`, `memory` (the board's arena need and measured peaks), `blob` (the new
        model, read back and CRC-checked), `slot`, `generation`, `crc32`, `ticks` and
        `board_memory` (stack/arena high-water marks where the board measures them).
        `sample_timeout`: seconds to wait for each sample's answer before retransmitting
        (default: the link's timeout plus 2 s at first, then plus 3x the board's median
        time per sample).
        """
        from .board_finetune import run
        self._info = None
        return run(self, X, y, epochs=epochs, lr=lr, trainable=trainable, mode=mode,
                   batch=batch, momentum=momentum, steps=steps, surrogate=surrogate,
                   slope=slope, shuffle=shuffle, seed=seed, verify=verify, quantized=quantized,
                   progress=progress, bar=bar, model=model, sample_timeout=sample_timeout)

    def finetune_abort(self) -> None:
        """Close a fine-tuning session the board has open (nothing is written)."""
        self.link.request(proto.FINETUNE_ABORT)

    def validate(self, model, x, steps: int | None = None, mode: str = "onestep",
                 quantized: bool = False, y=None) -> dict:
        """Run every sample on the board and on the host runtime; compare output totals
        bit for bit. The board must run `model` (flash it first)."""
        model = _as_model(model)
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
            from ..errors import STATUS_NAMES
            msg = (f"the board rejected the image as a model: {STATUS_NAMES.get(st, st)} "
                   f"(expected {exp}, got {act}); the previous model stays active")
        else:
            msg = str(exc) + "; the previous model stays active"
        return BoardError(exc.status, exc.name, msg, exc.payload)

    @staticmethod
    def _runtime_error(exc: BoardError) -> BoardError:
        if exc.name == "RUNTIME_ERROR" and len(exc.payload) >= 12:
            st, exp, act = struct.unpack_from("<iII", exc.payload)
            from ..errors import STATUS_NAMES
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
