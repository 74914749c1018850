/* esnn_conv2d_plane.c - stride-1 CONV2D with few taps per output (first layers: K =
 * Cin*kh*kw < 16), over zero-padded bands of input rows.
 *
 * Why: with few taps and many output positions, any per-output work (a dot product's
 * reduction, a call) costs as much as the MACs. Here a band of input rows is copied
 * once into a zero-padded int16 buffer with row pitch PW = W + pl + pr. In that layout
 * the input of tap (ci, ky, kx) for output (oy, ox) sits at ci*BP + (oy + ky)*PW + ox + kx,
 * so for "pitched" output positions i = oy*PW + ox every tap reads ONE contiguous run at
 * a fixed offset: outputs are computed 16 consecutive positions at a time, summing
 * weight * run over the taps in registers, with no bounds tests, in a loop compilers
 * vectorise. The PW - Wo positions per row that fall in the padding columns (and those
 * past the band) are computed and discarded. Returns 0 when the layer does not fit
 * (stride != 1, too many taps, a band of one row too big), or in T-step mode for an
 * input that changes over steps, so the caller can use the generic kernel. */
#include "esnn_internal.h"

#define ESNN_PLANE_BUF 128u    /* padded band, int16: 256 B of stack */
#define ESNN_PLANE_LANES 80u   /* pitched positions per band (a multiple of 16): 320 B */
#define ESNN_PLANE_TAPS 15u    /* K < 16: beyond, the patch kernel wins */
#if defined(__ARM_FEATURE_DSP)
#define ESNN_PLANE_PAD 1u      /* zeroed entries past the tail, for lone taps (run16) */
#else
#define ESNN_PLANE_PAD 0u
#endif

typedef struct {
    uint32_t cin, h, w, pt, pl, kh, kw, pw;  /* pw: padded row pitch */
    uint32_t co, wo, hw;                     /* output channels, row length, plane size */
    uint32_t k;                              /* taps */
    uint32_t oy0, nr, bp;                    /* band: output rows [oy0, oy0+nr), plane bp */
    uint32_t lanes;                          /* nr * pw rounded up to 16 */
    uint32_t off[ESNN_PLANE_TAPS];           /* run offset of each tap */
} esnn_plane_geo;

/* The band's padded input rows, every channel: zeros outside the input and after the
 * last plane (the discarded positions of the last 16-position run read up to kw + 13
 * entries past it). */
static void fill_band(int16_t *xp, const uint8_t *x, const esnn_plane_geo *g)
{
    const uint32_t rows = g->nr + g->kh - 1u;
    uint32_t ci, r, ix;
    memset(xp, 0, (g->cin * g->bp + g->kw + 14u + ESNN_PLANE_PAD) * sizeof *xp);
    for (ci = 0; ci < g->cin; ci++) {
        for (r = 0; r < rows; r++) {
            const uint32_t pr = g->oy0 + r;  /* padded row; input row pr - pt */
            const uint8_t *src;
            int16_t *dst;
            if (pr < g->pt || pr - g->pt >= g->h)
                continue;
            src = x + (ci * g->h + pr - g->pt) * g->w;
            dst = xp + ci * g->bp + r * g->pw + g->pl;
            for (ix = 0; ix < g->w; ix++)
                dst[ix] = src[ix];
        }
    }
}

#if defined(__ARM_FEATURE_DSP)
/* Cortex-M4/M7 (DSP extension): taps that are neighbours in a row (offsets o, o + 1) go
 * in pairs, weights (w_j, w_j+1) as one int16x2 word, so one unaligned 32-bit load of
 * xp[o + i], xp[o + i + 1] and one SMLAD do both multiply-accumulates of output i; a tap
 * left alone pairs with a zero weight (its neighbour at o + 1 is read, times 0: the
 * band buffer has one more zeroed entry for it). Sums are int32 as in the C loop, and
 * exact: SMLAD never saturates, and every partial sum of int8 x (0..255) products is
 * bounded by the validated overflow rule like the full sum. */
#include <arm_acle.h>

typedef struct {
    uint32_t n;                      /* tap pairs */
    uint32_t wo[2u * ESNN_PLANE_TAPS]; /* per pair: weights (int16x2), run offset */
} esnn_plane_w;

