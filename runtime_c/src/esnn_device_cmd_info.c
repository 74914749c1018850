/* esnn_device_cmd_info.c - HELLO (board description), STATS (counters and the board's
 * measured memory high-water marks), RESET. */
#include "esnn_device_internal.h"

/* HELLO sends a slot header's generation, length and crc32 as three consecutive words */
typedef char esnn_slot_hdr_words[offsetof(esnn_slot_hdr, crc32) ==
                                 offsetof(esnn_slot_hdr, generation) + 8u ? 1 : -1];

static uint32_t put_str(uint8_t *p, const char *s, uint32_t max)
{
    uint32_t n = 0;
    while (s[n] && n < max)
        n++;
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    return 1u + n;
}

int esnn_cmd_hello(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    uint32_t s, n;
    esnn_slot_hdr h;
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    (void)esnn_ft_busy(d);  /* a HELLO ends a stale fine-tuning session */
    memset(p, 0, 56);
    esnn_wr_u16(p, ESNN_PROTO_VERSION);
    esnn_wr_u16(p + 2, ESNN_VERSION_MAJOR);
    esnn_wr_u16(p + 4, ESNN_VERSION_MINOR);
    esnn_wr_u16(p + 6, ESNN_PROTO_MAX_PAYLOAD);
    esnn_wr_u32(p + 8, d->board.ram_bytes);
    esnn_wr_u32(p + 12, d->board.arena_bytes);
    esnn_wr_u32(p + 16, esnn_slot_bytes(d));
    p[20] = d->active;
    p[21] = d->board.tick_kind;
    p[22] = esnn_session_kind(d);
    p[23] = ESNN_FEATURES;
    for (s = 0; s < 2u; s++) {
        uint8_t *e = p + 24u + 16u * s;
        esnn_slot_read(d, s, &h);
        e[0] = (uint8_t)(d->slot_check[s] == ESNN_SLOT_VALID);
        e[1] = d->slot_check[s];  /* the boot check's result, and its esnn_status */
        esnn_wr_u16(e + 2, (uint32_t)(uint16_t)d->slot_status[s]);
        if (h.intact)
            esnn_dput_words(e + 4, &h.generation, 3u);  /* generation, length, crc32 */
    }
    n = 56u;
    n += put_str(p + n, d->board.name, 32u);
    n += put_str(p + n, ESNN_RUNTIME_VERSION, 16u);
    esnn_put_idle(d, p + n);  /* idle limit, idle time of the open session */
    *out_len = n + 8u;
    return ESNN_PS_OK;
}

int esnn_cmd_stats(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    uint32_t peaks[3] = {0, 0, 0};
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    esnn_dput_words(p, d->stats, ESNN_DEVICE_COUNTERS);
    if (d->board.peaks)
        d->board.peaks(d->board.peaks_ctx, peaks);
    esnn_dput_words(p + 4u * ESNN_DEVICE_COUNTERS, peaks, 3u);
    *out_len = 4u * ESNN_STATS_FIELDS;
    return ESNN_PS_OK;
}

int esnn_cmd_reset(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    (void)d;
    *out_len = 0;
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    return ESNN_PS_OK;  /* the dispatcher raises reset_requested after sending */
}
