/* esnn_validate_layer.c - the rules of one layer entry on its own (format.md 4):
 * op and neuron codes, reserved fields, section placement, dtypes, shapes, exact
 * section lengths and parameter ranges. Execution order, single writers, arena
 * overlaps and the overflow bound need the whole graph: see esnn_validate_graph.c
 * and esnn_validate_overflow.c. */
#include "esnn_internal.h"

/* Output channels: dims[0] of rank-3 (C,H,W) and of rank-1 (N) tensors alike. */
uint32_t esnn_layer_channels(const esnn_tdesc *out)
{
    return out->dims[0];
}

/* Channels with parameters (weight rows, biases, shifts): the output channels, or for
 * COUPLE those of the target half, C/2. */
uint32_t esnn_param_channels(const esnn_ldesc *l, const esnn_tdesc *out)
{
    return l->op == ESNN_OP_COUPLE ? out->dims[0] / 2u : out->dims[0];
}

/* Which (offset, length) pairs the op uses, as a bit mask over ESNN_SEC_*. */
static uint32_t used_sections(const esnn_ldesc *l)
{
    uint32_t s = esnn_spiking(l->neuron) ? (1u << ESNN_SEC_S) : 0u;
    if (l->op == ESNN_OP_DENSE || l->op == ESNN_OP_CONV2D || l->op == ESNN_OP_COUPLE)
        return s | (1u << ESNN_SEC_W) | (1u << ESNN_SEC_B);
    if (l->op == ESNN_OP_ADD)
        return s | (1u << ESNN_SEC_M);
    return 0u;  /* SUMPOOL2D: no parameters */
}

/* IF and LIF emit spikes (U8 output, threshold shifts); NONE and LI are I32 readouts. */
int esnn_spiking(uint8_t neuron)
{
    return neuron == ESNN_NEURON_IF || neuron == ESNN_NEURON_LIF;
}

static esnn_status check_codes(const esnn_hdr *h, const esnn_ldesc *l, int32_t li, esnn_diag *d)
{
    uint32_t geo = (uint32_t)l->kh | l->kw | l->sh | l->sw | l->pt | l->pl | l->pb | l->pr;
    const int causal = (h->flags & ESNN_HDR_CAUSAL) != 0u;
    const int leaky = l->neuron == ESNN_NEURON_LIF || l->neuron == ESNN_NEURON_LI;
    const int couple = l->op == ESNN_OP_COUPLE;
    if (l->op < ESNN_OP_DENSE || l->op > ESNN_OP_COUPLE)
        return esnn_fail(d, ESNN_ERR_OP, li, -1, ESNN_OP_COUPLE, l->op);
    /* COUPLE (1.2): IF neurons, averaged dynamics only (a causal blob needs per-step
     * currents, a COUPLE output holds totals) */
    if (couple && (h->version_minor < 2u || causal || l->neuron != ESNN_NEURON_IF))
        return esnn_fail(d, ESNN_ERR_OP, li, -1, ESNN_NEURON_IF, l->neuron);
    /* LI (a leaky readout) only exists with causal dynamics */
    if (l->neuron > (causal ? ESNN_NEURON_LI : ESNN_NEURON_LIF))
        return esnn_fail(d, ESNN_ERR_OP, li, -1, causal ? ESNN_NEURON_LI : ESNN_NEURON_LIF,
                         l->neuron);
    if (l->op == ESNN_OP_SUMPOOL2D && l->neuron != ESNN_NEURON_NONE)
        return esnn_fail(d, ESNN_ERR_OP, li, -1, ESNN_NEURON_NONE, l->neuron);
    if (leaky ? (l->leak_shift < 1u || l->leak_shift > 15u) : l->leak_shift != 0u)
        return esnn_fail(d, ESNN_ERR_SHIFT, li, -1, leaky ? 15u : 0u, l->leak_shift);
    /* neuron flags: known bits, on IF/LIF layers of causal blobs only; COUPLE has only
     * ESNN_LF_TARGET_HI, which no other op may set */
    if (couple ? (l->flags & ~ESNN_LF_TARGET_HI) != 0u
               : l->flags != 0u &&
                     (!causal || !esnn_spiking(l->neuron) || (l->flags & ~ESNN_LF_KNOWN)))
        return esnn_fail(d, ESNN_ERR_RESERVED, li, -1, 0, l->flags);
    if (l->reserved != 0u || l->tail_nonzero)
        return esnn_fail(d, ESNN_ERR_RESERVED, li, -1, 0, l->reserved);
    if ((l->op == ESNN_OP_DENSE || l->op == ESNN_OP_ADD) && geo != 0u)
        return esnn_fail(d, ESNN_ERR_RESERVED, li, -1, 0, geo);
    if (l->op != ESNN_OP_ADD && l->in1 != ESNN_NO_TENSOR)
        return esnn_fail(d, ESNN_ERR_RESERVED, li, l->in1, ESNN_NO_TENSOR, l->in1);
    return ESNN_OK;
}

