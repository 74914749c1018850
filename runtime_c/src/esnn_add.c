/* esnn_add.c - elementwise ADD with per-channel int16 multipliers:
 * i_t = m0*A_t + m1*B_t. A U8 input has a value per step; an I32 input is a current
 * of which only the total exists (its multiplier is 1 by validation), so it enters
 * the total once. */
#include "esnn_internal.h"

typedef struct {
    const uint8_t *p;
    uint8_t i32;
} esnn_src;

/* Total contribution m * (sum over steps) of one input element. */
static int32_t term(const esnn_src *s, int32_t m, uint32_t idx, uint32_t rows, uint32_t numel)
{
    int32_t a = 0;
    uint32_t t;
    if (s->i32)
        return m * esnn_ld_i32(s->p + 4u * idx);
    for (t = 0; t < rows; t++)
        a += m * s->p[t * numel + idx];
    return a;
}

void esnn_add(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in0,
              const esnn_tdesc *in1, const esnn_tdesc *out)
{
    const uint8_t *mult = r->blob + l->off[ESNN_SEC_M];
    const uint32_t chans = out->dims[0], hw = out->numel / chans, numel = out->numel;
    const uint32_t rows = r->tstep ? r->T : 1u;  /* one-step: the totals are row 0 */
    esnn_src a, b;
    esnn_sink sink;
    uint32_t c, i, idx = 0;
    a.p = esnn_tensor_ptr(r, in0);
    a.i32 = (uint8_t)(in0->dtype == ESNN_DTYPE_I32);
    b.p = esnn_tensor_ptr(r, in1);
    b.i32 = (uint8_t)(in1->dtype == ESNN_DTYPE_I32);
    esnn_sink_init(&sink, r, l, out);
    for (c = 0; c < chans; c++) {
        const int32_t m0 = esnn_rd_i16(mult + 2u * c);
        const int32_t m1 = esnn_rd_i16(mult + 2u * (chans + c));
        for (i = 0; i < hw; i++, idx++)
            esnn_neuron_store(&sink, idx, c,
                              term(&a, m0, idx, rows, numel) + term(&b, m1, idx, rows, numel));
    }
}
