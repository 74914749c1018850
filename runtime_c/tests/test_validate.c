/* test_validate.c - malformed blobs: every header, table and model rule of format.md
 * refused with its status (and the causal and COUPLE rules of formats 1.1 and 1.2). */
#include "test_runtime.h"

static esnn_status val(const blob_t *b, esnn_diag *d)
{
    return esnn_validate(b->p, b->n, NULL, d);
}

/* Corrupt one little-endian field at byte offset off, fix the CRC, validate. */
static void expect_field(uint32_t off, int bytes, uint32_t v, esnn_status want, const char *what)
{
    blob_t b = base_blob();
    esnn_diag d;
    esnn_status s;
    if (bytes == 1)
        b.p[off] = (uint8_t)v;
    else if (bytes == 2)
        tb_put16(b.p + off, v);
    else
        tb_put32(b.p + off, v);
    tb_fix_crc(b.p);
    s = val(&b, &d);
    EXPECT_ST(s, want, what);
    CHECK(d.status == (int32_t)s, "%s: diag.status %d", what, d.status);
    free(b.p);
}

void test_malformed_header(void)
{
    blob_t b = base_blob();
    esnn_diag d;
    uint32_t stored;
    EXPECT_ST(val(&b, &d), ESNN_OK, "base blob valid");
    EXPECT_ST(esnn_validate(b.p, 63, NULL, &d), ESNN_ERR_TRUNCATED, "63 bytes");
    EXPECT_ST(esnn_validate(b.p, b.n - 1, NULL, &d), ESNN_ERR_TRUNCATED, "total > len");
    CHECK(d.expected == b.n && d.actual == b.n - 1, "truncated diag %u %u", d.expected, d.actual);
    b.p[0] = 'X';
    EXPECT_ST(val(&b, &d), ESNN_ERR_MAGIC, "bad magic");
    b.p[0] = 'E';
    tb_put16(b.p + 4, 2);
    EXPECT_ST(val(&b, &d), ESNN_ERR_VERSION, "version 2");
    tb_put16(b.p + 4, 1);
    tb_put16(b.p + 6, 2);  /* minor versions up to 1.2 are read (not CRC-covered: < 16) */
    EXPECT_ST(val(&b, &d), ESNN_OK, "minor version 2 accepted");
    tb_put16(b.p + 6, 3);
    EXPECT_ST(val(&b, &d), ESNN_ERR_VERSION, "minor version 3 refused");
    CHECK(d.expected == 2u && d.actual == 3u, "minor diag %u %u", d.expected, d.actual);
    tb_put16(b.p + 6, 0);
    stored = tb_get32(b.p + 12);
    b.p[b.n - 1] ^= 0x40u;
    EXPECT_ST(val(&b, &d), ESNN_ERR_CRC, "flipped byte");
    CHECK(d.expected == stored && d.actual != stored, "crc diag");
    free(b.p);

    expect_field(8, 4, 63, ESNN_ERR_TRUNCATED, "total_length 63");
    expect_field(16, 2, 0, ESNN_ERR_LIMITS, "0 layers");
    expect_field(16, 2, 65, ESNN_ERR_LIMITS, "65 layers");
    expect_field(18, 2, 1, ESNN_ERR_LIMITS, "1 tensor");
    expect_field(20, 2, 200, ESNN_ERR_GRAPH, "input index out of range");
    expect_field(22, 2, 0, ESNN_ERR_GRAPH, "output == input");
    expect_field(24, 2, 0, ESNN_ERR_STEPS, "default_steps 0");
    expect_field(24, 2, 64, ESNN_ERR_STEPS, "default_steps 64");
    expect_field(26, 2, 1, ESNN_ERR_RESERVED, "header reserved");
    expect_field(28, 4, 66, ESNN_ERR_ALIGN, "layer table misaligned");
    expect_field(32, 4, 0x1000002u, ESNN_ERR_ALIGN, "tensor table misaligned");
    expect_field(36, 4, 0x1008u, ESNN_ERR_ALIGN, "scratch not multiple of 16");
    expect_field(40, 4, 0x408u, ESNN_ERR_ALIGN, "data misaligned");
    expect_field(28, 4, 0x7FFFFF00u, ESNN_ERR_BOUNDS, "layer table out of blob");
    expect_field(28, 4, 32, ESNN_ERR_BOUNDS, "layer table inside header");
    expect_field(44, 4, 0xFFFFFFF0u, ESNN_ERR_BOUNDS, "data length huge");
    expect_field(32, 4, 64, ESNN_ERR_BOUNDS, "tensor table overlaps layer table");
    expect_field(60, 4, 0, ESNN_ERR_RESERVED, "meta offset without length");
}

