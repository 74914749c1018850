/* esnn_dot_rows.c - many int8 weight rows against one int16 vector: the inner product of
 * the DENSE and im2col CONV2D kernels.
 *
 * Why four rows at a time: each 16-block of p is loaded once for four rows, and the
 * loop, whose trip count is visibly a multiple of 16, is vectorised by compilers at -O2
 * (x86 SSE2: sign extension + pmaddwd, about 0.75 instructions per MAC) with no scalar
 * epilogue; on Cortex-M3 it is four multiply-accumulates per value loaded, on Cortex-M4
 * (DSP extension) two SMLADs per four weights of a row (below). */
#include "esnn_internal.h"

#if defined(__ARM_FEATURE_DSP)
/* Cortex-M4/M7 (DSP extension): SMLAD, two int16 x int16 multiply-accumulates into an
 * int32 sum. p is repacked once per call into int16 pairs (p0, p2), (p1, p3) of every
 * 4 values: the order in which SXTB16 sign-extends the four int8 weights of one 32-bit
 * load ((w0, w2), then (w1, w3) from the word shifted right by 8). So each four weights
 * of a row cost a load, two extensions, a shift and two SMLADs. Results are bit-exact:
 * SMLAD adds both products to the int32 sum exactly as the C loop does (it only sets
 * the Q flag on signed overflow, never saturates), and every partial sum of int8 x
 * (0..255) products is bounded like the full sum by the validated overflow rule. */
#include <arm_acle.h>

typedef uint32_t esnn_dot_in;  /* repacked p */
#define ESNN_DOT_IN_MAX (ESNN_DOT_MAX / 2u)

static inline uint32_t ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);  /* one LDR: Cortex-M4 loads unaligned words */
    return v;
}

/* x[2j] = p[4j] | p[4j + 2] << 16, x[2j + 1] = p[4j + 1] | p[4j + 3] << 16. */
static const esnn_dot_in *dot_input(const int16_t *p, uint32_t nb, esnn_dot_in *x)
{
    esnn_dot_in *d = x, *const end = x + nb * 8u;
    for (; d != end; d += 4, p += 8) {  /* 8 values per pass: nb * 16 is a multiple */
        const uint32_t a = ld32(p), b = ld32(p + 2), c = ld32(p + 4), e = ld32(p + 6);
        d[0] = (a & 0xFFFFu) | (b << 16);
        d[1] = (a >> 16) | (b & 0xFFFF0000u);
        d[2] = (c & 0xFFFFu) | (e << 16);
        d[3] = (c >> 16) | (e & 0xFFFF0000u);
    }
    return x;
}

/* s += the four weights at w . the pairs x02, x13; w += 4 */
#define ESNN_MAC4(s, w, x02, x13)                                \
    do {                                                         \
        const uint32_t q_ = ld32(w);                             \
        w += 4;                                                  \
        s = __smlad((int16x2_t)__sxtb16((int8x4_t)q_), (int16x2_t)(x02), s); \
        s = __smlad((int16x2_t)__sxtb16((int8x4_t)(q_ >> 8)), (int16x2_t)(x13), s); \
    } while (0)

static void dot4(const int8_t *w0, const int8_t *w1, const int8_t *w2, const int8_t *w3,
                 const esnn_dot_in *x, uint32_t nb, int32_t *s)
{
    const esnn_dot_in *end = x + nb * 8u;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#define ESNN_ROWS4(x02, x13)             \
    do {                                 \
        ESNN_MAC4(s0, w0, x02, x13);     \
        ESNN_MAC4(s1, w1, x02, x13);     \
        ESNN_MAC4(s2, w2, x02, x13);     \
        ESNN_MAC4(s3, w3, x02, x13);     \
    } while (0)
    while (x != end) {  /* one 16-block per pass */
        ESNN_ROWS4(x[0], x[1]);
        ESNN_ROWS4(x[2], x[3]);
        ESNN_ROWS4(x[4], x[5]);
        ESNN_ROWS4(x[6], x[7]);
        x += 8;
    }
#undef ESNN_ROWS4
    s[0] += s0;
    s[1] += s1;
    s[2] += s2;
    s[3] += s3;
}
#else
typedef int16_t esnn_dot_in;  /* p itself */
#define ESNN_DOT_IN_MAX 1u

static const esnn_dot_in *dot_input(const int16_t *p, uint32_t nb, esnn_dot_in *x)
{
    (void)nb;
    (void)x;
    return p;
}

static void dot4(const int8_t *w0, const int8_t *w1, const int8_t *w2, const int8_t *w3,
                 const int16_t *p, uint32_t nb, int32_t *s)
{
    const uint32_t n = nb * 16u;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t i;
    for (i = 0; i < n; i++) {
        const int32_t v = p[i];
        s0 += w0[i] * v;
        s1 += w1[i] * v;
        s2 += w2[i] * v;
        s3 += w3[i] * v;
    }
    s[0] += s0;
    s[1] += s1;
    s[2] += s2;
    s[3] += s3;
}
#endif

void esnn_dot_rows(const int8_t *w, uint32_t stride, uint32_t len, uint32_t n, const int16_t *p,
                   int32_t *s, int exact_last)
{
    const uint32_t nb = (len + 15u) >> 4, padded = n - (exact_last ? 1u : 0u);
    const uint32_t k = stride;
    esnn_dot_in xb[ESNN_DOT_IN_MAX];
    /* (none to repack when only the exact last row is left: it reads p) */
    const esnn_dot_in *x = dot_input(p, padded != 0u ? nb : 0u, xb);
    int32_t t[4];
    uint32_t c = 0, i;
    for (; c + 4u <= padded; c += 4u)
        dot4(w + c * k, w + (c + 1u) * k, w + (c + 2u) * k, w + (c + 3u) * k, x, nb, s + c);
    if (c < padded) {  /* 1..3 rows left: repeat the first, keep what exists */
        const int8_t *r0 = w + c * k;
        memset(t, 0, sizeof t);
        dot4(r0, c + 1u < padded ? r0 + k : r0, c + 2u < padded ? r0 + 2u * k : r0, r0, x, nb, t);
        for (i = 0; c < padded; c++, i++)
            s[c] += t[i];
    }
    if (exact_last) {  /* whole blocks in place, then the len % 16 last weights one by one */
        const int8_t *r = w + c * k;
        int32_t a = esnn_dot16(r, p, len >> 4);
        for (i = len & ~15u; i < len; i++)
            a += r[i] * p[i];
        s[c] += a;
    }
}
