/* esnn_train_surrogate.c - the surrogate spike derivative and the per-element sum over
 * steps that online training accumulates (docs/training.md, "Gradients").
 *
 * An IF element with total current a (T-scaled, threshold 2^k) runs the T-step neuron
 * of format.md 5: u_t = u_{t-1} + clamp(a, -1, T 2^k), s_t = (u_t >= T 2^k), soft reset.
 * With the state detached, d s_t / d a = sigma'(x_t) / (T 2^k), x_t = u_t / (T 2^k) - 1,
 * and the element's factor is the sum of that over t. */
#include "esnn_train_internal.h"

float esnn_surrogate_deriv(uint8_t kind, float slope, float x)
{
    if (kind == ESNN_SURROGATE_ATAN) {
        const float alpha = esnn_fgt(slope, 0.0f) ? slope : 2.0f;
        const float t = 1.5707963267948966f * alpha * x;
        return 0.5f * alpha / (1.0f + t * t);
    } else {
        const float k = esnn_fgt(slope, 0.0f) ? slope : 4.0f;
        const float sg = 1.0f / (1.0f + esnn_expf(-k * x));
        return k * sg * (1.0f - sg);
    }
}

uint32_t esnn_tr_trajectory(int32_t a, uint32_t k, uint32_t T, int32_t *u, uint8_t *s,
                            uint32_t stride, int check)
{
    const int32_t thr = (int32_t)(T << k);
    const int32_t i = a < -1 ? -1 : (a > thr ? thr : a);
    int32_t v = 0;
    uint32_t t, bad = 0;
    for (t = 0; t < T; t++) {
        uint8_t spike;
        v += i;
        spike = (uint8_t)(v >= thr);
        if (check) {
            bad += (u[t * stride] != v) || (s[t * stride] != spike);
        } else {
            u[t * stride] = v;
            s[t * stride] = spike;
        }
        if (spike)
            v -= thr;
    }
    return bad;
}

float esnn_tr_surrogate_sum(const esnn_trainer *tr, int32_t a, uint32_t k, const int32_t *u,
                            uint32_t stride)
{
    const uint32_t T = tr->T;
    const int32_t thr = (int32_t)(T << k);
    const int32_t i = a < -1 ? -1 : (a > thr ? thr : a);
    const float fthr = (float)thr;
    float sum = 0.0f;
    int32_t v = 0;
    uint32_t t;
    for (t = 0; t < T; t++) {
        if (u) {
            v = u[t * stride];
        } else {
            v += i;
        }
        sum += esnn_surrogate_deriv(tr->cfg.surrogate, tr->cfg.slope, (float)(v - thr) / fthr);
        if (!u && v >= thr)
            v -= thr;
    }
    return sum / fthr;
}
