/* esnn_device_dispatch.c - route a request to its handler, then frame, encode, cache
 * and send the response (the cache answers retransmissions, see esnn_device_rx.c). */
#include "esnn_device_internal.h"

typedef int (*esnn_handler)(esnn_device *d, const esnn_req *r, uint32_t *out_len);

/* Command codes and their handlers, as two parallel lists searched in order rather than
 * a switch: the codes are sparse (0x01..0x43) and a switch compiles into a 67-entry
 * jump table; separate lists also spare the padding of {code, pointer} pairs. */
static const uint8_t cmd_codes[] = {
    ESNN_CMD_HELLO, ESNN_CMD_STATS, ESNN_CMD_RESET, ESNN_CMD_UPLOAD_BEGIN,
    ESNN_CMD_UPLOAD_CHUNK, ESNN_CMD_UPLOAD_COMMIT, ESNN_CMD_UPLOAD_ABORT, ESNN_CMD_INFER,
    ESNN_CMD_READ_SLOT,
#if ESNN_DEVICE_FINETUNE
    ESNN_CMD_FT_BEGIN, ESNN_CMD_FT_SAMPLE, ESNN_CMD_FT_COMMIT, ESNN_CMD_FT_ABORT,
#endif
};
static const esnn_handler cmd_handlers[sizeof cmd_codes] = {
    esnn_cmd_hello, esnn_cmd_stats, esnn_cmd_reset, esnn_cmd_upload_begin,
    esnn_cmd_upload_chunk, esnn_cmd_upload_commit, esnn_cmd_upload_abort, esnn_cmd_infer,
    esnn_cmd_read_slot,
#if ESNN_DEVICE_FINETUNE
    esnn_cmd_ft_begin, esnn_cmd_ft_sample, esnn_cmd_ft_commit, esnn_cmd_ft_abort,
#endif
};

static esnn_handler find(uint8_t cmd)
{
    uint32_t i;
    for (i = 0; i < sizeof cmd_codes; i++)
        if (cmd_codes[i] == cmd)
            return cmd_handlers[i];
    return NULL;
}

void esnn_device_dispatch(esnn_device *d, const esnn_req *r)
{
    esnn_handler h = find(r->cmd);
    uint32_t plen = 0, n;
    int status = ESNN_PS_UNKNOWN_CMD;
    if (h)
        status = h(d, r, &plen);
    if (plen > ESNN_PROTO_MAX_PAYLOAD)  /* handlers never do this; stay in bounds anyway */
        plen = 0;
    d->body[0] = ESNN_KIND_RESPONSE;
    d->body[1] = r->cmd;
    esnn_wr_u16(d->body + 2, r->seq);
    esnn_wr_u16(d->body + 4, (uint32_t)(uint16_t)(int16_t)status);
    esnn_wr_u16(d->body + 6, plen);
    esnn_wr_u32(d->body + 8 + plen, esnn_crc32(0, d->body, 8u + plen));
    n = esnn_cobs_encode(d->body, 8u + plen + 4u, d->tx);
    d->tx[n++] = 0;
    d->tx_len = n;
    d->last_seq = r->seq;
    d->last_cmd = r->cmd;
    d->have_last = 1;
    d->board.tx(d->board.tx_ctx, d->tx, d->tx_len);
    if (r->cmd == ESNN_CMD_RESET && status == ESNN_PS_OK)
        d->reset_requested = 1;  /* after the response went out */
}