/* Used pairs: aligned and inside the data section; unused pairs: exactly (0, 0). */
static esnn_status check_sections(const esnn_hdr *h, const esnn_ldesc *l, int32_t li,
                                  esnn_diag *d)
{
    static const uint32_t align[4] = {16u, 4u, 1u, 2u};
    uint32_t used = used_sections(l), s;
    for (s = 0; s < 4u; s++) {
        if (!(used & (1u << s))) {
            if (l->off[s] != 0u || l->len[s] != 0u)
                return esnn_fail(d, ESNN_ERR_RESERVED, li, -1, 0, l->off[s] | l->len[s]);
            continue;
        }
        if (l->len[s] == 0u)
            continue;  /* a missing section is a length mismatch, reported as SHAPE */
        if (l->off[s] % align[s])
            return esnn_fail(d, ESNN_ERR_ALIGN, li, -1, align[s], l->off[s]);
        if (l->off[s] < h->data_offset ||
            (uint64_t)l->off[s] + l->len[s] > (uint64_t)h->data_offset + h->data_length)
            return esnn_fail(d, ESNN_ERR_BOUNDS, li, -1, h->data_offset + h->data_length,
                             esnn_sat32((uint64_t)l->off[s] + l->len[s]));
    }
    return ESNN_OK;
}

static esnn_status check_indices(const esnn_hdr *h, const esnn_ldesc *l, int32_t li, esnn_diag *d)
{
    uint32_t nt = h->num_tensors;
    if (l->in0 >= nt)
        return esnn_fail(d, ESNN_ERR_GRAPH, li, l->in0, nt, l->in0);
    if (l->op == ESNN_OP_ADD && l->in1 >= nt)
        return esnn_fail(d, ESNN_ERR_GRAPH, li, l->in1, nt, l->in1);
    if (l->out >= nt || l->out == h->input_tensor)
        return esnn_fail(d, ESNN_ERR_GRAPH, li, l->out, nt, l->out);
    /* the network input holds q, not spikes: only DENSE/CONV2D may read it */
    if ((l->op == ESNN_OP_SUMPOOL2D || l->op == ESNN_OP_ADD || l->op == ESNN_OP_COUPLE) &&
        (l->in0 == h->input_tensor || l->in1 == h->input_tensor))
        return esnn_fail(d, ESNN_ERR_GRAPH, li, h->input_tensor, 0, 0);
    return ESNN_OK;
}

static esnn_status check_dtypes(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                                int32_t li, esnn_diag *d)
{
    uint32_t want = (l->op == ESNN_OP_SUMPOOL2D || esnn_spiking(l->neuron))
                        ? ESNN_DTYPE_U8 : ESNN_DTYPE_I32;
    if (l->op != ESNN_OP_ADD && in->dtype != ESNN_DTYPE_U8)
        return esnn_fail(d, ESNN_ERR_DTYPE, li, l->in0, ESNN_DTYPE_U8, in->dtype);
    if (out->dtype != want)
        return esnn_fail(d, ESNN_ERR_DTYPE, li, l->out, want, out->dtype);
    return ESNN_OK;
}

static esnn_status want_len(const esnn_ldesc *l, uint32_t s, uint64_t n, int32_t li, esnn_diag *d)
{
    if (l->len[s] != n)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, -1, esnn_sat32(n), l->len[s]);
    return ESNN_OK;
}

