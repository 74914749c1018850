/* esnn_conv2d_patch.c - CONV2D as one dot product per output (im2col, one column at
 * a time), for layers whose outputs each see K = Cin*kh*kw >= 16 taps (any K in a build
 * without the plane kernel: ESNN_CONV_PLANE, esnn_config.h).
 *
 * Why: deep layers run on small maps with many channels, so each output has many taps
 * but rows are short; tap-major accumulation then spends its time on per-tap
 * bookkeeping. Here the inputs of one output position are gathered once into an int16
 * patch (zero padding materialised) and every output channel is a contiguous dot
 * product of its int8 weight row, read in place, with that patch (esnn_dot_rows.c:
 * vectorisable 16-blocks, four channels per patch load). A patch serves a group of
 * channels; when K exceeds the patch buffer it covers a run of input channels at a
 * time. Returns 0 when one input channel's window does not fit the buffer, so the
 * caller can use the generic kernel.
 *
 * On Cortex-M4/M7 (DSP extension) one-step IF layers take the channel-quad kernel
 * instead (patch_quad below: HWC int16 input, transposed int16 weights, four output
 * channels per pass in hand-written SMLAD loops, padding skipped); other modes and
 * geometries it declines take the path above. */
#include "esnn_internal.h"

#define ESNN_PATCH_MAX ESNN_DOT_MAX    /* patch entries: 192 B of stack */
#define ESNN_PATCH_GROUP 16u  /* channels per pass: sums and biases, 2 x 64 B of stack */
/* fewest taps per output taken here; fewer go to the plane kernel when there is one */
#define ESNN_PATCH_MIN_TAPS (ESNN_CONV_PLANE ? 16u : 1u)

typedef struct {
    const uint8_t *x;          /* input planes [Cin][H][W] (of the current step) */
    uint32_t cin, h, w, plane;
    uint32_t kh, kw, sh, sw, pt, pl;
    uint32_t k, kk;            /* taps per output, per input channel */
    uint32_t ci0, nci;         /* patch: input channels [ci0, ci0 + nci) */
    uint32_t zlen;             /* patch length whose zero tail is in place */
} esnn_patch_geo;

/* Buffers of one pass (declared once: inlined callees would each get their own). */
typedef struct {
    int16_t p[ESNN_PATCH_MAX];
    int32_t acc[ESNN_PATCH_GROUP], b[ESNN_PATCH_GROUP];
} esnn_patch_buf;

/* Copies the valid ny x nx part of a window, for the patch's input channels (p and x
 * at the part's first tap). Windows are narrow, so a loop per row would cost more than
 * the copy: widths 3 and 2 (a 3x3 kernel's interior and border) are unrolled. */
static void copy_window(int16_t *p, const uint8_t *x, const esnn_patch_geo *g, uint32_t ny,
                        uint32_t nx)
{
    const uint32_t kw = g->kw, kk = g->kk, w = g->w, plane = g->plane;
    uint32_t ci, y, i;
    for (ci = 0; ci < g->nci; ci++, x += plane, p += kk) {
        const uint8_t *s = x;
        int16_t *d = p;
        if (nx == 3u) {
            for (y = 0; y < ny; y++, s += w, d += kw) {
                d[0] = s[0];
                d[1] = s[1];
                d[2] = s[2];
            }
        } else if (nx == 2u) {
            for (y = 0; y < ny; y++, s += w, d += kw) {
                d[0] = s[0];
                d[1] = s[1];
            }
        } else {
            for (y = 0; y < ny; y++, s += w, d += kw)
                for (i = 0; i < nx; i++)
                    d[i] = s[i];
        }
    }
}

/* Patch of output (oy, ox): p[(ci - ci0)*kh*kw + ky*kw + kx] = x[ci][iy][ix], 0 in the
 * padding and after the last tap up to a multiple of 16 (esnn_dot_rows). The valid
 * window [ky0, ky1) x [kx0, kx1) is clipped once; border outputs zero the patch first.
 * Coordinates are tested in signed arithmetic before any index is formed, so no
 * pointer ever points before the input. Returns the number of taps. */
