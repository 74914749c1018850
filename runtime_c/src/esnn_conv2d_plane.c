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
 * input that changes over steps, so the caller can use the generic kernel.
 *
 * On Cortex-M4/M7 (DSP extension) one-step IF layers with K <= 10 taps take the
 * taps-in-registers kernel instead (plane_reg below: one channel's weights in five
 * registers, an im2col stream of positions, the IF count fused into the loop). */
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

#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
/* ---- Cortex-M4/M7 (DSP extension, little-endian): taps in registers, one-step IF
 * layers ----
 *
 * For K <= 10 taps per output, one channel's weights fit in five registers as int16
 * pairs (scaled by T for the network input, so that a = T*b + sum exactly), and each
 * output is a stream: the im2col patch of its position (five int16 pairs, built once
 * for up to ESNN_R_CH channels), five SMLADs accumulating onto T*b, and the IF count
 * clamp(a >> k, 0, T) (ASR, USAT, UQSUB8) stored at once: 14.5 instructions per output
 * in reg_asm. Sums are exact (see the SMLAD note above; |T*w| <= 255*128 fits int16). */
#define ESNN_R_BUF 160u  /* padded input band, int16: 320 B of stack */
#define ESNN_R_POS 64u   /* im2col positions per pass, five words each: 1280 B */

/* out[p] = clamp((wk[5] + sum over i < 5 of SMLAD(col[5p + i], wk[i])) >> wk[6], 0,
 * wk[7]) for out + p < end, end > out (AAPCS: r0 = col, r1 = out, r2 = end, r3 = wk).
 * Hand-written: the loop keeps all 14 registers busy. Two outputs per pass; an odd count
 * enters halfway. */
__attribute__((naked, noinline)) static void reg_asm(const uint32_t *col, uint8_t *out,
                                                    const uint8_t *end, const uint32_t *wk)
{
#define ESNN_REG_ONE                    \
    "ldrd r3, r12, [r0], #8\n\t"        \
    "smlad lr, r3, r4, r9\n\t"          \
    "smlad lr, r12, r5, lr\n\t"         \
    "ldrd r3, r12, [r0], #8\n\t"        \
    "smlad lr, r3, r6, lr\n\t"          \
    "smlad lr, r12, r7, lr\n\t"         \
    "ldr r3, [r0], #4\n\t"              \
    "smlad lr, r3, r8, lr\n\t"          \
    "asr lr, lr, r10\n\t"               \
    "usat lr, #8, lr\n\t"               \
    "uqsub8 r3, lr, r11\n\t"            \
    "sub lr, lr, r3\n\t"                \
    "strb lr, [r1], #1\n\t"
    __asm__(
        "push {r4-r11, lr}\n\t"
        "ldmia r3, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
        "sub r3, r2, r1\n\t"
        "tst r3, #1\n\t"
        "bne 2f\n\t"
        "1:\n\t" ESNN_REG_ONE
        "2:\n\t" ESNN_REG_ONE
        "cmp r1, r2\n\t"
        "bne 1b\n\t"
        "pop {r4-r11, pc}\n\t");
#undef ESNN_REG_ONE
    (void)col;
    (void)out;
    (void)end;
    (void)wk;
}

/* The 3x3 one-channel patches of n >= 1 positions: b points at the window's top-left
 * band entry, positions sw entries apart, rows pw entries apart. Five words per patch,
 * taps in the order (0,0)(0,1) (1,0)(1,1) (2,0)(2,1) (0,2)(1,2) (2,2)(-): three
 * unaligned row loads, three halfword loads, one PKHBT, one STM (AAPCS: r0 = d, r1 = b,
 * r2 = n, r3 = geometry {pw * 2, sw * 2}). */
__attribute__((naked, noinline)) static void reg_col33(uint32_t *d, const int16_t *b, uint32_t n,
                                                      const uint32_t *pwsw)
{
    __asm__(
        "push {r4-r9, lr}\n\t"
        "ldmia r3, {r8, r9}\n\t"         /* row and position strides, bytes */
        "1:\n\t"
        "ldr r3, [r1]\n\t"               /* (0,0)(0,1) */
        "add r12, r1, r8\n\t"
        "ldr r4, [r12]\n\t"              /* (1,0)(1,1) */
        "ldrh r7, [r12, #4]\n\t"         /* (1,2) */
        "add r12, r12, r8\n\t"
        "ldr r5, [r12]\n\t"              /* (2,0)(2,1) */
        "ldrh r6, [r1, #4]\n\t"          /* (0,2) */
        "pkhbt r6, r6, r7, lsl #16\n\t"
        "ldrh r7, [r12, #4]\n\t"         /* (2,2) */
        "stmia r0!, {r3, r4, r5, r6, r7}\n\t"
        "add r1, r1, r9\n\t"
        "subs r2, r2, #1\n\t"
        "bne 1b\n\t"
        "pop {r4-r9, pc}\n\t");
    (void)d;
    (void)b;
    (void)n;
    (void)pwsw;
}

