/* esnn_train_fcmp.c - float comparisons from the bit patterns, for the fine-tuning engine.
 *
 * On a core without an FPU every C comparison of floats is a call into libgcc's
 * compare routines (about 240 bytes for the set). There the engine compares through
 * these two functions instead (esnn_fgt/esnn_fge, esnn_train_internal.h): they order
 * floats exactly as IEEE-754 does (-0 == +0, NaN unordered: every comparison with a NaN
 * is false), so every answer is the one the C operator gives. test_train.c checks them
 * against the operators on every host. */
#include "esnn_train_internal.h"

/* A signed key ordered like the floats: the magnitude bits, negated for a negative
 * sign (both zeros give 0, -inf and inf the extremes). Only for non-NaN values. */
static int32_t order_key(uint32_t u)
{
    const int32_t m = (int32_t)(u & 0x7FFFFFFFu);
    return (u >> 31) ? -m : m;
}

/* a > b */
int esnn_fgt_bits(float a, float b)
{
    const uint32_t ua = esnn_fbits(a), ub = esnn_fbits(b);
    return !esnn_nanbits(ua) && !esnn_nanbits(ub) && order_key(ua) > order_key(ub);
}

/* a >= b */
int esnn_fge_bits(float a, float b)
{
    const uint32_t ua = esnn_fbits(a), ub = esnn_fbits(b);
    return !esnn_nanbits(ua) && !esnn_nanbits(ub) && order_key(ua) >= order_key(ub);
}
