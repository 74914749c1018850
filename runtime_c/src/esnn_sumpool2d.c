/* esnn_sumpool2d.c - sum pooling without padding: the window sum of the input's
 * values, per step in T-step mode, of the totals in one-step mode (the same thing
 * summed over steps). esnn_plan checked that no sum can exceed 255. On Cortex-M4/M7
 * (DSP extension) the 2x2 stride-2 pool of even planes takes pool22 below (SIMD bytes). */
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

#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
/* Cortex-M4/M7 (DSP extension, little-endian): the 2x2, stride-2 pool of planes whose
 * rows pair up exactly, four input columns (two outputs) per step. UADD8 adds the two
 * rows bytewise, a second UADD8 adds neighbouring columns, UXTB16 keeps bytes 0 and 2,
 * and one ORR packs them into the two output bytes. Every add is modulo 256 per byte,
 * like the (uint8_t) cast of the C sum, so the bytes are the C kernel's exactly. The
 * rows of all channels are consecutive pairs: one flat loop over rows * w input bytes.
 * Returns 0 when the layer is not such a pool. */
#include <arm_acle.h>

static inline uint32_t p_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);  /* one LDR: Cortex-M4 loads unaligned words */
    return v;
}

/* PKHBT: (lo half of a, lo half of b) */
static inline uint32_t p_pklo(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static int pool22(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                  const uint8_t *x, uint8_t *y)
{
    const uint32_t w = in->dims[2], pairs = (uint32_t)out->dims[0] * out->dims[1];
    const uint8_t *r0, *end;
    if (l->kh != 2u || l->kw != 2u || l->sh != 2u || l->sw != 2u || (w & 3u) != 0u ||
        in->dims[1] != 2u * out->dims[1] || w != 2u * out->dims[2] || pairs == 0u || w == 0u)
        return 0;
    end = x + 2u * pairs * w;
    if (w == 4u) {  /* one word per row: a row pair is two words, two outputs */
        r0 = x;
        do {
            uint32_t s = __uadd8(p_ld32(r0), p_ld32(r0 + 4));
            s = __uxtb16(__uadd8(s, s >> 8));
            s |= s >> 8;
            memcpy(y, &s, 2);  /* one STRH: bytes 0 and 1 */
            y += 2;
            r0 += 8;
        } while (r0 != end);
        return 1;
    }
    if (w == 8u) {  /* two words per row: a row pair is four words, four outputs */
        r0 = x;
        do {
            uint32_t s = __uadd8(p_ld32(r0), p_ld32(r0 + 8));
            uint32_t t = __uadd8(p_ld32(r0 + 4), p_ld32(r0 + 12));
            s = __uxtb16(__uadd8(s, s >> 8));
            t = __uxtb16(__uadd8(t, t >> 8));
            s = p_pklo(s | s >> 8, t | t >> 8);
            memcpy(y, &s, 4);  /* one STR: unaligned stores are fine */
            y += 4;
            r0 += 16;
        } while (r0 != end);
        return 1;
    }
    for (r0 = x; r0 != end; r0 += w) {
        const uint8_t *const re = r0 + w;
        do {
            uint32_t s = __uadd8(p_ld32(r0), p_ld32(r0 + w));
            s = __uxtb16(__uadd8(s, s >> 8));
            s |= s >> 8;
            memcpy(y, &s, 2);
            y += 2;
            r0 += 4;
        } while (r0 != re);
    }
    return 1;
}
#endif

void esnn_sumpool2d(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                    const esnn_tdesc *out)
{
    const uint8_t *x = esnn_tensor_ptr(r, in);
    uint8_t *y = esnn_tensor_ptr(r, out);
    uint32_t t, rows = r->tstep ? r->T : 1u;
    for (t = 0; t < rows; t++) {
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
        if (pool22(l, in, out, x + t * in->numel, y + t * out->numel))
            continue;
#endif
        pool_planes(l, in, out, x + t * in->numel, y + t * out->numel);
    }
}
