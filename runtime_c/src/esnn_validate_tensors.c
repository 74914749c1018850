/* esnn_validate_tensors.c - tensor table rules (format.md section 3). Like the header
 * rules (esnn_validate_header.c), one else-if chain records the first failure and a
 * single esnn_fail call reports it. */
#include "esnn_internal.h"

esnn_status esnn_validate_tensors(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    esnn_tdesc t;
    uint32_t i, e = 0, a = 0;
    esnn_status s = ESNN_OK;
    for (i = 0; i < h->num_tensors; i++) {
        esnn_read_tensor(blob, h, i, &t);
        if (t.dtype != ESNN_DTYPE_U8 && t.dtype != ESNN_DTYPE_I32) {
            s = ESNN_ERR_DTYPE;
            e = ESNN_DTYPE_U8;
            a = t.dtype;
        } else if (t.rank != 1u && t.rank != 3u) {
            s = ESNN_ERR_SHAPE;
            e = 3;
            a = t.rank;
        } else if (t.reserved0 != 0u || t.reserved1 != 0u) {
            s = ESNN_ERR_RESERVED;
            e = 0;
            a = (uint32_t)t.reserved0 | t.reserved1;
        } else if (t.dims[0] == 0u || t.dims[1] == 0u || t.dims[2] == 0u) {
            s = ESNN_ERR_SHAPE;
            e = 1;
            a = 0;
        } else if (t.rank == 1u && (t.dims[1] != 1u || t.dims[2] != 1u)) {
            s = ESNN_ERR_SHAPE;
            e = 1;
            a = t.dims[1] != 1u ? t.dims[1] : t.dims[2];
        } else if (t.numel > ESNN_MAX_NUMEL) {
            s = ESNN_ERR_LIMITS;
            e = ESNN_MAX_NUMEL;
            a = t.numel;
        } else if (t.arena_offset % ESNN_ARENA_ALIGN) {
            s = ESNN_ERR_ALIGN;
            e = ESNN_ARENA_ALIGN;
            a = t.arena_offset;
        } else if ((uint64_t)t.arena_offset + t.bytes > h->scratch_bytes) {
            s = ESNN_ERR_BOUNDS;
            e = h->scratch_bytes;
            a = esnn_sat32((uint64_t)t.arena_offset + t.bytes);
        }
        if (s != ESNN_OK)
            break;  /* reported with tensor i */
    }
    if (s == ESNN_OK) {
        /* the network input is quantised bytes q (section 5) */
        i = h->input_tensor;
        esnn_read_tensor(blob, h, i, &t);
        if (t.dtype != ESNN_DTYPE_U8) {
            s = ESNN_ERR_DTYPE;
            e = ESNN_DTYPE_U8;
            a = t.dtype;
        }
    }
    return s == ESNN_OK ? ESNN_OK : esnn_fail(d, s, -1, (int32_t)i, e, a);
}
