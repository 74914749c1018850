/* esnn_blob_read.c - little-endian field readers over the blob.
 * Bytes are assembled one by one so a blob at any address, in flash or RAM, on a
 * big- or little-endian host, reads the same; no struct is ever overlaid on it. */
#include "esnn_internal.h"

uint16_t esnn_rd_u16(const uint8_t *p)
{
    return (uint16_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8));
}

uint32_t esnn_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Two's complement decode without the implementation-defined unsigned->signed cast. */
int32_t esnn_rd_i32(const uint8_t *p)
{
    uint32_t u = esnn_rd_u32(p);
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

int16_t esnn_rd_i16(const uint8_t *p)
{
    uint32_t u = esnn_rd_u16(p);
    return (int16_t)(u <= 0x7FFFu ? (int32_t)u : (int32_t)u - 65536);
}

void esnn_read_header(const uint8_t *b, esnn_hdr *h)
{
    h->version_major = esnn_rd_u16(b + 4);
    h->version_minor = esnn_rd_u16(b + 6);
    h->total_length = esnn_rd_u32(b + 8);
    h->crc32 = esnn_rd_u32(b + 12);
    h->num_layers = esnn_rd_u16(b + 16);
    h->num_tensors = esnn_rd_u16(b + 18);
    h->input_tensor = esnn_rd_u16(b + 20);
    h->output_tensor = esnn_rd_u16(b + 22);
    h->default_steps = esnn_rd_u16(b + 24);
    h->flags = esnn_rd_u16(b + 26);
    h->layer_table_offset = esnn_rd_u32(b + 28);
    h->tensor_table_offset = esnn_rd_u32(b + 32);
    h->scratch_bytes = esnn_rd_u32(b + 36);
    h->data_offset = esnn_rd_u32(b + 40);
    h->data_length = esnn_rd_u32(b + 44);
    h->meta_offset = esnn_rd_u32(b + 56);
    h->meta_length = esnn_rd_u32(b + 60);
}

/* Caller guarantees i < num_tensors and that the table lies inside the blob. */
void esnn_read_tensor(const uint8_t *b, const esnn_hdr *h, uint32_t i, esnn_tdesc *t)
{
    const uint8_t *p = b + h->tensor_table_offset + i * ESNN_TENSOR_BYTES;
    uint64_t n;
    t->dtype = p[0];
    t->rank = p[1];
    t->reserved0 = esnn_rd_u16(p + 2);
    t->dims[0] = esnn_rd_u16(p + 4);
    t->dims[1] = esnn_rd_u16(p + 6);
    t->dims[2] = esnn_rd_u16(p + 8);
    t->reserved1 = esnn_rd_u16(p + 10);
    t->arena_offset = esnn_rd_u32(p + 12);
    n = (uint64_t)t->dims[0] * t->dims[1] * t->dims[2];
    t->numel = esnn_sat32(n);
    t->bytes = esnn_sat32(n * (t->dtype == ESNN_DTYPE_I32 ? 4u : 1u));
}

/* Caller guarantees i < num_layers and that the table lies inside the blob. */
void esnn_read_layer(const uint8_t *b, const esnn_hdr *h, uint32_t i, esnn_ldesc *l)
{
    const uint8_t *p = b + h->layer_table_offset + i * ESNN_LAYER_BYTES;
    uint32_t s;
    l->op = p[0];
    l->neuron = p[1];
    l->leak_shift = p[2];
    l->flags = p[3];
    l->in0 = esnn_rd_u16(p + 4);
    l->in1 = esnn_rd_u16(p + 6);
    l->out = esnn_rd_u16(p + 8);
    l->reserved = esnn_rd_u16(p + 10);
    l->kh = p[12];
    l->kw = p[13];
    l->sh = p[14];
    l->sw = p[15];
    l->pt = p[16];
    l->pl = p[17];
    l->pb = p[18];
    l->pr = p[19];
    for (s = 0; s < 4u; s++) {
        l->off[s] = esnn_rd_u32(p + 20 + 8 * s);
        l->len[s] = esnn_rd_u32(p + 24 + 8 * s);
    }
    l->tail_nonzero = 0;
    for (s = 52; s < ESNN_LAYER_BYTES; s++)
        l->tail_nonzero |= (uint8_t)(p[s] != 0);
}
