"""The C core through cffi: the compiled extension, its status names, and C statuses
turned into exceptions a person can act on. Model and the fine-tuning engine share it."""
from __future__ import annotations

from ..errors import STATUS_NAMES, ArenaError, BlobError, EdgesnnError, ShapeError


def c_core():
    try:
        from .._esnn import ffi, lib
    except ImportError as exc:  # the extension is built by `pip install -e .`
        raise EdgesnnError(
            "the edgesnn C core is not built; run `pip install -e .` in the project folder"
        ) from exc
    return ffi, lib


def status_name(code: int) -> str:
    ffi, lib = c_core()
    return ffi.string(lib.esnn_status_str(code)).decode()


def raise_for(code: int, diag, what: str) -> None:
    """Turn a C status (and its diagnostics) into an exception a person can act on."""
    text = status_name(code)
    name = STATUS_NAMES.get(code, f"status {code}")
    where = ""
    if diag is not None and diag.layer >= 0:
        where += f" at layer {diag.layer}"
    if diag is not None and diag.tensor >= 0:
        where += f" (tensor {diag.tensor})"
    exp = act = None
    if diag is not None:
        exp, act = diag.expected, diag.actual
    lib = c_core()[1]
    if code == lib.ESNN_ERR_ARENA_TOO_SMALL:
        raise ArenaError(f"{what}: arena too small: the model needs {exp} bytes, got {act}")
    if code == lib.ESNN_ERR_INPUT_SIZE:
        raise ShapeError(f"{what}: input has {act} values, the model expects {exp}")
    if code == lib.ESNN_ERR_CRC:
        raise BlobError(
            f"{what}: the blob is corrupted (stored CRC 0x{exp:08x}, computed 0x{act:08x}); "
            "re-pack or re-download it",
            status=code, name=name)
    detail = f" (expected {exp}, got {act})" if exp or act else ""
    raise BlobError(f"{what}: {text}{where}{detail} [{name}]", status=code, name=name)
