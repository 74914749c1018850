/* esnn_dot_rows.c - many int8 weight rows against one int16 vector: the inner product of
 * the DENSE and im2col CONV2D kernels.
 *
 * Why four rows at a time: each 16-block of p is loaded once for four rows, and the
 * loop, whose trip count is visibly a multiple of 16, is vectorised by compilers at -O2
 * (x86 SSE2: sign extension + pmaddwd, about 0.75 instructions per MAC) with no scalar
 * epilogue; on Cortex-M it is four multiply-accumulates per value loaded. */
#include "esnn_internal.h"

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

void esnn_dot_rows(const int8_t *w, uint32_t stride, uint32_t len, uint32_t n, const int16_t *p,
                   int32_t *s, int exact_last)
{
    const uint32_t nb = (len + 15u) >> 4, padded = n - (exact_last ? 1u : 0u);
    const uint32_t k = stride;
    int32_t t[4];
    uint32_t c = 0, i;
    for (; c + 4u <= padded; c += 4u)
        dot4(w + c * k, w + (c + 1u) * k, w + (c + 2u) * k, w + (c + 3u) * k, p, nb, s + c);
    if (c < padded) {  /* 1..3 rows left: repeat the first, keep what exists */
        const int8_t *r0 = w + c * k;
        memset(t, 0, sizeof t);
        dot4(r0, c + 1u < padded ? r0 + k : r0, c + 2u < padded ? r0 + 2u * k : r0, r0, p, nb, t);
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
