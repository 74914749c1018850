"""Build script for the cffi extension `edgesnn._esnn`: the C core, compiled as is.

The cdef is derived from the one public header, runtime_c/include/edgesnn.h, so the
API is declared in exactly one place: comments and preprocessor lines are dropped,
integer #defines are kept as cffi constants, and array lengths written with macros
become `[...]` for the C compiler to fill in. API mode then compiles the result
against the real header, so any drift is a compile error, not an ABI mismatch.
"""
from __future__ import annotations

import glob
import os
import re

from cffi import FFI

# setuptools insists on paths relative to setup.py's folder (the project root).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join("runtime_c", "src")
INCLUDE = os.path.join("runtime_c", "include")
HEADER = os.path.join(ROOT, INCLUDE, "edgesnn.h")


def cdef_from_header(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'#ifdef __cplusplus\s*(extern "C" \{|\})\s*#endif', "", text)
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            m = re.match(r"\s*#define\s+(\w+)\s+(0x[0-9A-Fa-f]+|\d+)[uU]?\s*$", line)
            if m:
                lines.append(f"#define {m.group(1)} {m.group(2)}")
            continue
        lines.append(line)
    body = "\n".join(lines)
    return re.sub(r"\[([^\]\d][^\]]*)\]", "[...]", body)  # macro lengths: the compiler's


ffibuilder = FFI()
with open(HEADER) as f:
    ffibuilder.cdef(cdef_from_header(f.read()))
ffibuilder.set_source(
    "edgesnn._esnn",
    '#include "edgesnn.h"\n',
    sources=sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, SRC, "*.c"))),
    include_dirs=[INCLUDE, SRC],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
