/*
 * esnn_le.h - the runtime's one little-endian codec: blob fields, protocol payloads,
 * slot headers and the CRC a trainer writes all go through these. Bytes are assembled
 * one by one, so a buffer at any address, in flash or RAM, on a big- or little-endian
 * host, reads the same, and no struct is ever overlaid on received bytes.
 */
#ifndef ESNN_LE_H
#define ESNN_LE_H

#include <stdint.h>

static inline uint16_t esnn_rd_u16(const uint8_t *p)
{
    return (uint16_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8));
}

static inline uint32_t esnn_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Two's complement decode without the implementation-defined unsigned->signed cast. */
static inline int32_t esnn_rd_i32(const uint8_t *p)
{
    uint32_t u = esnn_rd_u32(p);
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

static inline int16_t esnn_rd_i16(const uint8_t *p)
{
    uint32_t u = esnn_rd_u16(p);
    return (int16_t)(u <= 0x7FFFu ? (int32_t)u : (int32_t)u - 65536);
}

static inline void esnn_wr_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void esnn_wr_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif /* ESNN_LE_H */
