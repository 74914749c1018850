"""What a board's answers say about its flash slots and its open session, in words:
the boot check of each slot (docs/protocol.md section 5) and who holds the board
(section 6: session tokens and the idle rule). `Board.info()`, the BUSY / NOT_OWNER
errors and the `info`, `flash` and `finetune --abort` verbs all word it the same way."""
from __future__ import annotations

import struct

from ..errors import STATUS_CODES, STATUS_NAMES
from . import proto

_IDLE = struct.Struct("<II")  # idle limit (ms; 0: never), idle time of the open session (ms)


def newer(a: int, b: int) -> bool:
    """Generation a is newer than b (serial-number arithmetic, as the board compares)."""
    return ((a - b) & 0xFFFFFFFF) - 1 < 0x7FFFFFFF


def slot_check(valid: int, code: int, status: int, length: int, slot_bytes: int):
    """(check name, problem or None) of one HELLO slot entry."""
    if valid:
        return "valid", None
    check = proto.SLOT_CHECKS.get(code, f"check {code}")
    if code == 0:  # a board that does not report its checks
        return "empty", None
    if check in ("empty", "erased"):
        return check, None
    if check == "header":
        if status == STATUS_CODES["ESNN_ERR_TRUNCATED"]:
            return check, (f"bad header: an image length of {length} B does not fit the "
                           f"slot's {slot_bytes} B")
        return check, "bad header: its magic, CRC or generation is wrong"
    if check == "crc":
        return check, "image CRC mismatch: the image is corrupted"
    return check, f"the model was refused: {STATUS_NAMES.get(status, f'status {status}')}"


def idle_fields(p: bytes, off: int) -> dict:
    """HELLO's tail after the runtime version: the session idle rule, in seconds."""
    if len(p) < off + _IDLE.size:
        return {"session_idle_limit": None, "session_idle": None}
    limit, idle = _IDLE.unpack_from(p, off)
    return {"session_idle_limit": limit / 1000, "session_idle": idle / 1000}


def _limit_text(limit_s) -> str:
    if limit_s is None:
        return "this board's firmware keeps it until it is ended"
    if limit_s == 0:
        return "it never expires on this board"
    return f"it ends by itself once idle for {limit_s:g} s and another request needs the board"


def finetune_session_text(idle_s, limit_s) -> str:
    """One sentence on an open fine-tuning session: how long idle, when it ends, how to
    end it now."""
    idle = "" if idle_s is None else f"; its host's last request was {idle_s:.1f} s ago"
    return (f"a fine-tuning session is open on the board{idle} ({_limit_text(limit_s)}); "
            "wait for it to finish, or end it with `edgesnn finetune --abort --port URL`")


def busy_text(payload: bytes) -> str:
    """The meaning of a BUSY or NOT_OWNER answer, from its payload."""
    kind = payload[0] if payload else 0
    if kind == 2:
        if len(payload) >= 4 + _IDLE.size:
            limit, idle = _IDLE.unpack_from(payload, 4)
            return finetune_session_text(idle / 1000, limit / 1000)
        return finetune_session_text(None, None)
    if kind == 1:
        return ("an upload is in progress on the board; run the same flash again to finish "
                "it, or start another (a new image replaces it)")
    return proto.STATUS_MEANINGS[proto.BUSY]


def failed_slots(info: dict) -> list:
    """One line per slot that failed its boot check, saying what runs instead."""
    out = []
    act = info.get("active")
    for s in info["slots"]:
        if not s.get("problem"):
            continue
        gen = f"generation {s['generation']}, " if s["generation"] else ""
        if act is None:
            tail = "the board has no valid model"
        elif s["generation"] and newer(s["generation"], act["generation"]):
            tail = (f"running the older model in slot {info['active_slot']} "
                    f"(generation {act['generation']})")
        else:
            tail = f"the board runs slot {info['active_slot']} (generation {act['generation']})"
        out.append(f"slot {s['slot']}: {gen}FAILED boot check ({s['problem']}); {tail}")
    return out