static const esnn_plane_w *plane_w(const int8_t *wc, const esnn_plane_geo *g, esnn_plane_w *pw)
{
    uint32_t j = 0, n = 0;
    while (j < g->k) {
        const int pair = j + 1u < g->k && g->off[j + 1u] == g->off[j] + 1u;
        const uint32_t hi = pair ? (uint32_t)(uint16_t)wc[j + 1u] << 16 : 0u;
        pw->wo[2u * n] = (uint32_t)(uint16_t)wc[j] | hi;
        pw->wo[2u * n + 1u] = g->off[j];
        n++;
        j += pair ? 2u : 1u;
    }
    pw->n = n;
    return pw;
}

static inline uint32_t ld32(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);  /* one LDR: Cortex-M4 loads unaligned words */
    return v;
}

/* out[i] = sums over tap pairs of (w_j, w_j+1) . (xp[o + i], xp[o + i + 1]), i < 8 */
static void run8(int32_t *out, const int16_t *xp, const esnn_plane_w *pw)
{
    const uint32_t *q = pw->wo, *end = q + 2u * pw->n;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (; q != end; q += 2) {
        const int16x2_t w = (int16x2_t)q[0];
        const int16_t *x = xp + q[1];
        a0 = __smlad(w, (int16x2_t)ld32(x), a0);
        a1 = __smlad(w, (int16x2_t)ld32(x + 1), a1);
        a2 = __smlad(w, (int16x2_t)ld32(x + 2), a2);
        a3 = __smlad(w, (int16x2_t)ld32(x + 3), a3);
        a4 = __smlad(w, (int16x2_t)ld32(x + 4), a4);
        a5 = __smlad(w, (int16x2_t)ld32(x + 5), a5);
        a6 = __smlad(w, (int16x2_t)ld32(x + 6), a6);
        a7 = __smlad(w, (int16x2_t)ld32(x + 7), a7);
    }
    out[0] = a0;
    out[1] = a1;
    out[2] = a2;
    out[3] = a3;
    out[4] = a4;
    out[5] = a5;
    out[6] = a6;
    out[7] = a7;
}

/* lo[i], hi[i] = the sums of the 16 pitched positions from xp, as two 8-wide halves */
static inline void run16(int32_t *lo, int32_t *hi, const int16_t *xp, const esnn_plane_w *wc,
                         const esnn_plane_geo *g)
{
    (void)g;
    run8(lo, xp, wc);
    run8(hi, xp + 8, wc);
}
#else
typedef int8_t esnn_plane_w;  /* the weights as they are */

static const esnn_plane_w *plane_w(const int8_t *wc, const esnn_plane_geo *g, esnn_plane_w *pw)
{
    (void)g;
    (void)pw;
    return wc;
}

/* lo[i], hi[i] = sums over taps j of wc[j] * xp[off[j] + i], resp. + i + 8, i < 8: the 16
 * pitched positions from xp as two 8-wide halves. Written so (inlined; one 16-wide
 * array would live in memory), the compiler keeps all 16 sums in vector registers
 * across the taps. */
static inline void run16(int32_t *lo, int32_t *hi, const int16_t *xp, const int8_t *wc,
                         const esnn_plane_geo *g)
{
    uint32_t j, i;
    memset(lo, 0, 8u * sizeof *lo);
    memset(hi, 0, 8u * sizeof *hi);
    for (j = 0; j < g->k; j++) {
        const int32_t wv = wc[j];
        const int16_t *src = xp + g->off[j];
        for (i = 0; i < 8u; i++) {
            lo[i] += wv * src[i];
            hi[i] += wv * src[i + 8u];
        }
    }
}
#endif

/* acc[i] = the tap sums of the band's pitched positions i < lanes (one-step; the caller
 * scales them) or, in T-step mode, the sum over steps of b + those sums: the current of
 * every step is recomputed. */
static void band_sums(int32_t *acc, const int16_t *xp, const int8_t *w, const esnn_plane_geo *g,
                      uint32_t steps, int32_t b, int tstep)
{
    esnn_plane_w pw[1];
    const esnn_plane_w *wc = plane_w(w, g, pw);
    int32_t lo[8], hi[8];
    uint32_t i0, t, i;
    for (i0 = 0; i0 < g->lanes; i0 += 16u) {
        int32_t *a = acc + i0;
        if (!tstep) {
            run16(lo, hi, xp + i0, wc, g);
            memcpy(a, lo, sizeof lo);
            memcpy(a + 8, hi, sizeof hi);
            continue;
        }
        memset(a, 0, 16u * sizeof *a);
        for (t = 0; t < steps; t++) {
            run16(lo, hi, xp + i0, wc, g);
            for (i = 0; i < 8u; i++) {
                a[i] += b + lo[i];
                a[i + 8u] += b + hi[i];
            }
        }
    }
}

