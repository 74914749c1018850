"""errors.py's copy of the C status codes (runtime_c/include/edgesnn.h) equals the C one:
every name has the C value, the C core has no status Python does not know, and each is
one the C core describes (esnn_status_str), so host checks and the loader report the
same numbers and names."""
from __future__ import annotations

from edgesnn._esnn import ffi, lib
from edgesnn.errors import STATUS_CODES, STATUS_NAMES


def _c_statuses() -> dict:
    return {name: getattr(lib, name) for name in dir(lib)
            if name == "ESNN_OK" or name.startswith("ESNN_ERR_")}


def test_python_status_table_equals_the_c_enum():
    assert STATUS_CODES == _c_statuses()


def test_status_names_invert_the_table():
    assert {code: name for name, code in STATUS_CODES.items()} == STATUS_NAMES
    assert len(STATUS_NAMES) == len(STATUS_CODES)  # no two names share a code


def test_the_c_core_describes_every_status():
    unknown = ffi.string(lib.esnn_status_str(-1000)).decode()
    for name, code in STATUS_CODES.items():
        text = ffi.string(lib.esnn_status_str(code)).decode()
        assert text and text != unknown, (name, code, text)
