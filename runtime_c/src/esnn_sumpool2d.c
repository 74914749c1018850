/* esnn_sumpool2d.c - sum pooling without padding: the window sum of the input's
 * values, per step in T-step mode, of the totals in one-step mode (the same thing
 * summed over steps). esnn_plan checked that no sum can exceed 255. */
#include "esnn_internal.h"

/* y[c][oy][ox] = sum of the kh x kw window of x[c] at (oy*sh, ox*sw), for every channel
 * of one step. Geometry lives in locals: the U8 stores may alias anything, so fields
 * read through pointers would be reloaded after every store. The 2x2 window (the usual
 * pooling after a conv) is unrolled; it is most of a pool's cost otherwise. */
static void pool_planes(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                        const uint8_t *x, uint8_t *y)
{
    const uint32_t h = in->dims[1], w = in->dims[2], ch = out->dims[0];
    const uint32_t ho = out->dims[1], wo = out->dims[2];
    const uint32_t kh = l->kh, kw = l->kw, sh = l->sh, sw = l->sw;
    uint32_t c, oy, ox, ky, kx;
    for (c = 0; c < ch; c++, x += h * w) {
        for (oy = 0; oy < ho; oy++, y += wo) {
            const uint8_t *r0 = x + oy * sh * w;
            if (kh == 2u && kw == 2u) {
                const uint8_t *r1 = r0 + w;
                for (ox = 0; ox < wo; ox++, r0 += sw, r1 += sw)
                    y[ox] = (uint8_t)(r0[0] + r0[1] + r1[0] + r1[1]);
                continue;
            }
            for (ox = 0; ox < wo; ox++, r0 += sw) {
                const uint8_t *xw = r0;
                uint32_t sum = 0;
                for (ky = 0; ky < kh; ky++, xw += w)
                    for (kx = 0; kx < kw; kx++)
                        sum += xw[kx];
                y[ox] = (uint8_t)sum;
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
