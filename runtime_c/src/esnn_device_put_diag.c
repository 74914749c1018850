/* esnn_device_put_diag.c - the diag payload of a RUNTIME_ERROR answer: i32 status,
 * u32 expected, u32 actual (docs/protocol.md). Its own file so that command handlers
 * do not depend on the dispatcher that calls them. */
#include "esnn_device_internal.h"

uint32_t esnn_put_diag(esnn_device *d, int32_t status, uint32_t expected, uint32_t actual)
{
    uint8_t *p = esnn_resp_payload(d);
    esnn_wr_u32(p, (uint32_t)status);
    esnn_wr_u32(p + 4, expected);
    esnn_wr_u32(p + 8, actual);
    return 12u;
}
