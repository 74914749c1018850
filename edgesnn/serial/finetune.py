"""Fine-tuning on a board over the serial protocol (docs/protocol.md, FINETUNE_*).

A workflow over a Board's public methods (info, local_model, pull, stats and its link):
Board.finetune calls it, and it never looks inside the Board. The host only orders
samples and reports. The configuration is the host's own `TrainConfig` of the same
`TrainOptions` (the same defaults and checks as `Model.finetune`), the sample order is
`edgesnn.runtime.finetune.schedule`, and a partial mini-batch is applied at every epoch
end as on the host, so the board's run equals `Model.finetune` on the host bit for bit.
"""
from __future__ import annotations

import math
import random
import struct
import sys
import time
from dataclasses import dataclass, field

from ..errors import STATUS_NAMES, BoardError, EdgesnnError
from ..runtime.finetune import (MAX_SATURATED, FinetuneResult, TrainConfig, TrainError,
                                check_saturation, epoch_row, labels_array, schedule,
                                trainable_parameters)
from ..runtime.options import TrainOptions
from . import proto
from .proto import unpack_answer

_CONFIG = struct.Struct("<BBBBHHffff")       # esnn_train_config, field by field
_BEGIN = struct.Struct("<IIIIHH")            # need, persistent, scratch, arena, T, classes
_SAMPLE_HEAD = struct.Struct("<IHBB")        # index, label, flags, reserved
_SAMPLE_ANSWER = struct.Struct("<IIIIffI")   # samples, correct, updates, saturated,
#                                              loss_sum, last_loss, ticks
_COMMIT = struct.Struct("<BBHIII11Iff")      # slot, -, -, generation, size, crc, stats...
_MEMORY = ("arena_bytes", "persistent_bytes", "scratch_bytes", "persistent_peak",
           "scratch_peak")
# Extra seconds to wait on top of the link's timeout for the commands that compute:
_FIRST_WAIT = 2.0   # a sample, until the board's speed is known (then 3x its median)
_INIT_WAIT = 1.0    # BEGIN: validate, copy the model into the arena
_COMMIT_WAIT = 2.0  # COMMIT: write the new model to flash (erase + program) and verify


@dataclass
class BoardFinetuneResult(FinetuneResult):
    """`FinetuneResult` plus where the board put the new model and what it measured."""
    slot: int = -1
    generation: int = 0
    crc32: int = 0
    board: str = ""
    seconds: float = 0.0
    ticks: int = 0           # the board's ticks over every training sample (tick_kind)
    tick_kind: str = "none"
    board_memory: dict = field(default_factory=dict)  # stack/arena high-water marks (STATS)

    def as_dict(self) -> dict:
        d = super().as_dict()
        d.update({"slot": self.slot, "generation": self.generation,
                  "crc32": f"0x{self.crc32:08x}", "bytes": len(self.blob), "board": self.board,
                  "seconds": self.seconds, "ticks": self.ticks, "tick_kind": self.tick_kind,
                  "board_memory": self.board_memory})
        return d


def _train_error(exc: BoardError, what: str) -> EdgesnnError:
    """A RUNTIME_ERROR of a FINETUNE_* command as the host engine would word it."""
    if exc.name != "RUNTIME_ERROR" or len(exc.payload) < 12:
        return exc
    st, exp, act = struct.unpack_from("<iII", exc.payload)
    layer = struct.unpack_from("<i", exc.payload, 12)[0] if len(exc.payload) >= 16 else -1
    name = STATUS_NAMES.get(st, f"status {st}")
    where = f" at layer {layer}" if layer >= 0 else ""
    if name == "ESNN_ERR_DIVERGED":
        msg = (f"{what}: training diverged on the board (NaN/inf{where}); nothing was "
               "written, the previous model stays active; lower the learning rate")
    elif name == "ESNN_ERR_LABEL":
        msg = f"{what}: the board refused label {act}: the model's labels are 0..{exp}"
    elif name == "ESNN_ERR_INPUT_SIZE":
        msg = f"{what}: the board expects {exp} input values per sample, got {act}"
    elif name == "ESNN_ERR_TRAIN":
        msg = (f"{what}: the board's model cannot be fine-tuned{where} (fine-tuning supports "
               "rate-driven chains of Dense/Conv/SumPool/reversible blocks with IF neurons)")
    elif name in ("ESNN_ERR_CONFIG", "ESNN_ERR_STEPS"):
        msg = f"{what}: the board refused the configuration: {name} (expected {exp}, got {act})"
    else:
        msg = f"{what}: fine-tuning failed on the board: {name}{where} (expected {exp}, got {act})"
    return TrainError(msg)


def config_bytes(cfg) -> bytes:
    """An esnn_train_config as FINETUNE_BEGIN carries it."""
    return _CONFIG.pack(cfg.mode, cfg.trainable, cfg.surrogate, cfg.verify, cfg.steps, cfg.batch,
                        cfg.lr, cfg.momentum, cfg.slope, cfg.logit_scale)


