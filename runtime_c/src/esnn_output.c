/* esnn_output.c - read-only access to the totals of the last invoke. */
#include "esnn_internal.h"

esnn_status esnn_output(const esnn_model *m, esnn_tensor *out)
{
    esnn_hdr h;
    esnn_tdesc t;
    uint32_t i;
    if (!m || !out)
        return ESNN_ERR_NULL;
    if (!m->ready || m->last_steps == 0u)
        return ESNN_ERR_STATE;
    esnn_read_header(m->blob, &h);
    esnn_read_tensor(m->blob, &h, h.output_tensor, &t);
    /* the totals are row 0 of the output: where esnn_tensor_ptr puts row 0 of the plan
     * of the last call (T-scaled in T-step mode) */
    out->data = m->arena +
                (m->last_mode == ESNN_MODE_TSTEP ? m->last_steps : 1u) * t.arena_offset;
    out->dtype = t.dtype;
    out->rank = t.rank;
    for (i = 0; i < 3u; i++)
        out->dims[i] = t.dims[i];
    out->numel = t.numel;
    return ESNN_OK;
}

esnn_status esnn_output_argmax(const esnn_model *m, uint32_t *index)
{
    esnn_tensor t;
    const uint8_t *p;
    uint32_t i, best = 0;
    esnn_status s;
    if (!index)
        return ESNN_ERR_NULL;
    s = esnn_output(m, &t);
    if (s != ESNN_OK)
        return s;
    p = (const uint8_t *)t.data;
    for (i = 1; i < t.numel; i++) {  /* strict > keeps the lowest index on ties */
        if (t.dtype == ESNN_DTYPE_I32 ? esnn_ld_i32(p + 4u * i) > esnn_ld_i32(p + 4u * best)
                                      : p[i] > p[best])
            best = i;
    }
    *index = best;
    return ESNN_OK;
}
