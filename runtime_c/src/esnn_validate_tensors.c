/* esnn_validate_tensors.c - tensor table rules (format.md section 3). */
#include "esnn_internal.h"

static esnn_status check_tensor(const esnn_tdesc *t, const esnn_hdr *h, int32_t i, esnn_diag *d)
{
    if (t->dtype != ESNN_DTYPE_U8 && t->dtype != ESNN_DTYPE_I32)
        return esnn_fail(d, ESNN_ERR_DTYPE, -1, i, ESNN_DTYPE_U8, t->dtype);
    if (t->rank != 1u && t->rank != 3u)
        return esnn_fail(d, ESNN_ERR_SHAPE, -1, i, 3, t->rank);
    if (t->reserved0 != 0u || t->reserved1 != 0u)
        return esnn_fail(d, ESNN_ERR_RESERVED, -1, i, 0, t->reserved0 | t->reserved1);
    if (t->dims[0] == 0u || t->dims[1] == 0u || t->dims[2] == 0u)
        return esnn_fail(d, ESNN_ERR_SHAPE, -1, i, 1, 0);
    if (t->rank == 1u && (t->dims[1] != 1u || t->dims[2] != 1u))
        return esnn_fail(d, ESNN_ERR_SHAPE, -1, i, 1, t->dims[1] != 1u ? t->dims[1] : t->dims[2]);
    if (t->numel > ESNN_MAX_NUMEL)
        return esnn_fail(d, ESNN_ERR_LIMITS, -1, i, ESNN_MAX_NUMEL, t->numel);
    if (t->arena_offset % ESNN_ARENA_ALIGN)
        return esnn_fail(d, ESNN_ERR_ALIGN, -1, i, ESNN_ARENA_ALIGN, t->arena_offset);
    if ((uint64_t)t->arena_offset + t->bytes > h->scratch_bytes)
        return esnn_fail(d, ESNN_ERR_BOUNDS, -1, i, h->scratch_bytes,
                         esnn_sat32((uint64_t)t->arena_offset + t->bytes));
    return ESNN_OK;
}

esnn_status esnn_validate_tensors(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    esnn_tdesc t;
    uint32_t i;
    esnn_status s;
    for (i = 0; i < h->num_tensors; i++) {
        esnn_read_tensor(blob, h, i, &t);
        s = check_tensor(&t, h, (int32_t)i, d);
        if (s != ESNN_OK)
            return s;
    }
    /* the network input is quantised bytes q (section 5) */
    esnn_read_tensor(blob, h, h->input_tensor, &t);
    if (t.dtype != ESNN_DTYPE_U8)
        return esnn_fail(d, ESNN_ERR_DTYPE, -1, h->input_tensor, ESNN_DTYPE_U8, t.dtype);
    return ESNN_OK;
}
