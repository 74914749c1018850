/* esnn_diag.c - filling the optional esnn_diag record. Every entry point reports
 * through these so a NULL diag is handled in one place. */
#include "esnn_internal.h"

esnn_status esnn_fail(esnn_diag *d, esnn_status s, int32_t layer, int32_t tensor,
                      uint32_t expected, uint32_t actual)
{
    if (d) {
        d->status = (int32_t)s;
        d->layer = layer;
        d->tensor = tensor;
        d->expected = expected;
        d->actual = actual;
    }
    return s;
}

esnn_status esnn_ok(esnn_diag *d)
{
    return esnn_fail(d, ESNN_OK, -1, -1, 0, 0);
}

/* Diagnostics are uint32; numbers computed in 64 bits saturate instead of wrapping
 * so a message never shows a misleadingly small value. */
uint32_t esnn_sat32(uint64_t v)
{
    return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)v;
}
