/* esnn_device_words.c - runs of 32-bit words (counters, float bit patterns) to and from
 * consecutive little-endian u32 fields of a protocol payload: one loop shared by the
 * commands instead of one inlined 4-byte store per field (firmware size). Words are
 * read and written through memcpy, so any struct of 32-bit members (no padding) or
 * array works, at any alignment. */
#include "esnn_device_internal.h"

void esnn_dput_words(uint8_t *p, const void *words, uint32_t n)
{
    const uint8_t *w = (const uint8_t *)words;
    uint32_t i, u;
    for (i = 0; i < n; i++) {
        memcpy(&u, w + 4u * i, 4);
        esnn_wr_u32(p + 4u * i, u);
    }
}

void esnn_dget_words(void *words, const uint8_t *p, uint32_t n)
{
    uint8_t *w = (uint8_t *)words;
    uint32_t i, u;
    for (i = 0; i < n; i++) {
        u = esnn_rd_u32(p + 4u * i);
        memcpy(w + 4u * i, &u, 4);
    }
}