/* Offsets inside the base blob: tensor i, layer i. */
static uint32_t T_(int i) { blob_t b = base_blob(); uint32_t o = tb_tensor_at(b.p, i); free(b.p); return o; }

static uint32_t L_(int i) { blob_t b = base_blob(); uint32_t o = tb_layer_at(b.p, i); free(b.p); return o; }

/* A 32-bit field of the base blob (e.g. data_offset, a section offset). */
static uint32_t F_(uint32_t off) { blob_t b = base_blob(); uint32_t v = tb_get32(b.p + off); free(b.p); return v; }

void test_malformed_tables(void)
{
    /* base: t0 in (2,8,8) t1 (4,8,8) t2 pool (4,4,4) t3 I32 (4,4,4) t4 (4,4,4) t5 (6,2,2)
     * t6 I32 (10); L0 conv IF, L1 pool, L2 conv NONE, L3 add IF, L4 conv IF, L5 dense */
    expect_field(T_(1) + 0, 1, 3, ESNN_ERR_DTYPE, "tensor dtype 3");
    expect_field(T_(1) + 1, 1, 2, ESNN_ERR_SHAPE, "tensor rank 2");
    expect_field(T_(1) + 2, 2, 1, ESNN_ERR_RESERVED, "tensor reserved");
    expect_field(T_(1) + 10, 2, 1, ESNN_ERR_RESERVED, "tensor reserved 2");
    expect_field(T_(1) + 4, 2, 0, ESNN_ERR_SHAPE, "tensor dim 0");
    expect_field(T_(6) + 6, 2, 2, ESNN_ERR_SHAPE, "rank-1 dims[1] != 1");
    expect_field(T_(1) + 6, 2, 60000, ESNN_ERR_LIMITS, "numel > 65535");
    expect_field(T_(1) + 12, 4, 8, ESNN_ERR_ALIGN, "arena offset misaligned");
    expect_field(T_(1) + 12, 4, 0x100000u, ESNN_ERR_BOUNDS, "tensor beyond scratch");
    expect_field(T_(0) + 0, 1, 2, ESNN_ERR_DTYPE, "network input I32");

    expect_field(L_(0) + 0, 1, 9, ESNN_ERR_OP, "unknown op");
    expect_field(L_(0) + 0, 1, 6, ESNN_ERR_OP, "op 6");
    expect_field(L_(0) + 0, 1, ESNN_OP_COUPLE, ESNN_ERR_OP, "COUPLE in a 1.0 blob");
    expect_field(L_(0) + 3, 1, ESNN_LF_TARGET_HI, ESNN_ERR_RESERVED, "TARGET_HI on conv");
    expect_field(L_(0) + 1, 1, 3, ESNN_ERR_OP, "unknown neuron");
    expect_field(L_(1) + 1, 1, 1, ESNN_ERR_OP, "sumpool with IF");
    expect_field(L_(0) + 2, 1, 1, ESNN_ERR_SHIFT, "leak on IF");
    expect_field(L_(0) + 3, 1, 1, ESNN_ERR_RESERVED, "layer flags");
    expect_field(L_(0) + 10, 2, 1, ESNN_ERR_RESERVED, "layer reserved");
    expect_field(L_(0) + 60, 1, 1, ESNN_ERR_RESERVED, "layer tail reserved");
    expect_field(L_(0) + 6, 2, 3, ESNN_ERR_RESERVED, "in1 on conv");
    expect_field(L_(5) + 12, 1, 1, ESNN_ERR_RESERVED, "kernel on dense");
    expect_field(L_(1) + 20, 4, 0x400u, ESNN_ERR_RESERVED, "weights on sumpool");
    expect_field(L_(5) + 36, 4, 0x400u, ESNN_ERR_RESERVED, "shift offset on NONE");
    expect_field(L_(0) + 20, 4, F_(40) + 8, ESNN_ERR_ALIGN,
                 "weights misaligned");
    expect_field(L_(0) + 28, 4, F_(40) + 2, ESNN_ERR_ALIGN,
                 "bias misaligned");
    expect_field(L_(0) + 20, 4, 0x7FFFFFF0u, ESNN_ERR_BOUNDS, "weights outside data");
    expect_field(L_(0) + 20, 4, 16, ESNN_ERR_BOUNDS, "weights before data");
    expect_field(L_(0) + 4, 2, 40, ESNN_ERR_GRAPH, "in0 out of range");
    expect_field(L_(0) + 8, 2, 0, ESNN_ERR_GRAPH, "writes the network input");
    expect_field(L_(1) + 4, 2, 0, ESNN_ERR_GRAPH, "sumpool reads network input");
    expect_field(L_(2) + 4, 2, 4, ESNN_ERR_GRAPH, "reads a later tensor");
    expect_field(L_(5) + 8, 2, 5, ESNN_ERR_DTYPE, "second writer (I32 to U8 t5)");
    expect_field(L_(1) + 4, 2, 3, ESNN_ERR_DTYPE, "sumpool reads I32");
    expect_field(L_(2) + 1, 1, 1, ESNN_ERR_DTYPE, "IF conv writing I32");
    expect_field(L_(0) + 24, 4, 4 * 2 * 9 - 1, ESNN_ERR_SHAPE, "weights length");
    expect_field(L_(0) + 32, 4, 12, ESNN_ERR_SHAPE, "bias length");
    expect_field(L_(0) + 12, 1, 5, ESNN_ERR_SHAPE, "kernel changes Ho");
    expect_field(L_(0) + 16, 1, 3, ESNN_ERR_SHAPE, "pad >= kernel");
    expect_field(L_(0) + 14, 1, 0, ESNN_ERR_SHAPE, "stride 0");
    expect_field(L_(1) + 16, 1, 1, ESNN_ERR_SHAPE, "sumpool padding");
    expect_field(T_(4) + 4, 2, 5, ESNN_ERR_SHAPE, "add shape mismatch");
    expect_field(T_(6) + 1, 1, 3, ESNN_ERR_SHAPE, "dense output rank 3");
    expect_field(L_(3) + 44, 4, 0x7FFFFFF0u, ESNN_ERR_BOUNDS, "mult outside data");
}

