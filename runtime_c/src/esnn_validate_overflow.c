/* esnn_validate_overflow.c - the overflow rule [ESNN_ERR_OVERFLOW] (format.md 4).
 *
 * Bounds are per output channel, and an ADD takes its I32 inputs' bounds per channel
 * too (its inputs have its shape, so channel c maps to channel c). Keeping a bound
 * per channel for every tensor would need memory we do not have, so the pass runs
 * channel-major: for each channel index c, one sweep over the layers carries the
 * bound of channel c of every tensor in a 64-entry array. Each weight is still read
 * once in total. All arithmetic is 64-bit: |w| <= 128, K <= 2^32 / C, bounds stay far
 * below 2^64 before the comparison. */
#include "esnn_internal.h"

#define U8_BOUND 255u  /* every U8 input element is taken as 255 */

/* DENSE/CONV2D/COUPLE channel c: 63*(255*sum|W| + |b|) when reading the network
 * input (it is present at every step), else 255*sum|W| + 63*|b|. chans is the number
 * of weight rows (C/2 for COUPLE), so a row has len(W) / chans weights. */
static uint64_t mac_bound(const uint8_t *blob, const esnn_ldesc *l, uint32_t c, uint32_t chans,
                          int analog)
{
    uint32_t k = l->len[ESNN_SEC_W] / chans, j;
    const uint8_t *w = blob + l->off[ESNN_SEC_W] + (uint64_t)c * k;
    int64_t b = esnn_rd_i32(blob + l->off[ESNN_SEC_B] + 4u * c);
    uint64_t sw = 0, ab = (uint64_t)(b < 0 ? -b : b);
    for (j = 0; j < k; j++)
        sw += w[j] < 128u ? w[j] : 256u - w[j];
    if (analog)
        return ESNN_MAX_STEPS * (U8_BOUND * sw + ab);
    return U8_BOUND * sw + ESNN_MAX_STEPS * ab;
}

/* The bound of an ADD input: tb[t] for an I32 tensor (dtype: byte 0 of its table entry,
 * read directly rather than decoding the whole entry), else 255. */
static uint64_t in_bound(const uint8_t *blob, const esnn_hdr *h, uint32_t t, const uint64_t *tb)
{
    return blob[h->tensor_table_offset + t * ESNN_TENSOR_BYTES] == ESNN_DTYPE_I32 ? tb[t]
                                                                                  : U8_BOUND;
}

/* ADD channel c: |m0|*bound(in0) + |m1|*bound(in1). */
static uint64_t add_bound(const uint8_t *blob, const esnn_hdr *h, const esnn_ldesc *l, uint32_t c,
                          uint32_t chans, const uint64_t *tb)
{
    int32_t m0 = esnn_rd_i16(blob + l->off[ESNN_SEC_M] + 2u * c);
    int32_t m1 = esnn_rd_i16(blob + l->off[ESNN_SEC_M] + 2u * (chans + c));
    return (uint64_t)(m0 < 0 ? -m0 : m0) * in_bound(blob, h, l->in0, tb) +
           (uint64_t)(m1 < 0 ? -m1 : m1) * in_bound(blob, h, l->in1, tb);
}

/* One sweep for channel c; tb[t] is channel c's bound of I32 tensor t. *active tells
 * whether some layer has a channel c (the caller sweeps until none has). */
static esnn_status sweep(const uint8_t *blob, const esnn_hdr *h, uint32_t c, uint64_t *tb,
                         int *active, esnn_diag *d)
{
    esnn_ldesc l;
    uint32_t i, chans;
    uint64_t b;
    *active = 0;
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        /* esnn_param_channels from the output's dims[0] (bytes 4-5 of its entry) */
        chans = esnn_rd_u16(blob + h->tensor_table_offset + l.out * ESNN_TENSOR_BYTES + 4u);
        if (l.op == ESNN_OP_COUPLE)
            chans /= 2u;
        if (l.op == ESNN_OP_SUMPOOL2D || c >= chans)
            continue;
        *active = 1;
        if (l.op == ESNN_OP_ADD)
            b = add_bound(blob, h, &l, c, chans, tb);
        else
            b = mac_bound(blob, &l, c, chans, l.in0 == h->input_tensor);
        /* causal IF/LIF membranes also carry up to one threshold 2^20 (delayed reset) */
        if ((h->flags & ESNN_HDR_CAUSAL) && esnn_spiking(l.neuron))
            b += ESNN_CAUSAL_MARGIN;
        if (b >= ESNN_I32_LIMIT)
            return esnn_fail(d, ESNN_ERR_OVERFLOW, (int32_t)i, l.out, 0x7FFFFFFFu, esnn_sat32(b));
        tb[l.out] = b;  /* only read for I32 tensors, which never carry the margin */
    }
    return ESNN_OK;
}

/* Channel by channel while some layer has that channel (a channel beyond every layer's
 * count would be an empty sweep). */
esnn_status esnn_validate_overflow(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    uint64_t tb[ESNN_MAX_TENSORS];
    uint32_t c;
    int active = 1;
    esnn_status s = ESNN_OK;
    memset(tb, 0, sizeof tb);
    for (c = 0; active && s == ESNN_OK; c++)
        s = sweep(blob, h, c, tb, &active, d);
    return s;
}
