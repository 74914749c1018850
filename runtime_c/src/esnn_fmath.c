/* esnn_fmath.c - exp and log in float32 from + - * / only, so that fine-tuning gives
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
    if (x != x)
        return x;
    if (x > 88.0f)
        x = 88.0f;
    if (x < -87.0f)
        return 0.0f;
    /* x = n ln2 + r, |r| <= ln2 / 2; n by rounding x / ln2 half away from zero */
    p = x * 1.4426950408889634f;
    n = (int32_t)(p >= 0.0f ? p + 0.5f : p - 0.5f);
    r = (x - (float)n * ln2_hi) - (float)n * ln2_lo;
    /* e^r by its Taylor polynomial to r^7 (|r| <= 0.347: error below 2^-24) */
    p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f +
        r * (1.0f / 120.0f + r * (1.0f / 720.0f + r * (1.0f / 5040.0f)))))));
    return p * pow2i(n);
}

/* x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1). */
float esnn_logf(float x)
{
    uint32_t bits;
    int32_t e;
    float m, s, s2, t;
    if (!(x > 0.0f))
        return x == 0.0f ? -3.4e38f : (x - x) / (x - x);  /* -"inf" or NaN */
    if (x > 3.4e38f)
        return 88.7f;
    memcpy(&bits, &x, sizeof bits);
    if (!(bits >> 23))  /* subnormal: scale into the normal range first */
        return esnn_logf(x * 16777216.0f) - 16.635532333438686f;
    e = (int32_t)(bits >> 23) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.41421356f) {
        m *= 0.5f;
        e++;
    }
    s = (m - 1.0f) / (m + 1.0f);
    s2 = s * s;
    t = s2 * (1.0f / 3.0f + s2 * (1.0f / 5.0f + s2 * (1.0f / 7.0f + s2 * (1.0f / 9.0f + s2 / 11.0f))));
    return (float)e * 0.6931471805599453f + 2.0f * s * (1.0f + t);
}
