/* esnn_device_rx.c - byte accumulation up to each 0x00, oversize discard, COBS
 * decoding (in place), frame checks and deduplication of retransmitted requests. */
#include "esnn_device_internal.h"

static void handle_frame(esnn_device *d)
{
    esnn_req r;
    int32_t n = esnn_cobs_decode(d->rx, d->rx_len, d->rx);
    uint32_t plen;
    if (n < (int32_t)ESNN_FRAME_OVERHEAD) {
        d->stats[ESNN_ST_FRAMES_BAD]++;
        return;
    }
    plen = esnn_rd_u16(d->rx + 6);
    if (plen != (uint32_t)n - ESNN_FRAME_OVERHEAD || plen > ESNN_PROTO_MAX_PAYLOAD ||
        d->rx[0] != ESNN_KIND_REQUEST ||
        esnn_crc32(0, d->rx, 8u + plen) != esnn_rd_u32(d->rx + 8u + plen)) {
        d->stats[ESNN_ST_FRAMES_BAD]++;
        return;
    }
    d->stats[ESNN_ST_FRAMES_OK]++;
    r.cmd = d->rx[1];
    r.seq = (uint16_t)esnn_rd_u16(d->rx + 2);
    r.payload = d->rx + 8;
    r.len = plen;
    if (d->have_last && r.seq == d->last_seq && r.cmd == d->last_cmd) {
        d->board.tx(d->board.tx_ctx, d->tx, d->tx_len);  /* retransmission: same bytes */
        return;
    }
    esnn_device_dispatch(d, &r);
}

void esnn_device_rx(esnn_device *d, const uint8_t *data, uint32_t len)
{
    uint32_t i;
    if (!d || !data)
        return;
    for (i = 0; i < len && !d->reset_requested; i++) {
        uint8_t b = data[i];
        if (b == 0u) {
            if (d->rx_overflow)
                d->rx_overflow = 0;
            else if (d->rx_len > 0u)
                handle_frame(d);
            d->rx_len = 0;
        } else if (d->rx_overflow) {
            continue;
        } else if (d->rx_len >= ESNN_PROTO_MAX_ENCODED) {
            d->rx_overflow = 1;
            d->rx_len = 0;
            d->stats[ESNN_ST_OVERSIZED]++;
        } else {
            d->rx[d->rx_len++] = b;
        }
    }
}
