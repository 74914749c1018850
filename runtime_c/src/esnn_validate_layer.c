/* esnn_validate_layer.c - the rules of one layer entry on its own (format.md 4):
 * op and neuron codes, reserved fields, section placement, dtypes, shapes, exact
 * section lengths and parameter ranges. Execution order, single writers, arena
 * overlaps and the overflow bound need the whole graph: see esnn_validate_graph.c
 * and esnn_validate_overflow.c.
 *
 * A failing rule returns its status and leaves its numbers in an esnn_why; the one
 * esnn_fail call at the end reports them. One report site instead of one per rule
 * keeps the firmware small (each inlined diag write costs about 20 bytes). */
#include "esnn_internal.h"

/* The numbers of the failed rule: tensor (-1: none), expected, actual. */
typedef struct {
    int32_t tensor;
    uint32_t expected, actual;
} esnn_why;

static esnn_status why(esnn_why *w, esnn_status s, int32_t tensor, uint32_t expected,
                       uint32_t actual)
{
    w->tensor = tensor;
    w->expected = expected;
    w->actual = actual;
    return s;
}

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

/* IF and LIF emit spikes (U8 output, threshold shifts); NONE and LI are I32 readouts. */
int esnn_spiking(uint8_t neuron)
{
    return neuron == ESNN_NEURON_IF || neuron == ESNN_NEURON_LIF;
}

/* What each op has and may do, indexed by op - 1 (a table instead of a chain of op
 * comparisons in every rule). */
enum {
    OP_WB = 1,     /* weights and biases (sections W, B) */
    OP_M = 2,      /* multipliers (section M) */
    OP_Q = 4,      /* may read the network input q */
    OP_FLAT = 8,   /* no window: the geometry bytes are zero */
    OP_CUR = 16,   /* may read currents (I32 tensors) */
    OP_IN1 = 32    /* a second input */
};
static const uint8_t op_props[5] = {
    OP_WB | OP_Q | OP_FLAT,            /* DENSE */
    OP_WB | OP_Q,                      /* CONV2D */
    0,                                 /* SUMPOOL2D */
    OP_M | OP_FLAT | OP_CUR | OP_IN1,  /* ADD */
    OP_WB                              /* COUPLE */
};

/* The op's properties; l->op is 1..5 (checked first by check_codes). */
static uint32_t props(const esnn_ldesc *l)
{
    return op_props[l->op - 1u];
}

/* DENSE, CONV2D and COUPLE have weights and biases. */
static int weighted(const esnn_ldesc *l)
{
    return (props(l) & OP_WB) != 0u;
}

/* Which (offset, length) pairs the op uses, as a bit mask over ESNN_SEC_*. */
static uint32_t used_sections(const esnn_ldesc *l)
{
    const uint32_t p = props(l);
    uint32_t s = esnn_spiking(l->neuron) ? (1u << ESNN_SEC_S) : 0u;
    if (p & OP_WB)
        s |= (1u << ESNN_SEC_W) | (1u << ESNN_SEC_B);
    if (p & OP_M)
        s |= 1u << ESNN_SEC_M;
    return s;  /* SUMPOOL2D: no parameters (and an IF neuron is refused before) */
}

