/* proto_client.h - a minimal host side of the serial protocol for the C tests
 * (test_device.c, fuzz_protocol.c): an independent COBS codec, request framing, a tx
 * capture sink, a RAM flash with a write budget (power-cut simulation) and
 * response parsing. Header-only; every function is static. */
#ifndef PROTO_CLIENT_H
#define PROTO_CLIENT_H

#include "edgesnn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_MAX_BODY (ESNN_PROTO_MAX_PAYLOAD + 12u)
#define PC_TX_CAP 65536u

/* ---- little-endian ---- */
static inline void pc_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void pc_put32(uint8_t *p, uint32_t v)
{
    pc_put16(p, v & 0xFFFFu);
    pc_put16(p + 2, v >> 16);
}
static inline uint32_t pc_get16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static inline uint32_t pc_get32(const uint8_t *p) { return pc_get16(p) | (pc_get16(p + 2) << 16); }

/* ---- COBS, written independently of the device's (Wikipedia's formulation) ---- */
static inline uint32_t pc_cobs_encode(const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint8_t *code = out, *o = out + 1;
    uint8_t c = 1;
    uint32_t i;
    for (i = 0; i < len; i++) {
        if (in[i]) {
            *o++ = in[i];
            c++;
        }
        if (!in[i] || c == 0xFF) {
            *code = c;
            c = 1;
            code = o;
            if (!in[i] || i + 1 < len)
                ++o;
        }
    }
    *code = c;
    return (uint32_t)(o - out);
}

static inline int32_t pc_cobs_decode(const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint32_t i = 0, o = 0;
    while (i < len) {
        uint32_t c = in[i++], k;
        if (c == 0 || i + c - 1 > len)
            return -1;
        for (k = 1; k < c; k++)
            out[o++] = in[i++];
        if (c < 0xFF && i < len)
            out[o++] = 0;
    }
    return (int32_t)o;
}

/* ---- tx capture ---- */
typedef struct {
    uint8_t buf[PC_TX_CAP];
    uint32_t len;
    uint32_t calls;
} pc_tx;

static inline void pc_tx_sink(void *ctx, const uint8_t *data, uint32_t len)
{
    pc_tx *t = (pc_tx *)ctx;
    t->calls++;
    if (len > PC_TX_CAP - t->len) {
        fprintf(stderr, "tx capture overflow\n");
        abort();
    }
    memcpy(t->buf + t->len, data, len);
    t->len += len;
}

/* ---- RAM flash with a byte budget: a negative budget is unlimited; when a write
 * exceeds it, the allowed prefix is written and the flash "loses power" (every
 * later write fails). ---- */
typedef struct {
    uint8_t *mem;
    uint32_t bytes;
    long budget;
    int dead;
    uint32_t writes, written;
} pc_flash;

static inline int pc_flash_write(void *ctx, uint32_t off, const uint8_t *data, uint32_t len)
{
    pc_flash *f = (pc_flash *)ctx;
    uint32_t n = len;
    if (f->dead)
        return -1;
    if (off > f->bytes || len > f->bytes - off) {
        fprintf(stderr, "flash write out of range %u+%u\n", off, len);
        abort();
    }
    if (f->budget >= 0 && (long)len > f->budget)
        n = (uint32_t)f->budget;
    memcpy(f->mem + off, data, n);
    f->writes++;
    f->written += n;
    if (f->budget >= 0)
        f->budget -= (long)n;
    if (n < len) {
        f->dead = 1;
        return -1;
    }
    return 0;
}

/* ---- framing ---- */
/* Encode a frame (COBS + delimiter) into out (>= 1100 bytes); returns its length. */
static inline uint32_t pc_frame(uint8_t kind, uint8_t cmd, uint16_t seq, const uint8_t *payload,
                         uint32_t plen, uint8_t *out)
{
    uint8_t body[PC_MAX_BODY + 64];
    uint32_t n;
    body[0] = kind;
    body[1] = cmd;
    pc_put16(body + 2, seq);
    pc_put16(body + 4, 0);
    pc_put16(body + 6, plen);
    if (plen)
        memcpy(body + 8, payload, plen);
    pc_put32(body + 8 + plen, esnn_crc32(0, body, 8 + plen));
    n = pc_cobs_encode(body, 12 + plen, out);
    out[n++] = 0;
    return n;
}

/* A parsed response. */
typedef struct {
    int ok;            /* a well-formed response frame was found */
    uint8_t cmd;
    uint16_t seq;
    int16_t status;
    uint32_t len;
    uint8_t payload[ESNN_PROTO_MAX_PAYLOAD];
    uint32_t raw_len;  /* encoded bytes including the delimiter */
} pc_resp;

/* Parse the first frame of buf[0..len). */
static inline void pc_parse(const uint8_t *buf, uint32_t len, pc_resp *r)
{
    uint8_t body[2048];
    uint32_t end = 0, plen;
    int32_t n;
    memset(r, 0, sizeof *r);
    while (end < len && buf[end] != 0)
        end++;
    if (end == len || end > sizeof body)
        return;
    r->raw_len = end + 1;
    n = pc_cobs_decode(buf, end, body);
    if (n < 12)
        return;
    plen = pc_get16(body + 6);
    if (plen + 12 != (uint32_t)n || body[0] != 0x5A ||
        esnn_crc32(0, body, 8 + plen) != pc_get32(body + 8 + plen))
        return;
    r->ok = 1;
    r->cmd = body[1];
    r->seq = (uint16_t)pc_get16(body + 2);
    r->status = (int16_t)pc_get16(body + 4);
    r->len = plen;
    memcpy(r->payload, body + 8, plen);
}

#endif
