/* esnn_sumpool2d.c - sum pooling without padding: the window sum of the input's
 * values, per step in T-step mode, of the totals in one-step mode (the same thing
 * summed over steps). esnn_plan checked that no sum can exceed 255. */
#include "esnn_internal.h"

/* One (C, H, W) plane set: y[c][oy][ox] = sum of the kh x kw window of x[c]. */
static void pool_planes(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                        const uint8_t *x, uint8_t *y)
{
    const uint32_t h = in->dims[1], w = in->dims[2];
    const uint32_t ho = out->dims[1], wo = out->dims[2];
    uint32_t c, oy, ox, ky, kx;
    for (c = 0; c < out->dims[0]; c++, x += h * w) {
        for (oy = 0; oy < ho; oy++) {
            for (ox = 0; ox < wo; ox++) {
                const uint8_t *xw = x + oy * l->sh * w + ox * l->sw;
                uint32_t s = 0;
                for (ky = 0; ky < l->kh; ky++, xw += w)
                    for (kx = 0; kx < l->kw; kx++)
                        s += xw[kx];
                *y++ = (uint8_t)s;
            }
        }
    }
}

void esnn_sumpool2d(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                    const esnn_tdesc *out)
{
    const uint8_t *x = esnn_tensor_ptr(r, in);
    uint8_t *y = esnn_tensor_ptr(r, out);
    uint32_t t, rows = r->tstep ? r->T : 1u;
    for (t = 0; t < rows; t++)
        pool_planes(l, in, out, x + t * in->numel, y + t * out->numel);
}
