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

uint32_t esnn_put_diag(esnn_device *d, int32_t status, uint32_t expected, uint32_t actual)
{
    uint8_t *p = esnn_resp_payload(d);
    esnn_wr_u32(p, (uint32_t)status);
    esnn_wr_u32(p + 4, expected);
    esnn_wr_u32(p + 8, actual);
    return 12u;
}

uint8_t esnn_session_kind(const esnn_device *d)
{
    if (d->ft_open)
        return ESNN_SESSION_FINETUNE;
    return d->session_open ? ESNN_SESSION_UPLOAD : ESNN_SESSION_NONE;
}

static uint32_t idle_limit(const esnn_device *d)
{
    if (!d->board.clock_ms)
        return 0u;
    return d->board.session_idle_ms ? d->board.session_idle_ms : ESNN_SESSION_IDLE_MS;
}

void esnn_put_idle(const esnn_device *d, uint8_t *p)
{
    esnn_wr_u32(p, idle_limit(d));
    esnn_wr_u32(p + 4, d->ft_open ? esnn_now_ms(d) - d->ft_last_ms : 0u);
}

#if ESNN_DEVICE_FINETUNE
int esnn_ft_busy(esnn_device *d)
{
    uint32_t limit = idle_limit(d);
    if (d->ft_open && limit && esnn_now_ms(d) - d->ft_last_ms >= limit) {
        esnn_ft_close(d);  /* stale: the old model stays active, nothing was written */
        d->ft_expired++;
    }
    return d->ft_open;
}
#endif

/* BUSY: u8 the open session's kind; for fine-tuning also 3 zero bytes, u32 idle limit,
 * u32 idle time (ms), so the host can say when it ends by itself. */
int esnn_busy(esnn_device *d, uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    p[0] = esnn_session_kind(d);
    *out_len = 1u;
    if (p[0] == ESNN_SESSION_FINETUNE) {
        p[1] = p[2] = p[3] = 0;
        esnn_put_idle(d, p + 4);
        *out_len = 12u;
    }
    return ESNN_PS_BUSY;
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