static esnn_status check_codes(const esnn_hdr *h, const esnn_ldesc *l, esnn_why *w)
{
    const int causal = (h->flags & ESNN_HDR_CAUSAL) != 0u;
    const int leaky = l->neuron == ESNN_NEURON_LIF || l->neuron == ESNN_NEURON_LI;
    const int couple = l->op == ESNN_OP_COUPLE;
    const uint32_t max_neuron = causal ? ESNN_NEURON_LI : ESNN_NEURON_LIF;
    if (l->op < ESNN_OP_DENSE || l->op > ESNN_OP_COUPLE)
        return why(w, ESNN_ERR_OP, -1, ESNN_OP_COUPLE, l->op);
    /* COUPLE (1.2): IF neurons, averaged dynamics only (a causal blob needs per-step
     * currents, a COUPLE output holds totals) */
    if (couple && (h->version_minor < 2u || causal || l->neuron != ESNN_NEURON_IF))
        return why(w, ESNN_ERR_OP, -1, ESNN_NEURON_IF, l->neuron);
    /* LI (a leaky readout) only exists with causal dynamics */
    if (l->neuron > max_neuron)
        return why(w, ESNN_ERR_OP, -1, max_neuron, l->neuron);
    if (l->op == ESNN_OP_SUMPOOL2D && l->neuron != ESNN_NEURON_NONE)
        return why(w, ESNN_ERR_OP, -1, ESNN_NEURON_NONE, l->neuron);
    if (leaky ? (l->leak_shift < 1u || l->leak_shift > 15u) : l->leak_shift != 0u)
        return why(w, ESNN_ERR_SHIFT, -1, leaky ? 15u : 0u, l->leak_shift);
    /* neuron flags: known bits, on IF/LIF layers of causal blobs only; COUPLE has only
     * ESNN_LF_TARGET_HI, which no other op may set */
    if (couple ? (l->flags & ~ESNN_LF_TARGET_HI) != 0u
               : l->flags != 0u &&
                     (!causal || !esnn_spiking(l->neuron) || (l->flags & ~ESNN_LF_KNOWN)))
        return why(w, ESNN_ERR_RESERVED, -1, 0, l->flags);
    if (l->reserved != 0u || l->tail_nonzero)
        return why(w, ESNN_ERR_RESERVED, -1, 0, l->reserved);
    if ((props(l) & OP_FLAT) && l->geo != 0u)
        return why(w, ESNN_ERR_RESERVED, -1, 0, l->geo);
    if (!(props(l) & OP_IN1) && l->in1 != ESNN_NO_TENSOR)
        return why(w, ESNN_ERR_RESERVED, l->in1, ESNN_NO_TENSOR, l->in1);
    return ESNN_OK;
}

/* Used pairs: aligned and inside the data section; unused pairs: exactly (0, 0). */
static esnn_status check_sections(const esnn_hdr *h, const esnn_ldesc *l, esnn_why *w)
{
    static const uint8_t align[4] = {16u, 4u, 1u, 2u};
    const uint32_t used = used_sections(l);
    uint32_t s;
    for (s = 0; s < 4u; s++) {
        const uint32_t off = l->off[s], len = l->len[s];
        if (!(used & (1u << s))) {
            if ((off | len) != 0u)
                return why(w, ESNN_ERR_RESERVED, -1, 0, off | len);
            continue;
        }
        if (len == 0u)
            continue;  /* a missing section is a length mismatch, reported as SHAPE */
        if (off % align[s])
            return why(w, ESNN_ERR_ALIGN, -1, align[s], off);
        if (off < h->data_offset ||
            (uint64_t)off + len > (uint64_t)h->data_offset + h->data_length)
            return why(w, ESNN_ERR_BOUNDS, -1, h->data_offset + h->data_length,
                       esnn_sat32((uint64_t)off + len));
    }
    return ESNN_OK;
}

static esnn_status check_indices(const esnn_hdr *h, const esnn_ldesc *l, esnn_why *w)
{
    const uint32_t nt = h->num_tensors;
    if (l->in0 >= nt)
        return why(w, ESNN_ERR_GRAPH, l->in0, nt, l->in0);
    if ((props(l) & OP_IN1) && l->in1 >= nt)
        return why(w, ESNN_ERR_GRAPH, l->in1, nt, l->in1);
    if (l->out >= nt || l->out == h->input_tensor)
        return why(w, ESNN_ERR_GRAPH, l->out, nt, l->out);
    /* the network input holds q, not spikes: only DENSE/CONV2D may read it */
    if (!(props(l) & OP_Q) && (l->in0 == h->input_tensor || l->in1 == h->input_tensor))
        return why(w, ESNN_ERR_GRAPH, h->input_tensor, 0, 0);
    return ESNN_OK;
}

static esnn_status check_dtypes(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                                esnn_why *w)
{
    const uint32_t want = (l->op == ESNN_OP_SUMPOOL2D || esnn_spiking(l->neuron))
                              ? ESNN_DTYPE_U8 : ESNN_DTYPE_I32;
    if (!(props(l) & OP_CUR) && in->dtype != ESNN_DTYPE_U8)
        return why(w, ESNN_ERR_DTYPE, l->in0, ESNN_DTYPE_U8, in->dtype);
    if (out->dtype != want)
        return why(w, ESNN_ERR_DTYPE, l->out, want, out->dtype);
    return ESNN_OK;
}