/* Blobs that need a rebuilt model rather than a poked field. */
void test_malformed_models(void)
{
    tb_model m;
    blob_t b;
    esnn_diag d;
    int8_t big[128];
    int32_t zb[5] = {0, 0, 0, 0, 0};
    int i, l;
    /* shift 21 */
    g_rng = 0xC0FFEEu;
    random_net(&m, 0, 0);
    m.data[m.l[0].off[2]] = 21;
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_SHIFT, "shift 21");
    CHECK(d.layer == 0 && d.actual == 21u, "shift diag layer %d actual %u", d.layer, d.actual);
    free(b.p);
    /* LIF leak 0 and 16 */
    m.data[m.l[0].off[2]] = 11;
    m.l[0].neuron = ESNN_NEURON_LIF;
    m.l[0].leak = 0;
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_SHIFT, "LIF leak 0");
    free(b.p);
    m.l[0].leak = 16;
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_SHIFT, "LIF leak 16");
    free(b.p);
    m.l[0].neuron = ESNN_NEURON_IF;
    m.l[0].leak = 0;
    /* ADD: an I32 input needs multiplier 1 */
    tb_put16(m.data + m.l[3].off[3], 2);
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_DTYPE, "I32 input multiplier 2");
    free(b.p);
    tb_put16(m.data + m.l[3].off[3], 1);
    /* overflow: a huge bias on the first conv (reads the network input: 63*|b|) */
    tb_put32(m.data + m.l[0].off[1], 40000000u);
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_OVERFLOW, "bias overflow");
    CHECK(d.layer == 0 && d.expected == 0x7FFFFFFFu, "overflow diag layer %d", d.layer);
    free(b.p);
    tb_put32(m.data + m.l[0].off[1], 0);
    /* overflow through the ADD: producer bound * 1 + |m1| * 255 with m1 = -32768 and a
     * producer bound near 2^31 / 2 */
    tb_put16(m.data + m.l[3].off[3] + 8, 0x8000u);
    for (i = 0; i < 4; i++)
        tb_put32(m.data + m.l[2].off[1] + 4u * (uint32_t)i, 34000000u);
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_OVERFLOW, "add overflow");
    CHECK(d.layer == 3, "add overflow at layer 3: %d", d.layer);
    free(b.p);
    tb_free(&m);

    /* overlap of a layer's input and output ranges */
    g_rng = 0xC0FFEEu;
    random_net(&m, 0, 0);
    m.t[2].arena_offset = m.t[1].arena_offset;
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_GRAPH, "input/output overlap");
    free(b.p);
    /* liveness: t2 (pool sums, read again by the ADD at layer 3) clobbered by layer 2 */
    g_rng = 0xC0FFEEu;
    tb_free(&m);
    random_net(&m, 0, 0);
    m.t[3].arena_offset = m.t[1].arena_offset;  /* t3 over t1: fine, t1 is dead */
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_OK, "reusing a dead tensor's range");
    free(b.p);
    m.t[4].arena_offset = m.t[2].arena_offset - 0;  /* ADD out over its own input t2 */
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_GRAPH, "add output over input");
    free(b.p);
    m.t[4].arena_offset = m.t[1].arena_offset + 256;
    m.t[3].arena_offset = m.t[2].arena_offset;  /* layer 2 writes over t2, read by layer 3 */
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_GRAPH, "live tensor clobbered");
    CHECK(d.layer == 2 && d.tensor == 2, "liveness diag layer %d tensor %d", d.layer, d.tensor);
    free(b.p);
    tb_free(&m);
    /* the network output clobbered after it was written */
    g_rng = 0xC0FFEEu;
    random_net(&m, 1, 0);
    m.output = 2;
    m.t[4].arena_offset = m.t[2].arena_offset;
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_GRAPH, "output clobbered");
    free(b.p);
    tb_free(&m);
    /* a tensor nobody writes */
    g_rng = 0xC0FFEEu;
    random_net(&m, 1, 0);
    tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 4, 1, 1);
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_GRAPH, "orphan tensor");
    CHECK(d.tensor == 5, "orphan diag tensor %d", d.tensor);
    free(b.p);
    tb_free(&m);
    /* two writers of one tensor, graph order */
    g_rng = 0xC0FFEEu;
    random_net(&m, 1, 0);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_NONE, 3, -1, 4);
    memset(big, 1, sizeof big);
    tb_weights(&m, l, big, 16 * 5);
    tb_bias(&m, l, zb, 5);
    b = build(&m);
    EXPECT_ST(val(&b, &d), ESNN_ERR_GRAPH, "second writer");
    free(b.p);
    tb_free(&m);
}

