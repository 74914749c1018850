/* esnn_stream_reset.c - start a stream: check the blob and the arena, then zero the
 * streaming arena (every layer's state, the running outputs, the step counter). */
#include "esnn_internal.h"

esnn_status esnn_stream_reset(esnn_model *m, esnn_diag *diag)
{
#if ESNN_STREAM
    esnn_hdr h;
    uint64_t need, tot;
    esnn_status s;
    if (!m)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    if (!m->ready || !m->blob || !m->arena)
        return esnn_fail(diag, ESNN_ERR_STATE, -1, -1, 1, 0);
    esnn_read_header(m->blob, &h);
    s = esnn_stream_plan(m->blob, &h, &need, &tot, diag);
    if (s != ESNN_OK)
        return s;
    if (need > m->arena_len)
        return esnn_fail(diag, ESNN_ERR_ARENA_TOO_SMALL, -1, -1, esnn_sat32(need), m->arena_len);
    memset(m->arena, 0, (size_t)need);
    m->last_steps = 0;  /* esnn_output reads invokes only */
    m->last_mode = (uint8_t)ESNN_MODE_STREAM;
    return esnn_ok(diag);
#else
    (void)m;
    return esnn_fail(diag, ESNN_ERR_MODE, -1, -1, ESNN_MODE_TSTEP, ESNN_MODE_STREAM);
#endif
}
