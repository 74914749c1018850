/* esnn_device_cmd_upload.c - UPLOAD_BEGIN / CHUNK / COMMIT / ABORT. An upload only
 * writes the inactive slot; its header is invalidated before the first image byte
 * and written again (the single commit point) only after the image is verified. */
#include "esnn_device_internal.h"

static void drop_session(esnn_device *d)
{
    d->session_open = 0;
    d->session_slot = ESNN_NO_SLOT;
    d->session_size = d->session_crc = d->session_next = 0;
}

static int put_next(esnn_device *d, uint32_t *out_len)
{
    esnn_wr_u32(esnn_resp_payload(d), d->session_next);
    *out_len = 4u;
    return ESNN_PS_OK;
}

int esnn_cmd_upload_begin(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    uint32_t size, crc, slot;
    if (r->len != 8u)
        return ESNN_PS_BAD_LENGTH;
    if (esnn_ft_busy(d))  /* the fine-tuning result will need the inactive slot */
        return esnn_busy(d, out_len);
    size = esnn_rd_u32(r->payload);
    crc = esnn_rd_u32(r->payload + 4);
    if (size == 0u || size > esnn_slot_bytes(d))
        return ESNN_PS_TOO_LARGE;
    if (d->session_open && d->session_size == size && d->session_crc == crc)
        return put_next(d, out_len);  /* resume: the image is its own session key */
    drop_session(d);
    slot = d->active == ESNN_NO_SLOT ? 0u : 1u - d->active;
    if (esnn_slot_invalidate(d, slot) != 0)
        return ESNN_PS_FLASH_ERROR;
    d->session_open = 1;
    d->session_slot = (uint8_t)slot;
    d->session_size = size;
    d->session_crc = crc;
    d->session_next = 0;
    return put_next(d, out_len);
}

int esnn_cmd_upload_chunk(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    uint32_t off, n;
    if (r->len < 5u || r->len > 4u + ESNN_CHUNK_MAX)
        return ESNN_PS_BAD_LENGTH;
    if (!d->session_open)
        return ESNN_PS_NO_SESSION;
    off = esnn_rd_u32(r->payload);
    n = r->len - 4u;
    if (off > d->session_size || n > d->session_size - off)
        return ESNN_PS_BAD_ARG;
    if (off == d->session_next) {
        uint32_t at = esnn_slot_offset(d, d->session_slot) + ESNN_SLOT_HEADER_BYTES + off;
        if (esnn_flash_write(d, at, r->payload + 4, n) != 0)
            return ESNN_PS_FLASH_ERROR;
        d->session_next += n;
    }
    return put_next(d, out_len);
}

int esnn_cmd_upload_commit(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    uint32_t slot;
    int ps;
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    if (!d->session_open)
        return ESNN_PS_NO_SESSION;
    if (d->session_next < d->session_size) {
        esnn_wr_u32(esnn_resp_payload(d), d->session_next);
        *out_len = 4u;
        return ESNN_PS_INCOMPLETE;
    }
    slot = d->session_slot;
    if (esnn_crc32(0, esnn_slot_image(d, slot), d->session_size) != d->session_crc) {
        drop_session(d);
        d->stats[ESNN_ST_REJECTED]++;
        return ESNN_PS_CRC_MISMATCH;
    }
    /* the commit point (payload: slot, generation); either way the session is over */
    ps = esnn_slot_commit(d, slot, d->session_size, d->session_crc, out_len);
    drop_session(d);
    d->stats[ps == ESNN_PS_OK ? ESNN_ST_COMMITTED : ESNN_ST_REJECTED]++;
    return ps;
}

int esnn_cmd_upload_abort(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    *out_len = 0;
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    drop_session(d);
    return ESNN_PS_OK;
}