/* Section s must be exactly n bytes long. */
static esnn_status want_len(const esnn_ldesc *l, uint32_t s, uint64_t n, esnn_why *w)
{
    if (l->len[s] != n)
        return why(w, ESNN_ERR_SHAPE, -1, esnn_sat32(n), l->len[s]);
    return ESNN_OK;
}

/* Output extent of a window: (in + pads - k) / stride + 1, or 0 when it does not fit. */
static uint32_t out_extent(uint32_t in, uint32_t pa, uint32_t pb, uint32_t k, uint32_t s)
{
    return in + pa + pb < k ? 0u : (in + pa + pb - k) / s + 1u;
}

static esnn_status check_window(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                                uint32_t c, esnn_why *w)
{
    uint32_t ho, wo;
    if (in->rank != 3u)
        return why(w, ESNN_ERR_SHAPE, l->in0, 3, in->rank);
    if (out->rank != 3u)
        return why(w, ESNN_ERR_SHAPE, l->out, 3, out->rank);
    if (!l->kh || !l->kw || !l->sh || !l->sw || l->pt >= l->kh || l->pb >= l->kh ||
        l->pl >= l->kw || l->pr >= l->kw)
        return why(w, ESNN_ERR_SHAPE, -1, 1, 0);
    if (l->op == ESNN_OP_SUMPOOL2D && (l->pt | l->pl | l->pb | l->pr) != 0u)
        return why(w, ESNN_ERR_SHAPE, -1, 0, (uint32_t)l->pt | l->pl | l->pb | l->pr);
    ho = out_extent(in->dims[1], l->pt, l->pb, l->kh, l->sh);
    wo = out_extent(in->dims[2], l->pl, l->pr, l->kw, l->sw);
    if (ho == 0u || wo == 0u || out->dims[0] != c || out->dims[1] != ho || out->dims[2] != wo)
        return why(w, ESNN_ERR_SHAPE, l->out, ho * 65536u + wo,
                   (uint32_t)out->dims[1] * 65536u + out->dims[2]);
    return ESNN_OK;
}

/* Out of line: three rules use it (firmware size). */
ESNN_NOINLINE static int same_shape(const esnn_tdesc *a, const esnn_tdesc *b)
{
    return a->rank == b->rank && a->dims[0] == b->dims[0] && a->dims[1] == b->dims[1] &&
           a->dims[2] == b->dims[2];
}

/* COUPLE: output of the input's shape with an even channel count; rank 1 has no
 * kernel bytes (F is dense), rank 3 an odd "same" convolution of stride 1. */
static esnn_status check_couple(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *out,
                                esnn_why *w)
{
    if (!same_shape(in, out))
        return why(w, ESNN_ERR_SHAPE, l->out, in->numel, out->numel);
    if (out->dims[0] % 2u)
        return why(w, ESNN_ERR_SHAPE, l->out, 2, out->dims[0]);
    if (out->rank == 1u)
        return l->geo ? why(w, ESNN_ERR_RESERVED, -1, 0, l->geo) : ESNN_OK;
    /* k = 2 * pad + 1 (odd, "same"), equal pads, stride 1 */
    if (l->kh != 2u * l->pt + 1u || l->kw != 2u * l->pl + 1u || l->pb != l->pt ||
        l->pr != l->pl || l->sh != 1u || l->sw != 1u)
        return why(w, ESNN_ERR_SHAPE, -1, (uint32_t)l->kh * 256u + l->kw,
                   (uint32_t)l->pt * 256u + l->pl);
    return ESNN_OK;
}