static inline uint32_t r_ld32(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);  /* one LDR: Cortex-M4 loads unaligned words */
    return v;
}

static inline uint32_t r_ld32u8(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t r_pair(int32_t lo, int32_t hi)
{
    return (uint32_t)(uint16_t)lo | (uint32_t)hi << 16;
}

/* Geometry of the taps-in-registers kernel. */
typedef struct {
    uint32_t pw, sh, sw, wo, k;      /* padded row pitch, strides, output row, taps */
    uint32_t one33;                  /* 1 for a 3x3 kernel on one input channel */
    uint32_t off[10];                /* band offset of each tap (0 past k: zero weights) */
} esnn_reg_geo;

/* The im2col patches of output rows [y, y + ny) of the band at xb: five int16 pairs per
 * position, taps in weight order (reg_weights). */
__attribute__((noinline)) static void reg_im2col(uint32_t *d, const int16_t *xb,
                                                 const esnn_reg_geo *g, uint32_t ny)
{
    const uint32_t sw = g->sw, row = g->sh * g->pw, wo = g->wo;
    const int16_t *const yend = xb + ny * row;
    uint32_t i;
    do {
        const int16_t *b = xb, *const bend = xb + wo * sw;
        if (g->one33) {  /* 3x3, one channel */
            const uint32_t st[2] = {2u * g->pw, 2u * sw};
            reg_col33(d, b, wo, st);
            d += 5u * wo;
        } else {
            do {
                for (i = 0; i < 5u; i++)
                    d[i] = r_pair(b[g->off[2u * i]], b[g->off[2u * i + 1u]]);
                d += 5;
                b += sw;
            } while (b != bend);
        }
        xb += row;
    } while (xb != yend);
}

/* wk[0..4] = the k <= 10 weights at wc times mt, as int16 pairs (zeros past k), in the
 * tap order of reg_im2col (for 3x3 one-channel kernels that of reg_col33). */
__attribute__((noinline)) static void reg_weights(uint32_t *wk, const int8_t *wc, uint32_t k,
                                                  uint32_t one33, int32_t mt)
{
    uint32_t *const end = wk + 5;
    const int8_t *const we = wc + (k & ~1u);
    if (one33) {
        wk[0] = r_pair(mt * wc[0], mt * wc[1]);
        wk[1] = r_pair(mt * wc[3], mt * wc[4]);
        wk[2] = r_pair(mt * wc[6], mt * wc[7]);
        wk[3] = r_pair(mt * wc[2], mt * wc[5]);
        wk[4] = r_pair(mt * wc[8], 0);
        return;
    }
    for (; wc != we; wc += 2)
        *wk++ = r_pair(mt * wc[0], mt * wc[1]);
    if (k & 1u)
        *wk++ = r_pair(mt * wc[0], 0);
    while (wk != end)
        *wk++ = 0;
}

/* PKHBT / PKHTB: (lo halves of a, b), (hi halves of a, b) */
static inline uint32_t r_pklo(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t r_pkhi(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* The band's padded rows from padded row py0, bp entries per channel plane: zeros
 * outside the input. */
__attribute__((noinline)) static void reg_fill(int16_t *xb, const uint8_t *x,
                                               const esnn_tdesc *in, const esnn_ldesc *l,
                                               uint32_t bp, uint32_t py0)
{
    const uint32_t cin = in->dims[0], h = in->dims[1], wi = in->dims[2];
    const uint32_t pl = l->pl, pw = wi + pl + l->pr, pt = l->pt;
    uint32_t ci, y, i;
    memset(xb, 0, cin * bp * sizeof *xb);
    for (ci = 0; ci < cin; ci++) {
        for (y = 0; y * pw < bp; y++) {
            const uint32_t iy = py0 + y;  /* padded row; input row iy - pt */
            const uint8_t *src;
            int16_t *dst;
            if (iy < pt || iy - pt >= h)
                continue;
            src = x + (ci * h + iy - pt) * wi;
            dst = xb + ci * bp + y * pw + pl;
            for (i = 0; i + 4u <= wi; i += 4u, dst += 4) {  /* four bytes, two int16 pairs */
                const uint32_t v = r_ld32u8(src + i), lo = __uxtb16(v), hi = __uxtb16(v >> 8);
                const uint32_t a = r_pklo(lo, hi), c = r_pkhi(lo, hi);
                memcpy(dst, &a, sizeof a);  /* STR: unaligned stores are fine */
                memcpy(dst + 2, &c, sizeof c);
            }
            for (; i < wi; i++)
                *dst++ = src[i];
        }
    }
}

#define ESNN_R_CH 8u  /* channels prepared per im2col pass (weights, T*b, k, T): 256 B */

/* 1 when done; 0 (nothing done) unless one-step IF with K <= 10 taps whose output rows
 * fit ESNN_R_POS positions and a band of kh padded input rows fits ESNN_R_BUF. */
static int plane_reg(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                     const esnn_tdesc *out, int analog)
{
    uint32_t col[ESNN_R_POS * 5u], wk[ESNN_R_CH][8];
    int16_t xb[ESNN_R_BUF];
    esnn_sink sink;
    esnn_reg_geo g;
    const uint8_t *x, *bias = r->blob + l->off[ESNN_SEC_B];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint32_t cin = in->dims[0], wi = in->dims[2];
    const uint32_t kh = l->kh, kw = l->kw;
    const uint32_t pw = wi + l->pl + l->pr, k = cin * kh * kw, co = out->dims[0];
    const uint32_t ho = out->dims[1], wo = out->dims[2], hw = ho * wo, T = r->T;
    const int32_t mt = analog ? (int32_t)T : 1;
    uint32_t rows, nr, rc, c0, nc, oy0, oy1, bp, ci, ky, kx, j, c, oy, n;
    int32_t b;
    esnn_sink_init(&sink, r, l, out);
    if (!sink.fast || k > 10u || k == 0u || T > 255u || wo == 0u ||
        wo > ESNN_R_POS || cin * pw * kh > ESNN_R_BUF)
        return 0;
    g.pw = pw;
    g.sh = l->sh;
    g.sw = l->sw;
    g.wo = wo;
    g.k = k;
    g.one33 = cin == 1u && kh == 3u && kw == 3u;
    rows = ESNN_R_BUF / (cin * pw);  /* padded rows per band, >= kh */
    nr = (rows - kh) / g.sh + 1u;    /* output rows per band */
    rc = ESNN_R_POS / wo;            /* output rows per im2col pass */
    x = esnn_tensor_ptr(r, in);
    for (c0 = 0; c0 < co; c0 += nc) {
        nc = co - c0 < ESNN_R_CH ? co - c0 : ESNN_R_CH;
        for (c = 0; c < nc; c++) {  /* weights (times T for the network input), T*b, k, T */
            reg_weights(wk[c], w + (c0 + c) * k, k, g.one33, mt);
            memcpy(&b, bias + 4u * (c0 + c), sizeof b);  /* little-endian int32 */
            wk[c][5] = (uint32_t)((int32_t)T * b);
            wk[c][6] = sink.shift[c0 + c];
            wk[c][7] = T;
        }
        for (oy0 = 0; oy0 < ho; oy0 = oy1) {
            const uint32_t py0 = oy0 * g.sh;  /* first padded row of the band */
            oy1 = ho - oy0 < nr ? ho : oy0 + nr;
            bp = ((oy1 - 1u - oy0) * g.sh + kh) * pw;  /* band plane */
            reg_fill(xb, x, in, l, bp, py0);
            for (ci = 0, j = 0; ci < cin; ci++)
                for (ky = 0; ky < kh; ky++)
                    for (kx = 0; kx < kw; kx++)
                        g.off[j++] = ci * bp + ky * pw + kx;
            for (; j < 10u; j++)
                g.off[j] = 0;  /* a finite value times a zero weight */
            for (oy = oy0; oy < oy1; oy += rc) {
                const uint32_t ny = oy1 - oy < rc ? oy1 - oy : rc;
                n = ny * wo;
                reg_im2col(col, xb + (oy - oy0) * g.sh * pw, &g, ny);
                for (c = 0; c < nc; c++) {
                    uint8_t *o = sink.out + (c0 + c) * hw + oy * wo;
                    reg_asm(col, o, o + n, wk[c]);
                }
            }
        }
    }
    return 1;
}
#endif

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
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
    if (plane_reg(r, l, in, out, analog))
        return 1;
#endif
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
