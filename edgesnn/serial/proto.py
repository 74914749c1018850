"""Constants of the serial protocol, version 1 (docs/protocol.md)."""
from __future__ import annotations

import struct

from ..errors import EdgesnnError

PROTOCOL_VERSION = 1

KIND_REQUEST = 0xA5   # host to device
KIND_RESPONSE = 0x5A  # device to host

HEADER_BYTES = 8
CRC_BYTES = 4
MIN_BODY = HEADER_BYTES + CRC_BYTES
MAX_PAYLOAD = 1024
MAX_ENCODED = 1048          # COBS-encoded body, delimiter not included
MAX_CHUNK = MAX_PAYLOAD - 4  # UPLOAD_CHUNK: u32 offset + data
MAX_INPUT = MAX_PAYLOAD - 4  # INFER: u8 mode, u8 steps, u16 reserved + input

# commands (section 3)
HELLO = 0x01
STATS = 0x02
RESET = 0x03
UPLOAD_BEGIN = 0x10
UPLOAD_CHUNK = 0x11
UPLOAD_COMMIT = 0x12
UPLOAD_ABORT = 0x13
INFER = 0x20
READ_SLOT = 0x30
FINETUNE_BEGIN = 0x40
FINETUNE_SAMPLE = 0x41
FINETUNE_COMMIT = 0x42
FINETUNE_ABORT = 0x43

COMMAND_NAMES = {
    HELLO: "HELLO", STATS: "STATS", RESET: "RESET", UPLOAD_BEGIN: "UPLOAD_BEGIN",
    UPLOAD_CHUNK: "UPLOAD_CHUNK", UPLOAD_COMMIT: "UPLOAD_COMMIT",
    UPLOAD_ABORT: "UPLOAD_ABORT", INFER: "INFER", READ_SLOT: "READ_SLOT",
    FINETUNE_BEGIN: "FINETUNE_BEGIN", FINETUNE_SAMPLE: "FINETUNE_SAMPLE",
    FINETUNE_COMMIT: "FINETUNE_COMMIT", FINETUNE_ABORT: "FINETUNE_ABORT",
}

# status codes (section 4)
OK = 0
UNKNOWN_CMD = 1
BAD_LENGTH = 2
BAD_ARG = 3
NO_SESSION = 4
TOO_LARGE = 5
INCOMPLETE = 6
CRC_MISMATCH = 7
INVALID_MODEL = 8
NO_MODEL = 9
RUNTIME_ERROR = 10
FLASH_ERROR = 11
BUSY = 12
ARENA_TOO_SMALL = 13
NOT_OWNER = 14

STATUS_NAMES = {
    OK: "OK", UNKNOWN_CMD: "UNKNOWN_CMD", BAD_LENGTH: "BAD_LENGTH", BAD_ARG: "BAD_ARG",
    NO_SESSION: "NO_SESSION", TOO_LARGE: "TOO_LARGE", INCOMPLETE: "INCOMPLETE",
    CRC_MISMATCH: "CRC_MISMATCH", INVALID_MODEL: "INVALID_MODEL", NO_MODEL: "NO_MODEL",
    RUNTIME_ERROR: "RUNTIME_ERROR", FLASH_ERROR: "FLASH_ERROR", BUSY: "BUSY",
    ARENA_TOO_SMALL: "ARENA_TOO_SMALL", NOT_OWNER: "NOT_OWNER",
}

STATUS_MEANINGS = {
    OK: "ok", UNKNOWN_CMD: "the board does not know this command",
    BAD_LENGTH: "payload length wrong for the command", BAD_ARG: "a field out of range",
    NO_SESSION: "no upload or fine-tuning session in progress",
    TOO_LARGE: "the image is larger than a slot",
    INCOMPLETE: "commit before all bytes arrived",
    CRC_MISMATCH: "the image CRC differs from the one announced",
    INVALID_MODEL: "the image is not a valid model for this board",
    NO_MODEL: "no valid model in the slot",
    RUNTIME_ERROR: "the runtime (inference or fine-tuning) failed on the board",
    FLASH_ERROR: "the board's flash driver reported a failure",
    BUSY: "another session (an upload or a fine-tuning run) is open on the board",
    ARENA_TOO_SMALL: "the board's arena is too small for this fine-tuning configuration",
    NOT_OWNER: "the open fine-tuning session belongs to another host (another token)",
}

NO_ACTIVE_SLOT = 0xFF
TICK_KINDS = {0: "none", 1: "instructions", 2: "cycles", 3: "nanoseconds"}
STATS_FIELDS = ("invocations", "arena_used", "arena_bytes", "frames_ok", "frames_bad",
                "frames_oversized", "last_ticks", "uploads_committed", "uploads_rejected",
                "boots", "finetunes_committed", "finetune_samples", "stack_peak",
                "stack_bytes", "arena_peak")
STATS_FIELDS_V1 = 10  # the fields every version-1 board sends; later ones are appended
SESSIONS = {0: None, 1: "upload", 2: "finetune"}
FEATURE_FINETUNE = 0x01
FEATURE_VERIFY = 0x02  # FINETUNE_BEGIN accepts verify = 1 (not in the Cortex-M firmware)
FEATURE_OWNER = 0x04   # FINETUNE_* carry the owner's token; stale sessions end (section 6)
FT_FLAG_FLUSH = 0x01  # FINETUNE_SAMPLE: apply a partial mini-batch after this sample
FT_FLAG_TOKEN = 0x02  # FINETUNE_SAMPLE: the owner's u32 token follows the 8-byte header
# HELLO slot entry, byte 1: the result of the slot's boot check (section 5); a version-1
# board without it sends 0 there, which then only means "valid" when the valid flag is set
SLOT_CHECKS = {0: "valid", 1: "empty", 2: "erased", 3: "header", 4: "crc", 5: "model"}
MAX_FT_INPUT = MAX_PAYLOAD - 8  # FINETUNE_SAMPLE: u32 index, u16 label, u8 flags, u8 0
INFER_MODES = {"onestep": 0, "tstep": 1}
DTYPE_U8, DTYPE_I32 = 1, 2


def command_name(cmd: int) -> str:
    return COMMAND_NAMES.get(cmd, f"command 0x{cmd:02x}")


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"status {status}")


def unpack_answer(fmt: struct.Struct, p: bytes, what: str, exact: bool = False) -> tuple:
    """The fields of a board's answer; EdgesnnError when it is too short (or, `exact`,
    not exactly that long): a lying or foreign device must not end in struct.error."""
    if len(p) < fmt.size or (exact and len(p) != fmt.size):
        raise EdgesnnError(f"the board's {what} answer is {len(p)} bytes, expected "
                           f"{'' if exact else 'at least '}{fmt.size}; is it running this "
                           "edgesnn's firmware?")
    return fmt.unpack_from(p)