static void expect_invalid(blob_t b, esnn_status want, const char *what)
{
    EXPECT_ST(esnn_validate(b.p, b.n, NULL, NULL), want, what);
    free(b.p);
}

void test_causal_flags(void)
{
    const uint32_t C = ESNN_HDR_CAUSAL;
    blob_t v10 = causal_toy(ESNN_NEURON_LIF, 1, 0, C, 0);
    tb_put16(v10.p + 6, 0);  /* 1.0 blob with a flag */
    tb_fix_crc(v10.p);
    expect_invalid(v10, ESNN_ERR_RESERVED, "flags in a 1.0 blob");
    expect_invalid(causal_toy(ESNN_NEURON_LIF, 1, 0, 0x4u | C, 0), ESNN_ERR_RESERVED, "header bit 2");
    expect_invalid(causal_toy(ESNN_NEURON_LIF, 1, 0, ESNN_HDR_SEQUENCE, 0), ESNN_ERR_RESERVED,
                   "sequence without causal");
    expect_invalid(causal_toy(ESNN_NEURON_LIF, 1, 0, 0, ESNN_LF_STRICT), ESNN_ERR_RESERVED,
                   "layer flags without causal");
    expect_invalid(causal_toy(ESNN_NEURON_LIF, 1, 0, C, 0x8u), ESNN_ERR_RESERVED, "layer bit 3");
    expect_invalid(causal_toy(ESNN_NEURON_LI, 1, 0, C, ESNN_LF_STRICT), ESNN_ERR_RESERVED,
                   "flags on LI");
    expect_invalid(causal_toy(ESNN_NEURON_NONE, 0, 0, C, ESNN_LF_DELAYED), ESNN_ERR_RESERVED,
                   "flags on NONE");
    expect_invalid(causal_toy(ESNN_NEURON_LI, 1, 0, 0, 0), ESNN_ERR_OP, "LI without causal");
    expect_invalid(causal_toy(ESNN_NEURON_LI, 0, 0, C, 0), ESNN_ERR_SHIFT, "LI leak 0");
    expect_invalid(causal_toy(4, 1, 0, C, 0), ESNN_ERR_OP, "neuron 4");
    {   /* LI with a threshold section: unused pair not (0, 0) */
        blob_t b = causal_toy(ESNN_NEURON_LI, 1, 0, C, 0);
        blob_t f = causal_toy(ESNN_NEURON_LIF, 1, 0, C, 0);
        uint32_t at = tb_layer_at(b.p, 0), af = tb_layer_at(f.p, 0);
        tb_put32(b.p + at + 36, tb_get32(f.p + af + 36));
        tb_put32(b.p + at + 40, 1);
        tb_fix_crc(b.p);
        expect_invalid(b, ESNN_ERR_RESERVED, "LI with shifts");
        free(f.p);
    }
}

