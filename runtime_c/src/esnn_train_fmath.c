/* esnn_train_fmath.c - exp and log in float32 from + - * / only, so that fine-tuning gives
 * bit-identical weights on every target: libm's expf/logf differ in the last bit
 * between glibc and newlib, and a soft-float core has no other source anyway. About
 * 1e-7 relative error, plenty for gradients. */
#include "esnn_train_internal.h"

/* 2^n as a float for n in -126..127, from its bit pattern. */
static float pow2i(int32_t n)
{
    const uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float esnn_expf(float x)
{
    const float ln2_hi = 0.693145751953125f, ln2_lo = 1.428606765330187e-06f;
    float r, p;
    int32_t n;
    if (esnn_isnanf(x))
        return x;
    if (esnn_fgt(x, 88.0f))
        x = 88.0f;
    if (esnn_fgt(-87.0f, x))
        return 0.0f;
    /* x = n ln2 + r, |r| <= ln2 / 2; n by rounding x / ln2 half away from zero */
    p = x * 1.4426950408889634f;
    n = (int32_t)(esnn_fge(p, 0.0f) ? p + 0.5f : p - 0.5f);
    r = (x - (float)n * ln2_hi) - (float)n * ln2_lo;
    /* e^r by its Taylor polynomial to r^7 (|r| <= 0.347: error below 2^-24); written out
     * (not a loop over coefficients) because it is the inner loop of the sigmoid
     * surrogate */
    p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f +
        r * (1.0f / 120.0f + r * (1.0f / 720.0f + r * (1.0f / 5040.0f)))))));
    return p * pow2i(n);
}

/* 1/(2k+1) for k = 4 down to 1: the atanh series of esnn_logf */
static const float log_c[4] = {1.0f / 9.0f, 1.0f / 7.0f, 1.0f / 5.0f, 1.0f / 3.0f};

/* x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1). */
float esnn_logf(float x)
{
    uint32_t bits, i;
    int32_t e;
    float m, s, s2, t;
    if (!esnn_fgt(x, 0.0f))  /* -"inf" for a zero, else NaN */
        return !(esnn_fbits(x) & 0x7FFFFFFFu) ? -3.4e38f : (x - x) / (x - x);
    if (esnn_fgt(x, 3.4e38f))
        return 88.7f;
    memcpy(&bits, &x, sizeof bits);
    if (!(bits >> 23))  /* subnormal: scale into the normal range first */
        return esnn_logf(x * 16777216.0f) - 16.635532333438686f;
    e = (int32_t)(bits >> 23) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u;
    memcpy(&m, &bits, sizeof m);
    if (esnn_fgt(m, 1.41421356f)) {
        m *= 0.5f;
        e++;
    }
    s = (m - 1.0f) / (m + 1.0f);
    s2 = s * s;
    /* t = s2 * (1/3 + s2 * (1/5 + s2 * (1/7 + s2 * (1/9 + s2 / 11)))) as a loop: the
     * same float operations in the same order (once per sample, so speed is moot) */
    t = s2 / 11.0f;
    for (i = 0; i < 4u; i++)
        t = s2 * (log_c[i] + t);
    return (float)e * 0.6931471805599453f + 2.0f * s * (1.0f + t);
}
