/* esnn_blob_read.c - decode the blob's header, tensor and layer entries into plain
 * structs (through esnn_le.h's readers; no struct is ever overlaid on the blob). */
#include "esnn_internal.h"

/* esnn_hdr's fields are the header's fields from offset 4 on, in order (data_length at
 * 44 is followed by 8 reserved bytes, then meta_offset at 56): decoded in one loop, u16
 * fields where the mask has a bit. */
typedef char esnn_hdr_is_packed[offsetof(esnn_hdr, meta_length) == 48u ? 1 : -1];

void esnn_read_header(const uint8_t *b, esnn_hdr *h)
{
    const uint32_t u16_fields = 0x3F3u;  /* versions, counts, indices, steps, flags */
    uint8_t *f = (uint8_t *)h;
    uint32_t i, o = 4;
    for (i = 0; i < 17u; i++) {
        if (i == 15u)
            o = 56;  /* skip the reserved bytes 48..55 */
        if (u16_fields >> i & 1u) {
            const uint16_t v = esnn_rd_u16(b + o);
            memcpy(f, &v, 2);
            f += 2;
            o += 2;
        } else {
            const uint32_t v = esnn_rd_u32(b + o);
            memcpy(f, &v, 4);
            f += 4;
            o += 4;
        }
    }
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
    l->geo = (uint8_t)(l->kh | l->kw | l->sh | l->sw | l->pt | l->pl | l->pb | l->pr);
    for (s = 0; s < 4u; s++) {
        l->off[s] = esnn_rd_u32(p + 20 + 8 * s);
        l->len[s] = esnn_rd_u32(p + 24 + 8 * s);
    }
    l->tail_nonzero = 0;
    for (s = 52; s < ESNN_LAYER_BYTES; s++)
        l->tail_nonzero |= (uint8_t)(p[s] != 0);
}
