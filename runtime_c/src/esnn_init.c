/* esnn_init.c - validate once, then bind blob and arena to the model. */
#include "esnn_internal.h"

esnn_status esnn_init(esnn_model *m, const uint8_t *blob, uint32_t blob_len, uint8_t *arena,
                      uint32_t arena_len, esnn_diag *diag)
{
    esnn_hdr h;
    esnn_status s;
    if (!m)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    memset(m, 0, sizeof *m);  /* a failed init leaves a model that refuses to run */
    if (!blob || !arena)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    s = esnn_validate_blob(blob, blob_len, &h, NULL, diag);
    if (s != ESNN_OK)
        return s;
    /* I32 tensors sit at 16-aligned offsets; the base must be aligned as well */
    if ((uintptr_t)arena % ESNN_ARENA_ALIGN)
        return esnn_fail(diag, ESNN_ERR_ALIGN, -1, -1, ESNN_ARENA_ALIGN,
                         (uint32_t)((uintptr_t)arena % ESNN_ARENA_ALIGN));
    if (arena_len < h.scratch_bytes)
        return esnn_fail(diag, ESNN_ERR_ARENA_TOO_SMALL, -1, -1, h.scratch_bytes, arena_len);
    m->blob = blob;
    m->blob_len = h.total_length;
    m->arena = arena;
    m->arena_len = arena_len;
    m->ready = 1;
    return esnn_ok(diag);
}
