/* esnn_invoke.c - one inference: per-call checks, input copy, the layers in order
 * (esnn_run_layer.c, or esnn_run_causal.c in causal mode), and in T-step mode the
 * in-place summing of a U8 output's spike trains. */
#include "esnn_internal.h"

/* T-step: fold the [t][numel] rows of a U8 output into row 0 so both modes leave
 * the totals at the start of the output region. Row 0 is only written at the
 * element being summed, after it was read. Totals fit: spikes sum to <= T <= 63,
 * pools are limited by esnn_plan to 255, and a COUPLE output already holds its totals
 * (mod 256) in row 0 and zeros after it. */
static void sum_rows(const esnn_run *r, const esnn_tdesc *out)
{
    uint8_t *y = esnn_tensor_ptr(r, out);
    uint32_t i, t, s;
    for (i = 0; i < out->numel; i++) {
        for (s = 0, t = 0; t < r->T; t++)
            s += y[t * out->numel + i];
        y[i] = (uint8_t)s;
    }
}

static esnn_status check_call(const esnn_model *m, const esnn_hdr *h, uint32_t input_len,
                              esnn_mode mode, uint32_t steps, uint32_t *T, esnn_diag *d)
{
    esnn_tdesc in;
    uint64_t need;
    esnn_status s = esnn_plan(m->blob, h, mode, steps, T, &need, d);
    if (s != ESNN_OK)
        return s;
    if (need > m->arena_len)
        return esnn_fail(d, ESNN_ERR_ARENA_TOO_SMALL, -1, -1, esnn_sat32(need), m->arena_len);
    esnn_read_tensor(m->blob, h, h->input_tensor, &in);
    if (mode == ESNN_MODE_TSTEP && (h->flags & ESNN_HDR_SEQUENCE))
        in.numel *= *T;  /* T frames, step-major; T * numel < 2^22 */
    if (input_len != in.numel)
        return esnn_fail(d, ESNN_ERR_INPUT_SIZE, -1, h->input_tensor, in.numel, input_len);
    return ESNN_OK;
}

esnn_status esnn_invoke(esnn_model *m, const uint8_t *input, uint32_t input_len, esnn_mode mode,
                        uint32_t steps, esnn_diag *diag)
{
    esnn_hdr h;
    esnn_tdesc t;
    esnn_run r;
    esnn_status s;
    uint32_t i;
    if (!m || !input)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    if (!m->ready || !m->blob || !m->arena)
        return esnn_fail(diag, ESNN_ERR_STATE, -1, -1, 1, 0);
    m->last_steps = 0;  /* a failed call leaves no output that could be mistaken for valid */
    esnn_read_header(m->blob, &h);
    s = check_call(m, &h, input_len, mode, steps, &r.T, diag);
    if (s != ESNN_OK)
        return s;
    r.blob = m->blob;
    r.blob_len = m->blob_len;
    r.arena = m->arena;
    r.causal = (uint8_t)(mode == ESNN_MODE_TSTEP && (h.flags & ESNN_HDR_CAUSAL));
    r.tstep = (uint8_t)(mode == ESNN_MODE_TSTEP && !r.causal);
    r.scale = mode == ESNN_MODE_TSTEP ? r.T : 1u;
    r.row = 0;
    r.mem = NULL;
#if ESNN_STREAM
    r.stream = 0;
#endif
    if (r.causal) {
        esnn_run_causal(&r, &h, input);  /* kernels run one step at a time (T = 1) */
    } else {
        esnn_read_tensor(m->blob, &h, h.input_tensor, &t);
        memcpy(esnn_tensor_ptr(&r, &t), input, input_len);  /* q; the same at every step */
        for (i = 0; i < h.num_layers; i++)
            esnn_run_layer(&r, &h, i);
    }
    esnn_read_tensor(m->blob, &h, h.output_tensor, &t);
    if (mode == ESNN_MODE_TSTEP && t.dtype == ESNN_DTYPE_U8)
        sum_rows(&r, &t);
    m->last_steps = r.T;
    m->last_mode = (uint8_t)mode;
    return esnn_ok(diag);
}