/* Edits of the random couple nets (layer 1 is the first COUPLE). */
static void e_neuron_none(tb_model *m) { m->l[1].neuron = ESNN_NEURON_NONE; }

static void e_reads_input(tb_model *m) { m->l[1].in0 = 0; }

static void e_conv_even(tb_model *m) { tb_geom(m, 1, 2, 3, 1, 1, 0, 1, 1, 1); }

static void e_conv_stride(tb_model *m) { tb_geom(m, 1, 3, 3, 2, 1, 1, 1, 1, 1); }

static void e_conv_pads(tb_model *m) { tb_geom(m, 1, 3, 3, 1, 1, 1, 0, 1, 2); }

static void e_dense_geo(tb_model *m) { tb_geom(m, 1, 1, 1, 1, 1, 0, 0, 0, 0); }

static void e_flag_bit0(tb_model *m) { m->l[1].flags |= ESNN_LF_RESET_ZERO; }

static void e_flag_dense(tb_model *m) { m->l[0].flags = ESNN_LF_TARGET_HI; }

static void e_out_shape(tb_model *m) { m->t[2].dims[0] = 38; }

static void e_minor3(tb_model *m) { m->version_minor = 3; }

static void e_wlen(tb_model *m) { m->l[1].len[0] -= 1u; }

static void e_shift_len(tb_model *m) { m->l[1].len[2] = 40; }

static void e_overlap(tb_model *m) { m->t[2].arena_offset = m->t[1].arena_offset; }

/* bias of the last target channel: 63 * |b| >= 2^31 */
static void e_bias(tb_model *m) { tb_put32(m->data + m->l[1].off[1] + 4u * 19u, 40000000u); }

static void e_two_readers(tb_model *m)
{
    /* t1 read by the COUPLE (layer 1) and by a second readout layer */
    int o = tb_add_tensor(m, ESNN_DTYPE_I32, 1, 6, 1, 1);
    int l = tb_add_layer(m, ESNN_OP_DENSE, ESNN_NEURON_NONE, 1, -1, o);
    rand_params(m, l, 6 * 40, 10, 10, 0, 0);
    m->output = 6;
}

static void e_two_couples(tb_model *m)
{
    /* layer 2 (COUPLE) reads t1 like layer 1: two COUPLE readers */
    m->l[2].in0 = 1;
}

static void e_odd(tb_model *m)
{
    /* 39 channels: stem, couple and readout rebuilt around an odd width */
    int8_t w[40 * 40];
    int32_t b[40];
    uint8_t s[40];
    memset(w, 1, sizeof w);
    memset(b, 0, sizeof b);
    memset(s, 4, sizeof s);
    tb_free(m);
    tb_init(m);
    tb_add_tensor(m, ESNN_DTYPE_U8, 1, 8, 1, 1);
    tb_add_tensor(m, ESNN_DTYPE_U8, 1, 39, 1, 1);
    tb_add_tensor(m, ESNN_DTYPE_U8, 1, 39, 1, 1);
    tb_add_layer(m, ESNN_OP_DENSE, ESNN_NEURON_IF, 0, -1, 1);
    tb_weights(m, 0, w, 39 * 8);
    tb_bias(m, 0, b, 39);
    tb_shift(m, 0, s, 39);
    tb_add_layer(m, ESNN_OP_COUPLE, ESNN_NEURON_IF, 1, -1, 2);
    tb_weights(m, 1, w, 19 * 19);
    tb_bias(m, 1, b, 19);
    tb_shift(m, 1, s, 19);
}