/* Output extent of a window: (in + pads - k) / stride + 1, or 0 when it does not fit. */
static uint32_t out_extent(uint32_t in, uint32_t pa, uint32_t pb, uint32_t k, uint32_t s)
{
    return in + pa + pb < k ? 0u : (in + pa + pb - k) / s + 1u;
}

static esnn_status check_window(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                                uint32_t c, int32_t li, esnn_diag *d)
{
    uint32_t ho, wo;
    if (in->rank != 3u || out->rank != 3u)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, in->rank != 3u ? l->in0 : l->out, 3,
                         in->rank != 3u ? in->rank : out->rank);
    if (!l->kh || !l->kw || !l->sh || !l->sw || l->pt >= l->kh || l->pb >= l->kh ||
        l->pl >= l->kw || l->pr >= l->kw)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, -1, 1, 0);
    if (l->op == ESNN_OP_SUMPOOL2D && (l->pt | l->pl | l->pb | l->pr) != 0u)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, -1, 0, (uint32_t)l->pt | l->pl | l->pb | l->pr);
    ho = out_extent(in->dims[1], l->pt, l->pb, l->kh, l->sh);
    wo = out_extent(in->dims[2], l->pl, l->pr, l->kw, l->sw);
    if (ho == 0u || wo == 0u || out->dims[0] != c || out->dims[1] != ho || out->dims[2] != wo)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, l->out, ho * 65536u + wo,
                         (uint32_t)out->dims[1] * 65536u + out->dims[2]);
    return ESNN_OK;
}

static int same_shape(const esnn_tdesc *a, const esnn_tdesc *b)
{
    return a->rank == b->rank && a->dims[0] == b->dims[0] && a->dims[1] == b->dims[1] &&
           a->dims[2] == b->dims[2];
}

/* COUPLE: output of the input's shape with an even channel count; rank 1 has no
 * kernel bytes (F is dense), rank 3 an odd "same" convolution of stride 1. */
static esnn_status check_couple(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                                int32_t li, esnn_diag *d)
{
    uint32_t geo = (uint32_t)l->kh | l->kw | l->sh | l->sw | l->pt | l->pl | l->pb | l->pr;
    if (!same_shape(in, out))
        return esnn_fail(d, ESNN_ERR_SHAPE, li, l->out, in->numel, out->numel);
    if (out->dims[0] % 2u)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, l->out, 2, out->dims[0]);
    if (out->rank == 1u)
        return geo ? esnn_fail(d, ESNN_ERR_RESERVED, li, -1, 0, geo) : ESNN_OK;
    if (!(l->kh & 1u) || !(l->kw & 1u) || l->sh != 1u || l->sw != 1u ||
        l->pt != (l->kh - 1u) / 2u || l->pb != l->pt || l->pl != (l->kw - 1u) / 2u ||
        l->pr != l->pl)
        return esnn_fail(d, ESNN_ERR_SHAPE, li, -1, (uint32_t)l->kh * 256u + l->kw,
                         (uint32_t)l->pt * 256u + l->pl);
    return ESNN_OK;
}

/* Geometry and exact parameter lengths for the op. */
static esnn_status check_shapes(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *in1,
                                const esnn_tdesc *out, int32_t li, esnn_diag *d)
{
    uint32_t c = esnn_param_channels(l, out);
    uint64_t k = 0;
    esnn_status s = ESNN_OK;
    if (l->op == ESNN_OP_COUPLE) {
        s = check_couple(l, in, out, li, d);
        k = (uint64_t)c * (out->rank == 1u ? 1u : (uint32_t)l->kh * l->kw);
    } else if (l->op == ESNN_OP_DENSE) {
        if (out->rank != 1u)
            return esnn_fail(d, ESNN_ERR_SHAPE, li, l->out, 1, out->rank);
        k = in->numel;
    } else if (l->op == ESNN_OP_ADD) {
        if (!same_shape(in, out) || !same_shape(in1, out))
            return esnn_fail(d, ESNN_ERR_SHAPE, li, same_shape(in, out) ? l->in1 : l->in0,
                             out->numel, same_shape(in, out) ? in1->numel : in->numel);
        s = want_len(l, ESNN_SEC_M, 4ull * c, li, d);
    } else {
        s = check_window(l, in, out, l->op == ESNN_OP_CONV2D ? out->dims[0] : in->dims[0], li, d);
        k = (uint64_t)in->dims[0] * l->kh * l->kw;
    }
    if (s == ESNN_OK && l->op != ESNN_OP_ADD && l->op != ESNN_OP_SUMPOOL2D) {
        s = want_len(l, ESNN_SEC_W, k * c, li, d);
        if (s == ESNN_OK)
            s = want_len(l, ESNN_SEC_B, 4ull * c, li, d);
    }
    if (s == ESNN_OK && esnn_spiking(l->neuron))
        s = want_len(l, ESNN_SEC_S, c, li, d);
    return s;
}