static uint32_t gather(int16_t *p, esnn_patch_geo *g, uint32_t oy, uint32_t ox)
{
    const uint32_t kh = g->kh, kw = g->kw, w = g->w, len = g->nci * g->kk;
    const int32_t iy0 = (int32_t)(oy * g->sh) - (int32_t)g->pt;
    const int32_t ix0 = (int32_t)(ox * g->sw) - (int32_t)g->pl;
    const uint32_t ky0 = iy0 < 0 ? (uint32_t)-iy0 : 0u, kx0 = ix0 < 0 ? (uint32_t)-ix0 : 0u;
    /* taps left inside; validation (pads < kernel) makes them >= 1, clamped anyway */
    const int32_t yl = (int32_t)g->h - iy0, xl = (int32_t)w - ix0;
    const uint32_t ky1 = yl < (int32_t)kh ? (yl > 0 ? (uint32_t)yl : 0u) : kh;
    const uint32_t kx1 = xl < (int32_t)kw ? (xl > 0 ? (uint32_t)xl : 0u) : kw;
    const uint32_t nx = kx1 > kx0 ? kx1 - kx0 : 0u, ny = ky1 > ky0 ? ky1 - ky0 : 0u;
    uint32_t i;
    if (nx != kw || ny != kh)
        memset(p, 0, len * sizeof *p);
    for (i = len; g->zlen != len && (i & 15u); i++)
        p[i] = 0;
    g->zlen = len;
    if (nx != 0u)
        copy_window(p + ky0 * kw + kx0,
                    g->x + g->ci0 * g->plane + (uint32_t)(iy0 + (int32_t)ky0) * w +
                        (uint32_t)(ix0 + (int32_t)kx0),
                    g, ny, nx);
    return len;
}

/* acc[c] += sum over taps of W[c0 + c] * x for c < n at output (oy, ox), over the
 * patch's runs of input channels (usually one). */
static void position_sums(esnn_patch_buf *pb, esnn_patch_geo *g, const int8_t *w,
                          uint32_t n, int exact, uint32_t oy, uint32_t ox)
{
    const uint32_t nmax = ESNN_PATCH_MAX / g->kk;  /* input channels per patch */
    uint32_t len;
    for (g->ci0 = 0; g->ci0 < g->cin; g->ci0 += g->nci) {
        g->nci = g->cin - g->ci0 < nmax ? g->cin - g->ci0 : nmax;
        len = gather(pb->p, g, oy, ox);
        /* only the row tail past the last run can run past the weight section */
        esnn_dot_rows(w + g->ci0 * g->kk, g->k, len, n, pb->p, pb->acc,
                      exact && g->ci0 + g->nci == g->cin);
    }
}

/* Channels [c0, c0 + n) at every output position. One-step: the input holds q
 * (a = T*(b + W.q)) or counts/sums (a = T*b + W.n), i.e. a = T*b + m*W.x with m = T or
 * 1. T-step: the current b + W.x_t of every step is computed and summed; the network
 * input is q at every step, other U8 inputs are step-major rows. */
