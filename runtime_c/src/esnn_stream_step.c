/* esnn_stream_step.c - one frame of a stream (format.md 5, "Streaming"): the frame into
 * the input tensor, then every layer runs one causal step on the one-step plan (the
 * kernels' T = 1 arithmetic at row 0, as in esnn_run_causal.c) with its persistent
 * state at its place in the stream layout (esnn_stream_plan.c), then a U8 output's
 * values are added to the running totals. Every check comes before the first write. */
#include "esnn_internal.h"

esnn_status esnn_stream_step(esnn_model *m, const uint8_t *frame, uint32_t frame_len,
                             esnn_diag *diag)
{
#if ESNN_STREAM
    esnn_hdr h;
    esnn_ldesc l;
    esnn_tdesc t;
    esnn_run r;
    uint64_t need, tot;
    uint8_t *state, *y;
    uint32_t i, steps;
    esnn_status s;
    if (!m || !frame)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    if (!m->ready || !m->blob || !m->arena || m->last_mode != ESNN_MODE_STREAM)
        return esnn_fail(diag, ESNN_ERR_STATE, -1, -1, ESNN_MODE_STREAM, m->last_mode);
    esnn_read_header(m->blob, &h);
    s = esnn_stream_plan(m->blob, &h, &need, &tot, diag);  /* the checks of esnn_stream_reset */
    if (s != ESNN_OK)
        return s;
    if (need > m->arena_len)
        return esnn_fail(diag, ESNN_ERR_ARENA_TOO_SMALL, -1, -1, esnn_sat32(need), m->arena_len);
    esnn_read_tensor(m->blob, &h, h.input_tensor, &t);
    if (frame_len != t.numel)
        return esnn_fail(diag, ESNN_ERR_INPUT_SIZE, -1, h.input_tensor, t.numel, frame_len);
    memset(&r, 0, sizeof r);
    r.blob = m->blob;
    r.blob_len = m->blob_len;
    r.arena = m->arena;
    r.T = 1u;       /* one step: the kernels compute i_t = b + W.x_t */
    r.scale = 1u;   /* the one-step plan */
    r.causal = 1u;
    r.stream = 1u;
    memcpy(esnn_tensor_ptr(&r, &t), frame, frame_len);
    state = m->arena + h.scratch_bytes + ESNN_STREAM_HDR_BYTES;
    for (i = 0; i < h.num_layers; i++) {
        esnn_read_layer(m->blob, &h, i, &l);
        esnn_read_tensor(m->blob, &h, l.out, &t);
        r.mem = state;
        esnn_run_layer(&r, &h, i);
        if (l.op != ESNN_OP_SUMPOOL2D)
            state += 4u * t.numel;
    }
    esnn_read_tensor(m->blob, &h, h.output_tensor, &t);
    if (t.dtype == ESNN_DTYPE_U8) {  /* running totals of the output's per-step values */
        y = esnn_tensor_ptr(&r, &t);
        for (i = 0; i < t.numel; i++)
            esnn_st_i32(state + 4u * i, esnn_sat_add32(esnn_ld_i32(state + 4u * i), y[i]));
    }
    y = m->arena + h.scratch_bytes;  /* the step counter */
    steps = esnn_rd_u32(y);
    if (steps != 0xFFFFFFFFu)
        esnn_wr_u32(y, steps + 1u);
    return esnn_ok(diag);
#else
    (void)m;
    (void)frame;
    (void)frame_len;
    return esnn_fail(diag, ESNN_ERR_MODE, -1, -1, ESNN_MODE_TSTEP, ESNN_MODE_STREAM);
#endif
}
