/* esnn_device_cmd_read.c - READ_SLOT: read back a valid slot's image. */
#include "esnn_device_internal.h"

int esnn_cmd_read_slot(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    esnn_slot_hdr h;
    uint32_t slot, n, off;
    if (r->len != 8u)
        return ESNN_PS_BAD_LENGTH;
    slot = r->payload[0];
    n = esnn_rd_u16(r->payload + 2);
    off = esnn_rd_u32(r->payload + 4);
    if (slot > 1u)
        return ESNN_PS_BAD_ARG;
    if (d->slot_check[slot] != ESNN_SLOT_VALID)
        return ESNN_PS_NO_MODEL;
    esnn_slot_read(d, slot, &h);
    if (n == 0u || n > ESNN_PROTO_MAX_PAYLOAD || off > h.length || n > h.length - off)
        return ESNN_PS_BAD_ARG;
    memcpy(esnn_resp_payload(d), esnn_slot_image(d, slot) + off, n);
    *out_len = n;
    return ESNN_PS_OK;
}
