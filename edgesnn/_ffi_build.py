"""Build script for the cffi extension `edgesnn._esnn`: the C core, compiled as is.

The cdef below restates the public header's declarations for cffi; API mode
compiles them against runtime_c/include/edgesnn.h itself, so any drift between the
two is a compile error rather than a silent ABI mismatch.
"""
from __future__ import annotations

import glob
import os

from cffi import FFI

# setuptools insists on paths relative to setup.py's folder (the project root).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join("runtime_c", "src")
INCLUDE = os.path.join("runtime_c", "include")

CDEF = """
typedef int esnn_status;
typedef int esnn_mode;
typedef struct { int32_t status; int32_t layer; int32_t tensor; uint32_t expected; uint32_t actual; } esnn_diag;
typedef struct { const void *data; uint8_t dtype; uint8_t rank; uint16_t dims[3]; uint32_t numel; } esnn_tensor;
typedef struct { ...; } esnn_model;
typedef struct {
    uint16_t version_major, version_minor;
    uint16_t num_layers, num_tensors;
    uint16_t default_steps;
    uint8_t onestep_ok;
    uint8_t flags;
    uint32_t total_length;
    uint32_t scratch_bytes;
    uint32_t persistent_bytes;
    uint32_t input_numel, output_numel;
    uint8_t output_dtype;
    uint8_t input_rank, output_rank;
    uint16_t input_dims[3], output_dims[3];
    uint64_t macs;
    ...;
} esnn_info;

const char *esnn_status_str(esnn_status s);
uint32_t esnn_crc32(uint32_t crc, const uint8_t *data, uint32_t len);
esnn_status esnn_validate(const uint8_t *blob, uint32_t len, esnn_info *info, esnn_diag *diag);
esnn_status esnn_arena_bytes(const uint8_t *blob, uint32_t len, esnn_mode mode, uint32_t steps,
                             uint32_t *bytes, esnn_diag *diag);
esnn_status esnn_init(esnn_model *m, const uint8_t *blob, uint32_t blob_len, uint8_t *arena,
                      uint32_t arena_len, esnn_diag *diag);
esnn_status esnn_invoke(esnn_model *m, const uint8_t *input, uint32_t input_len, esnn_mode mode,
                        uint32_t steps, esnn_diag *diag);
esnn_status esnn_output(const esnn_model *m, esnn_tensor *out);
esnn_status esnn_output_argmax(const esnn_model *m, uint32_t *index);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "edgesnn._esnn",
    '#include "edgesnn.h"\n',
    sources=sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, SRC, "*.c"))),
    include_dirs=[INCLUDE, SRC],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
