/* esnn_validate_header.c - header rules and section placement (format.md 1-2).
 * Order follows the spec: length, magic and version first, then the CRC before any
 * field behind offset 16 is trusted.
 *
 * The rules form one else-if chain that records the first failure (status, expected,
 * actual) and one esnn_fail call reports it: a rule then costs a few register moves
 * instead of its own inlined diag write, which matters in a 10 KB firmware. */
#include "esnn_internal.h"

/* "ESNN" read as a little-endian u32: one compare instead of a memcmp (no libc
 * routine linked for it) and the same number the diagnostic reports. */
#define ESNN_MAGIC_U32 0x4E4E5345u

/* Every non-empty section inside [64, total_length), no two overlapping. In 32 bits:
 * off + len > total is tested as len > total - off, which cannot wrap; once a section
 * passed, its end fits in 32 bits, so the overlap tests are exact too. */
static esnn_status check_sections(const esnn_hdr *h, uint32_t *e, uint32_t *a)
{
    uint32_t off[4], len[4], i, j;
    off[0] = h->layer_table_offset;
    len[0] = h->num_layers * ESNN_LAYER_BYTES;
    off[1] = h->tensor_table_offset;
    len[1] = h->num_tensors * ESNN_TENSOR_BYTES;
    off[2] = h->data_offset;
    len[2] = h->data_length;
    off[3] = h->meta_offset;
    len[3] = h->meta_length;
    for (i = 0; i < 4u; i++) {
        if (len[i] == 0u)
            continue;  /* empty data or metadata section: nothing to place */
        if (off[i] < ESNN_HEADER_BYTES || off[i] > h->total_length ||
            len[i] > h->total_length - off[i]) {
            *e = h->total_length;
            *a = esnn_sat32((uint64_t)off[i] + len[i]);
            return ESNN_ERR_BOUNDS;
        }
        for (j = 0; j < i; j++) {
            if (len[j] != 0u && off[i] < off[j] + len[j] && off[j] < off[i] + len[i]) {
                *e = off[j] + len[j];
                *a = off[i];
                return ESNN_ERR_BOUNDS;
            }
        }
    }
    return ESNN_OK;
}

esnn_status esnn_validate_header(const uint8_t *b, uint32_t len, esnn_hdr *h, esnn_diag *d)
{
    esnn_status s = ESNN_OK;
    int32_t t = -1;
    uint32_t e = 0, a = 0, crc;
    if (len >= ESNN_HEADER_BYTES)
        esnn_read_header(b, h);
    /* the container: everything needed before fields can be interpreted */
    if (len < ESNN_HEADER_BYTES) {
        s = ESNN_ERR_TRUNCATED;
        e = ESNN_HEADER_BYTES;
        a = len;
    } else if (esnn_rd_u32(b) != ESNN_MAGIC_U32) {
        s = ESNN_ERR_MAGIC;
        e = ESNN_MAGIC_U32;
        a = esnn_rd_u32(b);
    } else if (h->version_major != ESNN_VERSION_MAJOR) {
        s = ESNN_ERR_VERSION;
        e = ESNN_VERSION_MAJOR;
        a = h->version_major;
    } else if (h->version_minor > ESNN_VERSION_MINOR) {
        /* 1.0 .. 1.2: a later minor may use what this reader does not know */
        s = ESNN_ERR_VERSION;
        e = ESNN_VERSION_MINOR;
        a = h->version_minor;
    } else if (h->total_length < ESNN_HEADER_BYTES || h->total_length > len) {
        s = ESNN_ERR_TRUNCATED;
        e = h->total_length;
        a = len;
    } else if ((crc = esnn_crc32(0, b + 16, h->total_length - 16u)) != h->crc32) {
        s = ESNN_ERR_CRC;
        e = h->crc32;
        a = crc;
    /* the fields */
    } else if (h->num_layers < 1u || h->num_layers > ESNN_MAX_LAYERS) {
        s = ESNN_ERR_LIMITS;
        e = ESNN_MAX_LAYERS;
        a = h->num_layers;
    } else if (h->num_tensors < 2u || h->num_tensors > ESNN_MAX_TENSORS) {
        s = ESNN_ERR_LIMITS;
        e = ESNN_MAX_TENSORS;
        a = h->num_tensors;
    } else if (h->input_tensor >= h->num_tensors) {
        s = ESNN_ERR_GRAPH;
        t = h->input_tensor;
        e = h->num_tensors;
        a = h->input_tensor;
    } else if (h->output_tensor >= h->num_tensors || h->output_tensor == h->input_tensor) {
        s = ESNN_ERR_GRAPH;
        t = h->output_tensor;
        e = h->num_tensors;
        a = h->output_tensor;
    } else if (h->default_steps < 1u || h->default_steps > ESNN_MAX_STEPS) {
        s = ESNN_ERR_STEPS;
        e = ESNN_MAX_STEPS;
        a = h->default_steps;
    } else if ((h->version_minor == 0u && h->flags != 0u) || (h->flags & ~ESNN_HDR_FLAGS_KNOWN) ||
               ((h->flags & ESNN_HDR_SEQUENCE) && !(h->flags & ESNN_HDR_CAUSAL))) {
        /* flags: none in 1.0, only known bits, and a sequence input needs causal dynamics */
        s = ESNN_ERR_RESERVED;
        a = h->flags;
    } else if ((h->layer_table_offset | h->tensor_table_offset) % 4u) {
        s = ESNN_ERR_ALIGN;
        e = 4;
        a = h->layer_table_offset % 4u ? h->layer_table_offset : h->tensor_table_offset;
    } else if (h->scratch_bytes % ESNN_ARENA_ALIGN) {
        s = ESNN_ERR_ALIGN;
        e = ESNN_ARENA_ALIGN;
        a = h->scratch_bytes;
    } else if (h->data_offset % 16u) {
        s = ESNN_ERR_ALIGN;
        e = 16;
        a = h->data_offset;
    } else if (h->meta_length == 0u && h->meta_offset != 0u) {
        s = ESNN_ERR_RESERVED;
        a = h->meta_offset;
    } else {
        s = check_sections(h, &e, &a);
    }
    return s == ESNN_OK ? ESNN_OK : esnn_fail(d, s, -1, t, e, a);
}