static void group(const esnn_run *r, const esnn_ldesc *l, esnn_patch_geo *g,
                  const esnn_sink *sink, const esnn_tdesc *in, const esnn_tdesc *out,
                  uint32_t c0, uint32_t n, int analog, esnn_patch_buf *pb)
{
    const uint8_t *x = g->x, *bias = r->blob + l->off[ESNN_SEC_B];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]) + c0 * g->k;
    const uint32_t ho = out->dims[1], wo = out->dims[2], hw = ho * wo;
    const int exact = c0 + n == out->dims[0] && esnn_w_exact(r, l);
    const int32_t T = (int32_t)r->T, m = analog ? T : 1;
    int32_t *b = pb->b, *acc = pb->acc;
    uint32_t oy, ox, t, c;
    for (c = 0; c < n; c++)  /* one-step uses T*b, T-step b once per step */
        b[c] = (r->tstep ? 1 : T) * esnn_rd_i32(bias + 4u * (c0 + c));
    for (oy = 0; oy < ho; oy++) {
        for (ox = 0; ox < wo; ox++) {
            const uint32_t idx = c0 * hw + oy * wo + ox;
            memset(acc, 0, n * sizeof *acc);
            if (sink->fast) {  /* the common case, inlined */
                position_sums(pb, g, w, n, exact, oy, ox);
                for (c = 0; c < n; c++)
                    sink->out[idx + c * hw] =
                        esnn_if_count(b[c] + m * acc[c], sink->shift[c0 + c], T);
                continue;
            }
            if (!r->tstep) {
                position_sums(pb, g, w, n, exact, oy, ox);
                for (c = 0; c < n; c++)
                    acc[c] = b[c] + m * acc[c];
            } else {
                for (t = 0; t < r->T; t++) {
                    g->x = analog ? x : x + t * in->numel;
                    position_sums(pb, g, w, n, exact, oy, ox);
                    for (c = 0; c < n; c++)
                        acc[c] += b[c];
                }
                g->x = x;
            }
            for (c = 0; c < n; c++)
                esnn_neuron_store(sink, idx + c * hw, c0 + c, acc[c]);
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
/* ---- Cortex-M4/M7 (DSP extension, little-endian): the channel-quad kernel, one-step IF
 * layers ----
 *
 * The input band is copied once into an int16 buffer in HWC order ([row][x][ci], the
 * channels padded with zeros to cp, a multiple of 4), and the weights of four output
 * channels into an int16 buffer in the matching order [ky][kx][ci/4][channel][ci%4]
 * (times T for the network input, so that the current is T*b + the sum in both cases).
 * For one output position, the taps of one kernel row ky then form ONE contiguous run
 * in both buffers: the valid kx range times every input channel. Taps in the padding
 * are never visited (clipped runs). A table lists every position's runs once per band;
 * quad_asm walks it for each group of four channels: per group of four input channels,
 * one LDRD of the four inputs, two LDMs of the four channels' weights and eight SMLADs
 * (16 multiply-accumulates in 11 instructions: each input is loaded once for four
 * channels, each weight once for the position), then the four IF counts are stored.
 * SMLAD adds both int16 products to the int32 sum exactly as the C loop does (it sets the
 * Q flag on signed overflow, never saturates), and every partial sum of int8 x (0..255)
 * products is bounded like the full sum by the validated overflow rule (|T*w| <= 63*128
 * fits int16): the currents are the C core's, bit for bit. */
#include <arm_acle.h>

#define ESNN_Q_X 256u    /* input band, int16 [row][x][cp]: 512 B of stack */
#define ESNN_Q_W 288u    /* four channels' weights, int16 [tap][cp/4][4][4]: 576 B */
#define ESNN_Q_TAB 64u   /* run table entries (x, end, w, kind): 1 KB */

/* Run table entry kinds: the quad_asm jump table's order. The last position of a band
 * ends with ESNN_Q_LAST instead of ESNN_Q_END. */
enum { ESNN_Q_EVEN = 0, ESNN_Q_ODD = 1, ESNN_Q_END = 2, ESNN_Q_LAST = 3 };

typedef struct {
    uint32_t x[ESNN_Q_X / 2u];  /* int16 pairs (little-endian halves), word-aligned */
    uint32_t w[ESNN_Q_W / 2u];
    uint32_t tab[ESNN_Q_TAB][4];  /* run table: addresses (32-bit) and kinds */
} esnn_quad_buf;

/* For each position of the run table tab, in output order from out: the four currents
 * a_j = p[j] + the sum over the position's runs (x, end, w, kind), up to an entry of
 * kind ESNN_Q_END (ESNN_Q_LAST after the last position), of the dot products of channel
 * j's weights with the inputs ((end - x) / 8 groups of four int16 inputs at x, 16 int16
 * weights per group at w: four channels x four inputs; kind ESNN_Q_ODD when the count is
 * odd), and their IF counts clamp(a_j >> k_j, 0, T) stored at out + o_j (o_0 = 0, stored
 * last), with p = {T*b_0..3, k_0..3, T, o_1, o_2, o_3}: ASR, USAT to 0..255 and the minimum
 * with T as a saturating byte subtraction. Each entry is one LDM and one TBB into the
 * two-group loop (odd counts enter it halfway) or to the counts. Hand-written (AAPCS:
 * r0 = tab, r1 = out, r2 = p): the loop needs all 14 registers. */
__attribute__((naked, noinline)) static void quad_asm(const uint32_t (*tab)[4], uint8_t *out,
                                                     const uint32_t *p)
{
#define ESNN_QUAD_GROUP                  \
    "ldrd r11, r12, [r8], #8\n\t"        \
    "ldmia r10!, {r0, r2, r3, lr}\n\t"   \
    "smlad r4, r11, r0, r4\n\t"          \
    "smlad r4, r12, r2, r4\n\t"          \
    "smlad r5, r11, r3, r5\n\t"          \
    "smlad r5, r12, lr, r5\n\t"          \
    "ldmia r10!, {r0, r2, r3, lr}\n\t"   \
    "smlad r6, r11, r0, r6\n\t"          \
    "smlad r6, r12, r2, r6\n\t"          \
    "smlad r7, r11, r3, r7\n\t"          \
    "smlad r7, r12, lr, r7\n\t"
    __asm__(
        "push {r4-r11, lr}\n\t"
        "add r2, r2, #16\n\t"
        "strd r1, r2, [sp, #-8]!\n\t"    /* [sp] = out, [sp, #4] = p + 4 words */
        "mov r1, r0\n\t"
        "1:\n\t"                         /* position: the sums start at T*b */
        "ldr r0, [sp, #4]\n\t"
        "ldmdb r0, {r4, r5, r6, r7}\n\t"
        "2:\n\t"
        "ldmia r1!, {r8, r9, r10, r11}\n\t"
        "tbb [pc, r11]\n\t"
        "0:\n\t"
        ".byte (3f - 0b) / 2\n\t"
        ".byte (4f - 0b) / 2\n\t"
        ".byte (5f - 0b) / 2\n\t"
        ".byte (5f - 0b) / 2\n\t"
        ".balign 2\n\t"
        "3:\n\t" ESNN_QUAD_GROUP
        "4:\n\t" ESNN_QUAD_GROUP
        "cmp r8, r9\n\t"
        "bne 3b\n\t"
        "b 2b\n\t"
        "5:\n\t"                         /* end of the position: its four counts */
        "ldr r8, [sp, #4]\n\t"
        "ldmia r8!, {r0, r2, r3, r9, r10}\n\t"  /* k_0..3, T */
        "asr r4, r4, r0\n\t"
        "usat r4, #8, r4\n\t"
        "uqsub8 lr, r4, r10\n\t"
        "sub r4, r4, lr\n\t"
        "asr r5, r5, r2\n\t"
        "usat r5, #8, r5\n\t"
        "uqsub8 lr, r5, r10\n\t"
        "sub r5, r5, lr\n\t"
        "asr r6, r6, r3\n\t"
        "usat r6, #8, r6\n\t"
        "uqsub8 lr, r6, r10\n\t"
        "sub r6, r6, lr\n\t"
        "asr r7, r7, r9\n\t"
        "usat r7, #8, r7\n\t"
        "uqsub8 lr, r7, r10\n\t"
        "sub r7, r7, lr\n\t"
        "ldmia r8, {r0, r2, r3}\n\t"     /* o_1..3 */
        "ldr r12, [sp]\n\t"
        "strb r7, [r12, r3]\n\t"
        "strb r6, [r12, r2]\n\t"
        "strb r5, [r12, r0]\n\t"
        "strb r4, [r12], #1\n\t"
        "str r12, [sp]\n\t"
        "cmp r11, #2\n\t"                /* ESNN_Q_END: next position; ESNN_Q_LAST: done */
        "beq 1b\n\t"
        "add sp, sp, #8\n\t"
        "pop {r4-r11, pc}\n\t");
#undef ESNN_QUAD_GROUP
    (void)tab;
    (void)out;
    (void)p;
}

/* PKHBT: (lo half of a, lo half of b); STRD with post-increment. Written out: compilers
 * do not always find them. */
static inline uint32_t q_pklo(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t *q_st2(uint32_t *d, uint32_t a, uint32_t b)
{
    __asm__ volatile("strd %1, %2, [%0], #8" : "+r"(d) : "r"(a), "r"(b) : "memory");
    return d;
}

/* The int16 weights of channels c0 + j < c0 + nj (zero rows past them) times mt, in the
 * quad order: word (t * cp/4 + q) * 8 + j * 2 + h holds input channels 4q + 2h,
 * 4q + 2h + 1 of tap t = ky * kw + kx (zero past cin). Written sequentially; in the
 * common case each weight is one byte load and half a PKHBT, each pair of words one
 * STRD. */
__attribute__((noinline)) static void quad_weights(uint32_t *d, const int8_t *w,
                                                   const esnn_patch_geo *g, uint32_t cp,
                                                   uint32_t nj, int32_t mt)
{
    const uint32_t kk = g->kk, k = g->k, cin = g->cin, kk2 = 2u * kk, kk3 = 3u * kk;
    uint32_t t, q, j, i;
    if (nj == 4u && cp == cin && mt == 1) {
        const int8_t *wt = w, *const wend = w + kk;
        do {  /* tap t: w + t */
            const int8_t *s = wt, *const qend = wt + cin * kk;
            do {  /* input channels q .. q + 3: s = w + q * kk + t */
                const int8_t *c = s;
                d = q_st2(d, q_pklo((uint32_t)c[0], (uint32_t)c[kk]),
                          q_pklo((uint32_t)c[kk2], (uint32_t)c[kk3]));
                c += k;
                d = q_st2(d, q_pklo((uint32_t)c[0], (uint32_t)c[kk]),
                          q_pklo((uint32_t)c[kk2], (uint32_t)c[kk3]));
                c += k;
                d = q_st2(d, q_pklo((uint32_t)c[0], (uint32_t)c[kk]),
                          q_pklo((uint32_t)c[kk2], (uint32_t)c[kk3]));
                c += k;
                d = q_st2(d, q_pklo((uint32_t)c[0], (uint32_t)c[kk]),
                          q_pklo((uint32_t)c[kk2], (uint32_t)c[kk3]));
                s += 4u * kk;
            } while (s != qend);
        } while (++wt != wend);
        return;
    }
    /* fewer than four channels left, input channels padded, or scaled by T */
    for (t = 0; t < kk; t++) {
        for (q = 0; q < cp; q += 4u) {
            for (j = 0; j < 4u; j++, d += 2) {
                int32_t v[4] = {0, 0, 0, 0};
                for (i = 0; i < 4u && j < nj && q + i < cin; i++)
                    v[i] = mt * w[j * k + (q + i) * kk + t];
                d[0] = q_pklo((uint32_t)v[0], (uint32_t)v[1]);
                d[1] = q_pklo((uint32_t)v[2], (uint32_t)v[3]);
            }
        }
    }
}

/* Input rows [y0, y1) in HWC order, every channel padded to cp: word p * cp/2 + ci/2
 * holds channels ci, ci + 1 of pixel p of the band. */
__attribute__((noinline)) static void quad_input(uint32_t *xq, const uint8_t *x,
                                                  const esnn_patch_geo *g, uint32_t cp,
                                                  uint32_t y0, uint32_t y1)
{
    const uint32_t n = (y1 - y0) * g->w, hp = cp / 2u, cin = g->cin;
    uint32_t ci, p;
    for (ci = 0; ci < cp; ci += 2u) {
        const uint8_t *x0 = x + ci * g->plane + y0 * g->w;  /* only formed for ci < cin */
        uint32_t *d = xq + ci / 2u;
        if (ci + 2u <= cin) {
            const uint8_t *x1 = x0 + g->plane, *const end = x0 + n;
            do {
                *d = *x0++ | (uint32_t)*x1++ << 16;
                d += hp;
            } while (x0 != end);
        } else {
            for (p = 0; p < n; p++, d += hp)
                *d = ci < cin ? x0[p] : 0u;
        }
    }
}

/* rows table entries (x, x + nb bytes, w, kind) from d, x and w advancing by xs and ws
 * bytes: one STM per entry. Addresses are 32-bit on this target. */
static inline uint32_t *q_runs(uint32_t *d, const uint32_t *x, const uint32_t *w, uint32_t nb,
                               uint32_t kind, uint32_t rows, uint32_t xs, uint32_t ws)
{
    register uint32_t rx __asm__("r4") = (uint32_t)(uintptr_t)x;
    register uint32_t re __asm__("r5");
    register uint32_t rw __asm__("r6") = (uint32_t)(uintptr_t)w;
    register uint32_t rk __asm__("r7") = kind;
    __asm__ volatile(
        "1:\n\t"
        "add %[re], %[rx], %[nb]\n\t"
        "stmia %[d]!, {r4, r5, r6, r7}\n\t"
        "add %[rx], %[rx], %[xs]\n\t"
        "add %[rw], %[rw], %[ws]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [d] "+r"(d), [rx] "+r"(rx), [re] "=&r"(re), [rw] "+r"(rw), [n] "+r"(rows)
        : [nb] "r"(nb), [rk] "r"(rk), [xs] "r"(xs), [ws] "r"(ws)
        : "memory", "cc");
    return d;
}

/* Geometry of one band, for the run table. */
typedef struct {
    uint32_t y0, oy0, oy1, wo;           /* band input rows from y0; output rows */
    uint32_t h, w, kh, kw, sh, sw, pt, pl;
    uint32_t xpix, xrow, wtap, wrow;     /* words per pixel, band row, tap, kernel row */
} esnn_quad_geo;

/* The runs of every position of the band, in output order, each position's list ended
 * by an entry of kind ESNN_Q_END. Returns the number of entries (the caller sized the
 * band to fit). */
__attribute__((noinline)) static uint32_t quad_table(esnn_quad_buf *qb,
                                                     const esnn_quad_geo *q)
{
    const uint32_t kh = q->kh, kw = q->kw, wo = q->wo, sw = q->sw, pl = q->pl, win = q->w;
    const uint32_t xpix = q->xpix, xrow = q->xrow, wtap = q->wtap, wrow = q->wrow;
    uint32_t *const e = &qb->tab[0][0];
    uint32_t *d = e;
    uint32_t oy, ox;
    for (oy = q->oy0; oy < q->oy1; oy++) {
        const int32_t iy0 = (int32_t)(oy * q->sh) - (int32_t)q->pt;
        const uint32_t ky0 = iy0 < 0 ? (uint32_t)-iy0 : 0u;
        const int32_t yl = (int32_t)q->h - iy0;  /* >= 1 by validation */
        const uint32_t ky1 = yl < (int32_t)kh ? (yl > 0 ? (uint32_t)yl : 0u) : kh;
        const uint32_t rows = ky1 > ky0 ? ky1 - ky0 : 0u;
        /* band row of the first valid input row, weights of kernel row ky0 */
        const uint32_t *const xr =
            qb->x + (rows ? ((uint32_t)(iy0 + (int32_t)ky0) - q->y0) * xrow : 0u);
        const uint32_t *const wr = qb->w + ky0 * wrow;
        for (ox = 0; ox < wo; ox++) {
            const int32_t ix0 = (int32_t)(ox * sw) - (int32_t)pl;
            const uint32_t kx0 = ix0 < 0 ? (uint32_t)-ix0 : 0u;
            const int32_t xl = (int32_t)win - ix0;
            const uint32_t kx1 = xl < (int32_t)kw ? (xl > 0 ? (uint32_t)xl : 0u) : kw;
            if (kx1 > kx0 && rows) {
                const uint32_t n = (kx1 - kx0) * xpix;  /* words of x per run, 2 per group */
                d = q_runs(d, xr + (uint32_t)(ix0 + (int32_t)kx0) * xpix, wr + kx0 * wtap,
                           4u * n, (n / 2u) & 1u ? ESNN_Q_ODD : ESNN_Q_EVEN, rows, 4u * xrow,
                           4u * wrow);
            }
            d[3] = ESNN_Q_END;  /* end of the position (its other words are not read) */
            d += 4;
        }
    }
    if (d != e)
        d[-1] = ESNN_Q_LAST;
    return (uint32_t)(d - e) / 4u;
}

/* One-step IF (the fast sink): a = T*b + m*W.x with m = T for the network input, 1
 * otherwise, for every channel and position, band by band and four channels at a time.
 * Returns 0 (nothing done) in other modes or when the layer does not fit the buffers or
 * would waste more than a third of its work on padded input channels. */
static int patch_quad(const esnn_run *r, const esnn_ldesc *l, const esnn_patch_geo *g,
                      const esnn_tdesc *out, int analog)
{
    esnn_quad_buf qb;
    esnn_quad_geo q;
    esnn_sink sink;
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint32_t cp = (g->cin + 3u) & ~3u, co = out->dims[0], ho = out->dims[1];
    const uint32_t wo = out->dims[2], hw = ho * wo, kh = g->kh, T = r->T;
    uint32_t nr, c0, j, rows, ne;
    uint32_t p[11];  /* T*b_0..3, k_0..3, T, o_1..3 */
    esnn_sink_init(&sink, r, l, out);
    if (!sink.fast || T > 255u || cp * 3u > g->cin * 4u || g->kk * cp * 4u > ESNN_Q_W ||
        g->w * cp * kh > ESNN_Q_X || wo == 0u)
        return 0;
    q.xpix = cp / 2u;
    q.xrow = g->w * q.xpix;
    q.wtap = cp * 2u;
    q.wrow = g->kw * q.wtap;
    rows = ESNN_Q_X / (2u * q.xrow);  /* input rows the band buffer holds, >= kh */
    nr = (rows - kh) / g->sh + 1u;    /* output rows per band */
    /* the table holds at most kh + 1 entries per position */
    if (nr * wo * (kh + 1u) > ESNN_Q_TAB)
        nr = ESNN_Q_TAB / ((kh + 1u) * wo);
    if (nr == 0u)
        return 0;
    q.h = g->h;
    q.w = g->w;
    q.kh = kh;
    q.kw = g->kw;
    q.sh = g->sh;
    q.sw = g->sw;
    q.pt = g->pt;
    q.pl = g->pl;
    q.wo = wo;
    p[8] = T;
    for (q.oy0 = 0; q.oy0 < ho; q.oy0 += nr) {
        /* input rows [y0, y1) of this band; valid windows never leave them */
        const int32_t first = (int32_t)(q.oy0 * g->sh) - (int32_t)g->pt;
        uint32_t last;
        q.oy1 = ho - q.oy0 < nr ? ho : q.oy0 + nr;
        last = (q.oy1 - 1u) * g->sh + kh - g->pt;  /* exclusive, >= 1: pt < kh */
        q.y0 = first < 0 ? 0u : (uint32_t)first;
        quad_input(qb.x, g->x, g, cp, q.y0, last < g->h ? last : g->h);
        ne = quad_table(&qb, &q);
        for (c0 = 0; c0 < co; c0 += 4u) {
            const uint32_t nj = co - c0 < 4u ? co - c0 : 4u;
            quad_weights(qb.w, w + c0 * g->k, g, cp, nj, analog ? (int32_t)T : 1);
            for (j = 0; j < 4u; j++) {  /* channels past nj store onto channel c0, first */
                int32_t b = 0;
                if (j < nj)
                    memcpy(&b, bias + 4u * (c0 + j), sizeof b);  /* little-endian int32 */
                p[j] = (uint32_t)((int32_t)T * b);
                p[4u + j] = j < nj ? sink.shift[c0 + j] : 0u;
                if (j > 0u)
                    p[8u + j] = j < nj ? j * hw : 0u;
            }
            if (ne != 0u)
                quad_asm((const uint32_t (*)[4])qb.tab, sink.out + c0 * hw + q.oy0 * wo, p);
        }
    }
    return 1;
}
#endif

int esnn_conv2d_patch(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                      const esnn_tdesc *out, int analog)
{
    esnn_patch_buf pb;
    esnn_patch_geo g;
    esnn_sink sink;
    uint32_t c0, n;
    g.cin = in->dims[0];
    g.h = in->dims[1];
    g.w = in->dims[2];
    g.plane = g.h * g.w;
    g.kh = l->kh;
    g.kw = l->kw;
    g.sh = l->sh;
    g.sw = l->sw;
    g.pt = l->pt;
    g.pl = l->pl;
    g.kk = g.kh * g.kw;
    g.k = g.cin * g.kk;
    if (g.k < ESNN_PATCH_MIN_TAPS || g.kk > ESNN_PATCH_MAX)
        return 0;
    g.x = esnn_tensor_ptr(r, in);
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
    if (patch_quad(r, l, &g, out, analog))
        return 1;
#endif
    g.zlen = 0;  /* no patch length yet */
    esnn_sink_init(&sink, r, l, out);
    for (c0 = 0; c0 < out->dims[0]; c0 += n) {
        n = out->dims[0] - c0 < ESNN_PATCH_GROUP ? out->dims[0] - c0 : ESNN_PATCH_GROUP;
        group(r, l, &g, &sink, in, out, c0, n, analog, &pb);
    }
    return 1;
}