void test_couple_hostile(void)
{
    static const struct {
        int variant;
        void (*edit)(tb_model *);
        esnn_status want;
        const char *what;
    } cases[] = {
        {0, NULL, ESNN_OK, "couple mlp valid"},
        {1, NULL, ESNN_OK, "couple cnn valid"},
        {0, e_odd, ESNN_ERR_SHAPE, "odd channel count"},
        {0, e_neuron_none, ESNN_ERR_OP, "COUPLE with neuron NONE"},
        {0, e_flag_bit0, ESNN_ERR_RESERVED, "COUPLE with RESET_ZERO"},
        {0, e_flag_dense, ESNN_ERR_RESERVED, "TARGET_HI on DENSE"},
        {0, e_reads_input, ESNN_ERR_GRAPH, "COUPLE reads the network input"},
        {0, e_two_readers, ESNN_ERR_GRAPH, "COUPLE input read by a DENSE too"},
        {0, e_two_couples, ESNN_ERR_GRAPH, "COUPLE input read by two COUPLEs"},
        {0, e_bias, ESNN_ERR_OVERFLOW, "COUPLE bias overflow (last target channel)"},
        {0, e_dense_geo, ESNN_ERR_RESERVED, "kernel bytes on a rank-1 COUPLE"},
        {0, e_out_shape, ESNN_ERR_SHAPE, "output shape != input shape"},
        {0, e_minor3, ESNN_ERR_VERSION, "format 1.3"},
        {0, e_wlen, ESNN_ERR_SHAPE, "weights (C/2)^2 - 1 bytes"},
        {0, e_shift_len, ESNN_ERR_SHAPE, "C shifts instead of C/2"},
        {0, e_overlap, ESNN_ERR_GRAPH, "COUPLE input and output overlap"},
        {1, e_conv_even, ESNN_ERR_SHAPE, "even conv kernel"},
        {1, e_conv_stride, ESNN_ERR_SHAPE, "conv stride 2"},
        {1, e_conv_pads, ESNN_ERR_SHAPE, "conv not 'same'"},
    };
    esnn_diag d;
    uint32_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blob_t b = couple_variant(cases[i].variant, cases[i].edit);
        EXPECT_ST(esnn_validate(b.p, b.n, NULL, &d), cases[i].want, cases[i].what);
        if (cases[i].edit == e_bias)
            CHECK(d.layer == 1 && d.expected == 0x7FFFFFFFu, "couple overflow diag layer %d",
                  d.layer);
        if (cases[i].edit == e_two_couples || cases[i].edit == e_two_readers)
            CHECK(d.tensor == 1 && d.actual == 2u, "readers diag tensor %d actual %u",
                  d.tensor, d.actual);
        free(b.p);
    }
    {   /* COUPLE in a 1.1 blob, and in a causal blob */
        blob_t b = couple_variant(0, NULL);
        tb_put16(b.p + 6, 1);
        tb_fix_crc(b.p);
        EXPECT_ST(esnn_validate(b.p, b.n, NULL, &d), ESNN_ERR_OP, "COUPLE in a 1.1 blob");
        tb_put16(b.p + 6, 2);
        tb_put16(b.p + 26, ESNN_HDR_CAUSAL);
        tb_fix_crc(b.p);
        EXPECT_ST(esnn_validate(b.p, b.n, NULL, &d), ESNN_ERR_OP, "COUPLE in a causal blob");
        CHECK(d.layer == 1, "causal COUPLE diag layer %d", d.layer);
        free(b.p);
    }
    {   /* a sum pool of a COUPLE output: per-step maximum 255, refused per call */
        tb_model m;
        blob_t b;
        uint32_t need;
        int p;
        couple_wrap_model(&m);
        p = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 2, 1, 1);
        tb_geom(&m, tb_add_layer(&m, ESNN_OP_SUMPOOL2D, ESNN_NEURON_NONE, 4, -1, p), 2, 2, 2,
                2, 0, 0, 0, 0);
        b = build(&m);
        EXPECT_ST(esnn_validate(b.p, b.n, NULL, &d), ESNN_OK, "pool of a COUPLE validates");
        EXPECT_ST(esnn_arena_bytes(b.p, b.n, ESNN_MODE_TSTEP, 1, &need, &d), ESNN_ERR_STEPS,
                  "pool of a COUPLE output");
        CHECK(d.layer == 4 && d.actual == 1020u, "pool diag layer %d actual %u", d.layer,
              d.actual);
        free(b.p);
        tb_free(&m);
    }
}