/* One band, every channel. One-step: a = T*b + m*sum with m = T for the network input
 * (a = T*(b + W.q)) else 1 (a = T*b + W.n). T-step (network input only, q at every
 * step): the current b + W.q of every step is computed and summed. */
static void band(const esnn_run *r, const esnn_ldesc *l, const esnn_plane_geo *g,
                 const int16_t *xp, const esnn_sink *sink, int analog)
{
    int32_t acc[ESNN_PLANE_LANES];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint32_t wo = g->wo;
    const int32_t T = (int32_t)r->T, m = analog ? T : 1;
    uint32_t c, oy, ox;
    for (c = 0; c < g->co; c++) {
        const int32_t b = esnn_rd_i32(bias + 4u * c), tb = T * b;
        const uint32_t base = c * g->hw + g->oy0 * wo;
        band_sums(acc, xp, w + c * g->k, g, r->T, b, r->tstep);
        for (oy = 0; oy < g->nr; oy++) {
            const int32_t *a = acc + oy * g->pw;
            if (sink->fast) {
                const uint32_t k = sink->shift[c];
                uint8_t *o = sink->out + base + oy * wo;
                for (ox = 0; ox < wo; ox++)
                    o[ox] = esnn_if_count(tb + m * a[ox], k, T);
            } else {
                for (ox = 0; ox < wo; ox++)
                    esnn_neuron_store(sink, base + oy * wo + ox, c,
                                      r->tstep ? a[ox] : tb + m * a[ox]);
            }
        }
    }
}

int esnn_conv2d_plane(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                      const esnn_tdesc *out, int analog)
{
    int16_t xp[ESNN_PLANE_BUF];
    esnn_plane_geo g;
    esnn_sink sink;
    const uint32_t ho = out->dims[1];
    uint32_t ci, ky, kx, rows_fit, j;
    g.cin = in->dims[0];
    g.h = in->dims[1];
    g.w = in->dims[2];
    g.pt = l->pt;
    g.pl = l->pl;
    g.kh = l->kh;
    g.kw = l->kw;
    g.pw = g.w + l->pl + l->pr;
    g.co = out->dims[0];
    g.wo = out->dims[2];
    g.hw = ho * g.wo;
    g.k = g.cin * g.kh * g.kw;
    if (l->sh != 1u || l->sw != 1u || g.k > ESNN_PLANE_TAPS || g.k == 0u ||
        (r->tstep && !analog))
        return 0;
    /* output rows per band: the band's planes with a kw + 14 tail, and its pitched
     * positions, must fit */
    rows_fit = (ESNN_PLANE_BUF - g.kw - 14u - ESNN_PLANE_PAD) /
               (g.cin * g.pw);  /* k >= 1: cin, pw >= 1 */
    if (rows_fit < g.kh || g.pw > ESNN_PLANE_LANES)
        return 0;
    g.nr = rows_fit - (g.kh - 1u);
    if (g.nr > ESNN_PLANE_LANES / g.pw)
        g.nr = ESNN_PLANE_LANES / g.pw;
    esnn_sink_init(&sink, r, l, out);
    for (g.oy0 = 0; g.oy0 < ho; g.oy0 += g.nr) {
        if (ho - g.oy0 < g.nr)
            g.nr = ho - g.oy0;
        g.bp = (g.nr + g.kh - 1u) * g.pw;
        g.lanes = (g.nr * g.pw + 15u) & ~15u;
        for (ci = 0, j = 0; ci < g.cin; ci++)
            for (ky = 0; ky < g.kh; ky++)
                for (kx = 0; kx < g.kw; kx++)
                    g.off[j++] = ci * g.bp + ky * g.pw + kx;
        fill_band(xp, esnn_tensor_ptr(r, in), &g);
        band(r, l, &g, xp, &sink, analog);
    }
    return 1;
}
