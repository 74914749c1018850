/* esnn_stream_output.c - the running outputs of a stream (esnn_stream_plan.c layout):
 * an I32 output's current value (the output tensor of the one-step plan, which its
 * layer rewrites every step) or a U8 output's running totals (after the state). */
#include "esnn_internal.h"

esnn_status esnn_stream_output(const esnn_model *m, esnn_tensor *out, uint32_t *steps)
{
#if ESNN_STREAM
    esnn_hdr h;
    esnn_tdesc t;
    uint64_t need, tot;
    uint32_t i;
    if (!m || !out)
        return ESNN_ERR_NULL;
    if (!m->ready || !m->blob || !m->arena || m->last_mode != ESNN_MODE_STREAM)
        return ESNN_ERR_STATE;
    esnn_read_header(m->blob, &h);
    if (esnn_stream_plan(m->blob, &h, &need, &tot, NULL) != ESNN_OK)
        return ESNN_ERR_STATE;  /* not reached: the reset checked the same */
    esnn_read_tensor(m->blob, &h, h.output_tensor, &t);
    out->data = m->arena + (t.dtype == ESNN_DTYPE_U8 ? (uint32_t)tot : t.arena_offset);
    out->dtype = ESNN_DTYPE_I32;
    out->rank = t.rank;
    for (i = 0; i < 3u; i++)
        out->dims[i] = t.dims[i];
    out->numel = t.numel;
    if (steps)
        *steps = esnn_rd_u32(m->arena + h.scratch_bytes);
    return ESNN_OK;
#else
    (void)m;
    (void)out;
    (void)steps;
    return ESNN_ERR_MODE;
#endif
}
