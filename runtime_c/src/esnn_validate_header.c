/* esnn_validate_header.c - header rules and section placement (format.md 1-2).
 * Order follows the spec: length, magic and version first, then the CRC before any
 * field behind offset 16 is trusted. */
#include "esnn_internal.h"

static const uint8_t esnn_magic[4] = {0x45, 0x53, 0x4E, 0x4E};

/* Integrity of the container: everything needed before fields can be interpreted. */
static esnn_status check_container(const uint8_t *b, uint32_t len, esnn_hdr *h, esnn_diag *d)
{
    uint32_t crc;
    if (len < ESNN_HEADER_BYTES)
        return esnn_fail(d, ESNN_ERR_TRUNCATED, -1, -1, ESNN_HEADER_BYTES, len);
    if (memcmp(b, esnn_magic, 4) != 0)
        return esnn_fail(d, ESNN_ERR_MAGIC, -1, -1, esnn_rd_u32(esnn_magic), esnn_rd_u32(b));
    esnn_read_header(b, h);
    if (h->version_major != ESNN_VERSION_MAJOR)
        return esnn_fail(d, ESNN_ERR_VERSION, -1, -1, ESNN_VERSION_MAJOR, h->version_major);
    /* 1.0 .. 1.2: a later minor may use what this reader does not know */
    if (h->version_minor > ESNN_VERSION_MINOR)
        return esnn_fail(d, ESNN_ERR_VERSION, -1, -1, ESNN_VERSION_MINOR, h->version_minor);
    if (h->total_length < ESNN_HEADER_BYTES || h->total_length > len)
        return esnn_fail(d, ESNN_ERR_TRUNCATED, -1, -1, h->total_length, len);
    crc = esnn_crc32(0, b + 16, h->total_length - 16u);
    if (crc != h->crc32)
        return esnn_fail(d, ESNN_ERR_CRC, -1, -1, h->crc32, crc);
    return ESNN_OK;
}

static esnn_status check_fields(const esnn_hdr *h, esnn_diag *d)
{
    if (h->num_layers < 1u || h->num_layers > ESNN_MAX_LAYERS)
        return esnn_fail(d, ESNN_ERR_LIMITS, -1, -1, ESNN_MAX_LAYERS, h->num_layers);
    if (h->num_tensors < 2u || h->num_tensors > ESNN_MAX_TENSORS)
        return esnn_fail(d, ESNN_ERR_LIMITS, -1, -1, ESNN_MAX_TENSORS, h->num_tensors);
    if (h->input_tensor >= h->num_tensors)
        return esnn_fail(d, ESNN_ERR_GRAPH, -1, h->input_tensor, h->num_tensors, h->input_tensor);
    if (h->output_tensor >= h->num_tensors || h->output_tensor == h->input_tensor)
        return esnn_fail(d, ESNN_ERR_GRAPH, -1, h->output_tensor, h->num_tensors,
                         h->output_tensor);
    if (h->default_steps < 1u || h->default_steps > ESNN_MAX_STEPS)
        return esnn_fail(d, ESNN_ERR_STEPS, -1, -1, ESNN_MAX_STEPS, h->default_steps);
    /* flags: none in 1.0, only known bits, and a sequence input needs causal dynamics */
    if ((h->version_minor == 0u && h->flags != 0u) || (h->flags & ~ESNN_HDR_FLAGS_KNOWN) ||
        ((h->flags & ESNN_HDR_SEQUENCE) && !(h->flags & ESNN_HDR_CAUSAL)))
        return esnn_fail(d, ESNN_ERR_RESERVED, -1, -1, 0, h->flags);
    if (h->layer_table_offset % 4u)
        return esnn_fail(d, ESNN_ERR_ALIGN, -1, -1, 4, h->layer_table_offset);
    if (h->tensor_table_offset % 4u)
        return esnn_fail(d, ESNN_ERR_ALIGN, -1, -1, 4, h->tensor_table_offset);
    if (h->scratch_bytes % ESNN_ARENA_ALIGN)
        return esnn_fail(d, ESNN_ERR_ALIGN, -1, -1, ESNN_ARENA_ALIGN, h->scratch_bytes);
    if (h->data_offset % 16u)
        return esnn_fail(d, ESNN_ERR_ALIGN, -1, -1, 16, h->data_offset);
    if (h->meta_length == 0u && h->meta_offset != 0u)
        return esnn_fail(d, ESNN_ERR_RESERVED, -1, -1, 0, h->meta_offset);
    return ESNN_OK;
}

/* Every non-empty section inside [64, total_length), no two overlapping. 64-bit sums
 * so a hostile offset + length cannot wrap around. */
static esnn_status check_sections(const esnn_hdr *h, esnn_diag *d)
{
    uint64_t off[4], end[4];
    uint32_t i, j;
    off[0] = h->layer_table_offset;
    end[0] = off[0] + (uint64_t)h->num_layers * ESNN_LAYER_BYTES;
    off[1] = h->tensor_table_offset;
    end[1] = off[1] + (uint64_t)h->num_tensors * ESNN_TENSOR_BYTES;
    off[2] = h->data_offset;
    end[2] = off[2] + h->data_length;
    off[3] = h->meta_offset;
    end[3] = off[3] + h->meta_length;
    for (i = 0; i < 4u; i++) {
        if (end[i] == off[i])
            continue;  /* empty data or metadata section: nothing to place */
        if (off[i] < ESNN_HEADER_BYTES || end[i] > h->total_length)
            return esnn_fail(d, ESNN_ERR_BOUNDS, -1, -1, h->total_length, esnn_sat32(end[i]));
        for (j = 0; j < i; j++) {
            if (end[j] != off[j] && off[i] < end[j] && off[j] < end[i])
                return esnn_fail(d, ESNN_ERR_BOUNDS, -1, -1, esnn_sat32(end[j]),
                                 esnn_sat32(off[i]));
        }
    }
    return ESNN_OK;
}

esnn_status esnn_validate_header(const uint8_t *blob, uint32_t len, esnn_hdr *h, esnn_diag *d)
{
    esnn_status s = check_container(blob, len, h, d);
    if (s == ESNN_OK)
        s = check_fields(h, d);
    if (s == ESNN_OK)
        s = check_sections(h, d);
    return s;
}