def _bar(total: int, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, unit="sample", desc=desc, file=sys.stderr, leave=True,
                dynamic_ncols=True)


def run_finetune(board, X, y, options: TrainOptions, *, epochs: int = 5,
                 shuffle: bool = True, seed: int = 0, quantized: bool = False, progress=None,
                 bar: bool = False, model=None, sample_timeout=None,
                 max_saturated=MAX_SATURATED) -> BoardFinetuneResult:
    """Board.finetune: see its docstring."""
    mode, trainable = options.mode, options.trainable
    t_start = time.perf_counter()
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    info = board.info()
    name = info["name"]
    if not info["finetune"]:
        raise EdgesnnError(f"the firmware on {name} has no fine-tuning commands; flash a "
                           "firmware built from this edgesnn")
    if options.verify and not info["finetune_verify"]:
        raise EdgesnnError(f"the firmware on {name} is built without the verify mode "
                           "(ESNN_TRAIN_VERIFY=0, as every Cortex-M firmware is); it computes "
                           "the host's bits exactly, so run the check on the host: "
                           "Model.finetune(..., verify=True)")
    # the given copy, checked against the board, or read back once: quantisation and
    # configuration
    model = board.local_model(model)
    q = model.input_codes(X, quantized)  # shape, NaN/inf and dtype checks, quantisation
    tr = TrainConfig(model, options)
    labels = labels_array(y, q.shape[0], tr.classes)
    if q.shape[1] > proto.MAX_FT_INPUT:
        raise EdgesnnError(f"a sample has {q.shape[1]} input bytes; one FINETUNE_SAMPLE frame "
                           f"carries at most {proto.MAX_FT_INPUT}")
    T = tr.T
    what = f"fine-tuning on {name}"
    config = config_bytes(tr.cfg)
    # the session's owner token (docs/protocol.md section 6): a serial line cannot tell
    # hosts apart, so every FINETUNE_* of this run carries it; a version-1 board has none
    tok = struct.pack("<I", random.randrange(1, 1 << 32)) if info.get("session_tokens") else b""

    begin = _begin(board, config + tok, mode, trainable, T, name)
    need = dict(zip(("arena_bytes", "persistent_bytes", "scratch_bytes", "board_arena"),
                    unpack_answer(_BEGIN, begin, "FINETUNE_BEGIN")[:4]))

    n = q.shape[0]
    total = n * int(epochs)
    bar = _bar(total, f"finetune {name}") if (progress is True or bar) else None
    on_epoch = progress if callable(progress) else None
    res = BoardFinetuneResult(board=name, tick_kind=info["tick_kind"])
    clean = []  # round trips (s) of samples answered without a retransmission
    k = 0
    prev = {"loss_sum": 0.0, "correct": 0, "saturated": 0, "updates": 0}
    params = trainable_parameters(model, trainable)
    try:
        for epoch, order in enumerate(schedule(n, int(epochs), shuffle, seed)):
            last = len(order) - 1
            for j, i in enumerate(order):
                flags = (proto.FT_FLAG_FLUSH if j == last else 0) | \
                    (proto.FT_FLAG_TOKEN if tok else 0)
                head = _SAMPLE_HEAD.pack(k, int(labels[i]), flags, 0) + tok
                # a sample takes the board a while to train: wait that long on top of the
                # link's timeout (a too short wait only costs a harmless retransmission)
                if sample_timeout is not None:
                    timeout = float(sample_timeout)
                else:
                    timeout = board.link.timeout + (
                        3.0 * sorted(clean)[len(clean) // 2] if clean else _FIRST_WAIT)
                retrans = board.link.retransmissions
                t0 = time.perf_counter()
                try:
                    p = board.link.request(proto.FINETUNE_SAMPLE, head + q[i].tobytes(),
                                           timeout=timeout)
                except BoardError as exc:
                    if exc.name == "BAD_ARG" and len(exc.payload) >= 4:
                        raise EdgesnnError(
                            f"{what}: the board expected sample {struct.unpack_from('<I', exc.payload)[0]}"
                            f", the host sent {k}: the session was restarted (a RESET or another "
                            "host?); run the fine-tuning again") from None
                    if exc.name in ("NO_SESSION", "NOT_OWNER"):
                        raise EdgesnnError(
                            f"{what}: the board dropped the session at sample {k} (it was reset, "
                            "ended with `finetune --abort`, or idle past the board's limit and "
                            "ended by another host's request); the previous model stays "
                            "active; run the fine-tuning again") from None
                    raise _train_error(exc, what) from None
                if board.link.retransmissions == retrans:
                    clean = (clean + [time.perf_counter() - t0])[-15:]
                samples, correct, updates, saturated, loss_sum, last_loss, ticks = \
                    unpack_answer(_SAMPLE_ANSWER, p, "FINETUNE_SAMPLE")
                if samples != k + 1 or correct > samples or not math.isfinite(loss_sum):
                    raise EdgesnnError(f"{what}: the board counts {samples} samples ({correct} "
                                       f"correct, loss sum {loss_sum}) after sample {k}; "
                                       f"expected {k + 1}")
                res.ticks += ticks
                k += 1
                if bar is not None:
                    bar.update(1)
            cur = {"loss_sum": loss_sum, "correct": correct, "saturated": saturated,
                   "updates": updates}
            # the same limit as the host run; raising here aborts the session (below)
            check_saturation(prev, cur, params, max_saturated, epoch, float(tr.cfg.lr), what)
            row = epoch_row(epoch, prev, cur, len(order))
            prev = cur
            res.history.append(row)
            if bar is not None:
                bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{row['accuracy']:.3f}")
            if on_epoch:
                on_epoch(row)
        commit = _commit(board, what, tok)
    except BaseException:
        _abort_quietly(board, tok)
        raise
    finally:
        if bar is not None:
            bar.close()

    vals = unpack_answer(_COMMIT, commit, "FINETUNE_COMMIT")
    slot, _, _, generation, size, crc = vals[:6]
    st = dict(zip(_MEMORY + ("samples", "updates", "correct", "saturated", "verify_checks",
                             "verify_mismatches"), vals[6:17]))
    res.slot, res.generation, res.crc32 = slot, generation, crc
    res.memory = {key: st[key] for key in _MEMORY}
    res.updates, res.saturated = st["updates"], st["saturated"]
    res.verify_checks, res.verify_mismatches = st["verify_checks"], st["verify_mismatches"]
    if st["samples"] != total or st["arena_bytes"] != need["arena_bytes"]:
        raise EdgesnnError(f"{what}: the board reports {st['samples']} samples and an arena of "
                           f"{st['arena_bytes']} B; expected {total} and {need['arena_bytes']}")
    after = board.info()
    act = after["active"]
    if act is None or after["active_slot"] != slot or act["crc32"] != crc or \
            act["length"] != size or act["generation"] != generation:
        raise EdgesnnError(f"{what}: the board committed slot {slot} (crc32 0x{crc:08x}) but "
                           f"runs {act}")
    res.blob = board.pull(slot)  # CRC-checked against the slot header
    board.local_model(res.blob)  # validated by the host's C loader too; the board's now
    try:
        s = board.stats()  # 0: the board does not measure it
        res.board_memory = {key: s[key] for key in ("stack_peak", "stack_bytes", "arena_peak")
                            if s.get(key)}
    except EdgesnnError:
        res.board_memory = {}
    res.seconds = time.perf_counter() - t_start
    return res


def _begin(board, config: bytes, mode: str, trainable: str, T: int, name: str) -> bytes:
    for attempt in range(2):
        try:
            return board.link.request(proto.FINETUNE_BEGIN, config,
                                      timeout=board.link.timeout + _INIT_WAIT)
        except BoardError as exc:
            if exc.name == "BUSY" and exc.payload[:1] == b"\x01" and attempt == 0:
                board.link.request(proto.UPLOAD_ABORT)  # a stale, unfinished upload
                continue
            if exc.name == "ARENA_TOO_SMALL" and len(exc.payload) >= 16:
                need, pers, scratch, have = struct.unpack_from("<IIII", exc.payload)
                raise EdgesnnError(
                    f"fine-tuning ({mode}, trainable={trainable}, T={T}) needs an arena of "
                    f"{need} bytes ({pers} persistent + {scratch} scratch); {name} has "
                    f"{have}. Train fewer parameters (trainable 'head' or 'bias'), use mode "
                    "'reversible', or lower T") from None
            if exc.name == "NO_MODEL":
                raise EdgesnnError(f"{name} has no valid model to fine-tune; flash one first") \
                    from None
            raise _train_error(exc, f"fine-tuning on {name}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _commit(board, what: str, tok: bytes = b"") -> bytes:
    try:
        return board.link.request(proto.FINETUNE_COMMIT, tok,
                                  timeout=board.link.timeout + _COMMIT_WAIT)
    except BoardError as exc:
        if exc.name == "FLASH_ERROR":
            raise BoardError(exc.status, exc.name,
                             f"{what}: writing the new model failed (flash error); the previous "
                             "model stays active", exc.payload) from None
        if exc.name == "INVALID_MODEL" and len(exc.payload) >= 12:
            st, exp, act = struct.unpack_from("<iII", exc.payload)
            raise BoardError(exc.status, exc.name,
                             f"{what}: the fine-tuned model does not load on the board: "
                             f"{STATUS_NAMES.get(st, st)} (expected {exp}, got {act}); the "
                             "previous model stays active", exc.payload) from None
        raise _train_error(exc, what) from None


def _abort_quietly(board, tok: bytes = b"") -> None:
    """Best effort: close the board's session so that it serves inference again (with
    the token: only our own session, never one another host has begun since)."""
    try:
        board.link.request(proto.FINETUNE_ABORT, tok, retries=1)
    except (EdgesnnError, OSError):
        pass


__all__ = ["BoardFinetuneResult", "run_finetune"]
