"""Exceptions raised by edgesnn. Every message says what was wrong and what to do."""
from __future__ import annotations

# Status codes of runtime_c/include/edgesnn.h, so host-side checks and the C loader
# report the same numbers and names.
STATUS_CODES = {
    "ESNN_OK": 0,
    "ESNN_ERR_NULL": -1,
    "ESNN_ERR_TRUNCATED": -2,
    "ESNN_ERR_MAGIC": -3,
    "ESNN_ERR_VERSION": -4,
    "ESNN_ERR_CRC": -5,
    "ESNN_ERR_ALIGN": -6,
    "ESNN_ERR_BOUNDS": -7,
    "ESNN_ERR_LIMITS": -8,
    "ESNN_ERR_RESERVED": -9,
    "ESNN_ERR_OP": -10,
    "ESNN_ERR_DTYPE": -11,
    "ESNN_ERR_SHAPE": -12,
    "ESNN_ERR_SHIFT": -13,
    "ESNN_ERR_GRAPH": -14,
    "ESNN_ERR_OVERFLOW": -15,
    "ESNN_ERR_ARENA_TOO_SMALL": -16,
    "ESNN_ERR_STEPS": -17,
    "ESNN_ERR_MODE": -18,
    "ESNN_ERR_INPUT_SIZE": -19,
    "ESNN_ERR_STATE": -20,
    "ESNN_ERR_LABEL": -21,
    "ESNN_ERR_DIVERGED": -22,
    "ESNN_ERR_CONFIG": -23,
    "ESNN_ERR_TRAIN": -24,
}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


class EdgesnnError(Exception):
    """Base class of every edgesnn error."""


class UnsupportedOpError(EdgesnnError):
    """An ONNX node (or an attribute of it) the converter cannot map to the SNN."""


class BlobError(EdgesnnError):
    """A blob breaks a rule of docs/format.md; `.status`/`.name` match edgesnn.h."""

    def __init__(self, message: str, status: int | str = 0, name: str | None = None):
        # status may be the numeric code or its ESNN_ERR_* name; name is derived if omitted.
        if isinstance(status, str):
            status = STATUS_CODES[status]
        self.status = int(status)
        self.name = name or STATUS_NAMES.get(self.status, f"status {self.status}")
        super().__init__(message)


class ShapeError(EdgesnnError):
    """Tensor shapes that do not fit together or do not fit the format."""


class ArenaError(EdgesnnError):
    """The activation arena is missing, misaligned or too small."""


class QuantizeError(EdgesnnError):
    """The float graph cannot be converted into the integer SNN form."""


class SerialLinkError(EdgesnnError):
    """The serial link to a board failed: the port cannot be opened or the line dropped."""


class LinkTimeout(SerialLinkError):
    """The board did not answer a request, even after retransmissions."""


class BoardError(EdgesnnError):
    """The board answered with a non-zero status (docs/protocol.md, section 4).

    `.status` is the code, `.name` its name (e.g. "CRC_MISMATCH"), `.payload` the
    response payload (some statuses carry numbers, e.g. INCOMPLETE's next_offset).
    """

    def __init__(self, status: int, name: str, message: str, payload: bytes = b""):
        self.status = int(status)
        self.name = name
        self.payload = bytes(payload)
        super().__init__(message)