/* Geometry and exact parameter lengths for the op. */
static esnn_status check_shapes(const esnn_ldesc *l, const esnn_tdesc *in, const esnn_tdesc *in1,
                                const esnn_tdesc *out, esnn_why *w)
{
    const uint32_t c = esnn_param_channels(l, out);
    uint64_t k = 0;
    esnn_status s = ESNN_OK;
    if (l->op == ESNN_OP_COUPLE) {
        s = check_couple(l, in, out, w);
        k = (uint64_t)c * (out->rank == 1u ? 1u : (uint32_t)l->kh * l->kw);
    } else if (l->op == ESNN_OP_DENSE) {
        if (out->rank != 1u)
            return why(w, ESNN_ERR_SHAPE, l->out, 1, out->rank);
        k = in->numel;
    } else if (l->op == ESNN_OP_ADD) {
        if (!same_shape(in, out))
            return why(w, ESNN_ERR_SHAPE, l->in0, out->numel, in->numel);
        if (!same_shape(in1, out))
            return why(w, ESNN_ERR_SHAPE, l->in1, out->numel, in1->numel);
        s = want_len(l, ESNN_SEC_M, 4ull * c, w);
    } else {
        s = check_window(l, in, out, l->op == ESNN_OP_CONV2D ? out->dims[0] : in->dims[0], w);
        k = (uint64_t)in->dims[0] * l->kh * l->kw;
    }
    if (s == ESNN_OK && weighted(l)) {
        s = want_len(l, ESNN_SEC_W, k * c, w);
        if (s == ESNN_OK)
            s = want_len(l, ESNN_SEC_B, 4ull * c, w);
    }
    if (s == ESNN_OK && esnn_spiking(l->neuron))
        s = want_len(l, ESNN_SEC_S, c, w);
    return s;
}

/* Parameter values: threshold shifts 0..20; an I32 (current) input of ADD is
 * already a total, so it can only be passed through with multiplier 1, and a causal
 * blob (which needs per-step currents) cannot read one at all. */
static esnn_status check_values(const uint8_t *b, const esnn_hdr *h, const esnn_ldesc *l,
                                const esnn_tdesc *in, const esnn_tdesc *in1, uint32_t c,
                                esnn_why *w)
{
    const int i32_in0 = in->dtype == ESNN_DTYPE_I32, i32_in1 = in1->dtype == ESNN_DTYPE_I32;
    uint32_t i;
    if (l->op == ESNN_OP_ADD && (h->flags & ESNN_HDR_CAUSAL) && (i32_in0 || i32_in1))
        return why(w, ESNN_ERR_DTYPE, i32_in0 ? l->in0 : l->in1, ESNN_DTYPE_U8, ESNN_DTYPE_I32);
    for (i = 0; esnn_spiking(l->neuron) && i < c; i++) {
        if (b[l->off[ESNN_SEC_S] + i] > ESNN_MAX_SHIFT)
            return why(w, ESNN_ERR_SHIFT, -1, ESNN_MAX_SHIFT, b[l->off[ESNN_SEC_S] + i]);
    }
    for (i = 0; l->op == ESNN_OP_ADD && i < c; i++) {
        const uint32_t m0 = esnn_rd_u16(b + l->off[ESNN_SEC_M] + 2u * i);
        const uint32_t m1 = esnn_rd_u16(b + l->off[ESNN_SEC_M] + 2u * (c + i));
        if (i32_in0 && m0 != 1u)
            return why(w, ESNN_ERR_DTYPE, l->in0, 1, m0);
        if (i32_in1 && m1 != 1u)
            return why(w, ESNN_ERR_DTYPE, l->in1, 1, m1);
    }
    return ESNN_OK;
}

esnn_status esnn_validate_layer(const uint8_t *blob, const esnn_hdr *h, uint32_t li,
                                const esnn_ldesc *l, esnn_diag *d)
{
    esnn_tdesc in, in1, out;
    esnn_why w;
    esnn_status s = check_codes(h, l, &w);
    if (s == ESNN_OK)
        s = check_sections(h, l, &w);
    if (s == ESNN_OK)
        s = check_indices(h, l, &w);
    if (s == ESNN_OK) {
        esnn_read_tensor(blob, h, l->in0, &in);
        esnn_read_tensor(blob, h, (props(l) & OP_IN1) ? l->in1 : l->in0, &in1);
        esnn_read_tensor(blob, h, l->out, &out);
        s = check_dtypes(l, &in, &out, &w);
        if (s == ESNN_OK)
            s = check_shapes(l, &in, &in1, &out, &w);
        if (s == ESNN_OK)
            s = check_values(blob, h, l, &in, &in1, esnn_param_channels(l, &out), &w);
    }
    return s == ESNN_OK ? ESNN_OK : esnn_fail(d, s, (int32_t)li, w.tensor, w.expected, w.actual);
}