/* Parameter values: threshold shifts 0..20; an I32 (current) input of ADD is
 * already a total, so it can only be passed through with multiplier 1, and a causal
 * blob (which needs per-step currents) cannot read one at all. */
static esnn_status check_values(const uint8_t *b, const esnn_hdr *h, const esnn_ldesc *l,
                                const esnn_tdesc *in, const esnn_tdesc *in1, uint32_t c,
                                int32_t li, esnn_diag *d)
{
    uint32_t i;
    if (l->op == ESNN_OP_ADD && (h->flags & ESNN_HDR_CAUSAL) &&
        (in->dtype == ESNN_DTYPE_I32 || in1->dtype == ESNN_DTYPE_I32))
        return esnn_fail(d, ESNN_ERR_DTYPE, li, in->dtype == ESNN_DTYPE_I32 ? l->in0 : l->in1,
                         ESNN_DTYPE_U8, ESNN_DTYPE_I32);
    for (i = 0; esnn_spiking(l->neuron) && i < c; i++) {
        if (b[l->off[ESNN_SEC_S] + i] > ESNN_MAX_SHIFT)
            return esnn_fail(d, ESNN_ERR_SHIFT, li, -1, ESNN_MAX_SHIFT, b[l->off[ESNN_SEC_S] + i]);
    }
    if (l->op != ESNN_OP_ADD)
        return ESNN_OK;
    for (i = 0; i < c; i++) {
        int16_t m0 = esnn_rd_i16(b + l->off[ESNN_SEC_M] + 2u * i);
        int16_t m1 = esnn_rd_i16(b + l->off[ESNN_SEC_M] + 2u * (c + i));
        if (in->dtype == ESNN_DTYPE_I32 && m0 != 1)
            return esnn_fail(d, ESNN_ERR_DTYPE, li, l->in0, 1, (uint32_t)(uint16_t)m0);
        if (in1->dtype == ESNN_DTYPE_I32 && m1 != 1)
            return esnn_fail(d, ESNN_ERR_DTYPE, li, l->in1, 1, (uint32_t)(uint16_t)m1);
    }
    return ESNN_OK;
}

esnn_status esnn_validate_layer(const uint8_t *blob, const esnn_hdr *h, uint32_t li,
                                const esnn_ldesc *l, esnn_diag *d)
{
    esnn_tdesc in, in1, out;
    int32_t i = (int32_t)li;
    esnn_status s = check_codes(h, l, i, d);
    if (s == ESNN_OK)
        s = check_sections(h, l, i, d);
    if (s == ESNN_OK)
        s = check_indices(h, l, i, d);
    if (s != ESNN_OK)
        return s;
    esnn_read_tensor(blob, h, l->in0, &in);
    esnn_read_tensor(blob, h, l->op == ESNN_OP_ADD ? l->in1 : l->in0, &in1);
    esnn_read_tensor(blob, h, l->out, &out);
    s = check_dtypes(l, &in, &out, i, d);
    if (s == ESNN_OK)
        s = check_shapes(l, &in, &in1, &out, i, d);
    if (s == ESNN_OK)
        s = check_values(blob, h, l, &in, &in1, esnn_param_channels(l, &out), i, d);
    return s;
}
