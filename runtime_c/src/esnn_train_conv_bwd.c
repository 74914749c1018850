/* esnn_train_conv_bwd.c - gradients of a convolution (CHW, zero padding, any stride):
 * d W[c][ci][ky][kx] += mult * sum over outputs of da[c][oy][ox] * x[ci][iy][ix] and
 * d x[ci][iy][ix] = sum over the outputs and taps that read it of W * da, with
 * iy = oy*sh - pt + ky, ix = ox*sw - pl + kx. Plain loops: the backward pass runs once
 * per sample, not per step, and clarity matters more than speed here. */
#include "esnn_train_internal.h"

void esnn_tr_conv_bwd(const esnn_ldesc *l, const int8_t *w, const esnn_tdesc *in,
                      const esnn_tdesc *out, const float *da, const uint8_t *x, float mult,
                      float *gw, float *dx, int acc)
{
    const uint32_t cin = in->dims[0], h = in->dims[1], wd = in->dims[2];
    const uint32_t cout = out->dims[0], ho = out->dims[1], wo = out->dims[2];
    const uint32_t kh = l->kh, kw = l->kw;
    uint32_t c, ci, ky, kx, oy, ox;
    if (dx && !acc)
        memset(dx, 0, 4u * in->numel);
    for (c = 0; c < cout; c++)
        for (ci = 0; ci < cin; ci++)
            for (ky = 0; ky < kh; ky++)
                for (kx = 0; kx < kw; kx++) {
                    const uint32_t wi = ((c * cin + ci) * kh + ky) * kw + kx;
                    const float wv = (float)w[wi];
                    float g = 0.0f;
                    for (oy = 0; oy < ho; oy++) {
                        const int32_t iy = (int32_t)(oy * l->sh + ky) - (int32_t)l->pt;
                        if (iy < 0 || iy >= (int32_t)h)
                            continue;
                        for (ox = 0; ox < wo; ox++) {
                            const int32_t ix = (int32_t)(ox * l->sw + kx) - (int32_t)l->pl;
                            const float d = da[(c * ho + oy) * wo + ox];
                            uint32_t xi;
                            if (ix < 0 || ix >= (int32_t)wd)
                                continue;
                            xi = (ci * h + (uint32_t)iy) * wd + (uint32_t)ix;
                            g += d * (float)x[xi];
                            if (dx)
                                dx[xi] += wv * d;
                        }
                    }
                    if (gw)
                        gw[wi] += g * mult;
                }
}
