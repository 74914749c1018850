/* esnn_arena_bytes.c - arena size query before any init (every mode, streaming too). */
#include "esnn_internal.h"

esnn_status esnn_arena_bytes(const uint8_t *blob, uint32_t len, esnn_mode mode, uint32_t steps,
                             uint32_t *bytes, esnn_diag *diag)
{
    esnn_hdr h;
    uint32_t T;
    uint64_t need;
#if ESNN_STREAM
    uint64_t tot;
#endif
    esnn_status s;
    if (!blob || !bytes)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    *bytes = 0;
    s = esnn_validate_blob(blob, len, &h, NULL, diag);
#if ESNN_STREAM
    if (s == ESNN_OK && mode == ESNN_MODE_STREAM)  /* no T: the need of one step and the state */
        s = esnn_stream_plan(blob, &h, &need, &tot, diag);
    else
#endif
    if (s == ESNN_OK)
        s = esnn_plan(blob, &h, mode, steps, &T, &need, diag);
    if (s != ESNN_OK)
        return s;
    if (need > 0xFFFFFFFFull)  /* T * scratch_bytes must be addressable by a uint32 */
        return esnn_fail(diag, ESNN_ERR_LIMITS, -1, -1, 0xFFFFFFFFu, 0xFFFFFFFFu);
    *bytes = (uint32_t)need;
    return esnn_ok(diag);
}
