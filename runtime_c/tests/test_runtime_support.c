/* test_runtime_support.c - what the runtime test families share (test_runtime.h):
 * building blobs, a deterministic RNG, running a blob, and the random model generators
 * (also used by write_seeds.c). */
#include "test_runtime.h"

int g_pass, g_fail;

blob_t build(const tb_model *m)
{
    static uint8_t tmp[TB_DATA_CAP + 65536];
    blob_t b;
    b.n = tb_build(m, tmp, sizeof tmp);
    b.p = (uint8_t *)malloc(b.n);
    memcpy(b.p, tmp, b.n);
    return b;
}

uint32_t g_rng = 0x12345678u;

uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* ------------------------------------------------------- hand-made models */

/* input (3) -> DENSE IF (3) [-> DENSE NONE (1) readout] */
blob_t dense_toy(int with_readout)
{
    static const int8_t w[9] = {1, 2, -1, -3, 0, 1, 0, 0, 1};
    static const int32_t b[3] = {5, -10, 2};
    static const uint8_t sh[3] = {5, 3, 6};
    static const int8_t w2[3] = {1, -1, 2};
    static const int32_t b2[1] = {3};
    tb_model m;
    blob_t r;
    int x, h, l;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 3, 1, 1);
    h = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 3, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_IF, x, -1, h);
    tb_weights(&m, l, w, 9);
    tb_bias(&m, l, b, 3);
    tb_shift(&m, l, sh, 3);
    if (with_readout) {
        int o = tb_add_tensor(&m, ESNN_DTYPE_I32, 1, 1, 1, 1);
        l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_NONE, h, -1, o);
        tb_weights(&m, l, w2, 3);
        tb_bias(&m, l, b2, 1);
    }
    m.default_steps = 4;
    r = build(&m);
    tb_free(&m);
    return r;
}

/* input (2,4,4) -> CONV 1x1 IF (identity, k 0: counts T or 0) -> SUMPOOL 2x2 s2
 * (sums up to 4T) -> COUPLE 3x3 lo -> COUPLE 1x3 hi: at T = 63 the targets wrap. */
void couple_wrap_model(tb_model *m)
{
    static const int8_t eye[4] = {1, 0, 0, 1}, w3[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const int8_t w13[3] = {1, -2, 1};
    static const int32_t b0[2] = {0, 0}, bf[1] = {1}, bg[1] = {-3};
    static const uint8_t s0[2] = {0, 0}, sf[1] = {2}, sg[1] = {1};
    int x, h, p, y1, y2, l;
    tb_init(m);
    x = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 4, 4);
    h = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 4, 4);
    p = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 2, 2);
    y1 = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 2, 2);
    y2 = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 2, 2);
    l = tb_add_layer(m, ESNN_OP_CONV2D, ESNN_NEURON_IF, x, -1, h);
    tb_geom(m, l, 1, 1, 1, 1, 0, 0, 0, 0);
    tb_weights(m, l, eye, 4);
    tb_bias(m, l, b0, 2);
    tb_shift(m, l, s0, 2);
    l = tb_add_layer(m, ESNN_OP_SUMPOOL2D, ESNN_NEURON_NONE, h, -1, p);
    tb_geom(m, l, 2, 2, 2, 2, 0, 0, 0, 0);
    l = tb_add_layer(m, ESNN_OP_COUPLE, ESNN_NEURON_IF, p, -1, y1);
    tb_geom(m, l, 3, 3, 1, 1, 1, 1, 1, 1);
    tb_weights(m, l, w3, 9);
    tb_bias(m, l, bf, 1);
    tb_shift(m, l, sf, 1);
    l = tb_add_layer(m, ESNN_OP_COUPLE, ESNN_NEURON_IF, y1, -1, y2);
    m->l[l].flags = ESNN_LF_TARGET_HI;
    tb_geom(m, l, 1, 3, 1, 1, 0, 1, 0, 1);
    tb_weights(m, l, w13, 3);
    tb_bias(m, l, bg, 1);
    tb_shift(m, l, sg, 1);
    m->default_steps = 63;
}

int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

/* 16-aligned heap arena of exactly n bytes when malloc already aligns (glibc, ASan). */
uint8_t *arena_alloc(uint32_t n, void **raw)
{
    uint8_t *p = (uint8_t *)malloc(n ? n : 1u);
    if (((uintptr_t)p & 15u) == 0) {
        *raw = p;
        return p;
    }
    free(p);
    p = (uint8_t *)malloc(n + 16u);
    *raw = p;
    return p + ((16u - ((uintptr_t)p & 15u)) & 15u);
}

/* Validate, size, init and invoke; copies the output totals to out[] as int64. */
esnn_status run(const blob_t *b, esnn_mode mode, uint32_t T, const uint8_t *in,
                       uint32_t in_len, int64_t *out, uint32_t *numel)
{
    uint32_t need = 0, i;
    esnn_model m;
    esnn_tensor t;
    void *raw;
    uint8_t *arena;
    esnn_status s = esnn_arena_bytes(b->p, b->n, mode, T, &need, NULL);
    if (s != ESNN_OK)
        return s;
    arena = arena_alloc(need, &raw);
    s = esnn_init(&m, b->p, b->n, arena, need, NULL);
    if (s == ESNN_OK)
        s = esnn_invoke(&m, in, in_len, mode, T, NULL);
    if (s == ESNN_OK)
        s = esnn_output(&m, &t);
    if (s == ESNN_OK) {
        for (i = 0; i < t.numel; i++) {
            if (t.dtype == ESNN_DTYPE_U8) {
                out[i] = ((const uint8_t *)t.data)[i];
            } else {
                int32_t v;
                memcpy(&v, (const uint8_t *)t.data + 4u * i, 4);
                out[i] = v;
            }
        }
        *numel = t.numel;
    }
    free(raw);
    return s;
}

void expect_out(const blob_t *b, esnn_mode mode, uint32_t T, const uint8_t *in,
                       uint32_t in_len, const int64_t *want, uint32_t n, const char *what)
{
    int64_t got[256];
    uint32_t numel = 0, i, bad = 0;
    esnn_status s = run(b, mode, T, in, in_len, got, &numel);
    EXPECT_ST(s, ESNN_OK, what);
    if (s != ESNN_OK)
        return;
    CHECK(numel == n, "%s: numel %u want %u", what, numel, n);
    for (i = 0; i < n && i < numel; i++) {
        if (got[i] != want[i] && bad++ < 4)
            printf("  %s mode %d T %u: out[%u] = %lld, want %lld\n", what, (int)mode, T, i,
                   (long long)got[i], (long long)want[i]);
    }
    CHECK(bad == 0, "%s (mode %d, T %u): %u mismatching outputs", what, (int)mode, T, bad);
}

/* Both modes must give the same totals for IF nets. */
void expect_both(const blob_t *b, uint32_t T, const uint8_t *in, uint32_t in_len,
                        const int64_t *want, uint32_t n, const char *what)
{
    expect_out(b, ESNN_MODE_ONESTEP, T, in, in_len, want, n, what);
    expect_out(b, ESNN_MODE_TSTEP, T, in, in_len, want, n, what);
}

void rand_params(tb_model *m, int l, uint32_t nw, int wmax, int bmax, int klo, int khi)
{
    static int8_t w[8192];
    int32_t b[256];
    uint8_t s[256];
    uint32_t i, c = m->t[m->l[l].out].dims[0];
    if (m->l[l].op == ESNN_OP_COUPLE)
        c /= 2u;  /* parameters of the target half */
    for (i = 0; i < nw; i++)
        w[i] = (int8_t)rnd_in(-wmax, wmax);
    for (i = 0; i < c; i++) {
        b[i] = rnd_in(-bmax, bmax);
        s[i] = (uint8_t)rnd_in(klo, khi);
    }
    if (nw)
        tb_weights(m, l, w, nw);
    if (m->l[l].op != ESNN_OP_ADD && m->l[l].op != ESNN_OP_SUMPOOL2D)
        tb_bias(m, l, b, c);
    if (m->l[l].neuron)
        tb_shift(m, l, s, c);
    if (m->l[l].neuron == ESNN_NEURON_LIF)
        m->l[l].leak = (uint8_t)rnd_in(1, 4);
}

/* Variant 0: conv(IF) -> sumpool -> conv(NONE) + ADD(I32, pool sums) IF -> conv s2
 * (IF) -> dense readout. Variant 1: dense MLP with a U8+U8 ADD. lif: LIF everywhere
 * an IF would be. */
void random_net(tb_model *m, int variant, int lif)
{
    int nr = lif ? ESNN_NEURON_LIF : ESNN_NEURON_IF, l, x, t1, t2, t3, t4, t5, t6, i;
    int16_t m0[16], m1[16];
    tb_init(m);
    if (variant == 0) {
        x = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 8, 8);
        t1 = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 4, 8, 8);
        t2 = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 4, 4, 4);
        t3 = tb_add_tensor(m, ESNN_DTYPE_I32, 3, 4, 4, 4);
        t4 = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 4, 4, 4);
        t5 = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 6, 2, 2);
        t6 = tb_add_tensor(m, ESNN_DTYPE_I32, 1, 10, 1, 1);
        l = tb_add_layer(m, ESNN_OP_CONV2D, nr, x, -1, t1);
        tb_geom(m, l, 3, 3, 1, 1, 1, 1, 1, 1);
        rand_params(m, l, 4 * 2 * 9, 60, 3000, 14, 16);
        l = tb_add_layer(m, ESNN_OP_SUMPOOL2D, 0, t1, -1, t2);
        tb_geom(m, l, 2, 2, 2, 2, 0, 0, 0, 0);
        l = tb_add_layer(m, ESNN_OP_CONV2D, 0, t2, -1, t3);
        tb_geom(m, l, 3, 3, 1, 1, 1, 1, 1, 1);
        rand_params(m, l, 4 * 4 * 9, 60, 100, 0, 0);
        l = tb_add_layer(m, ESNN_OP_ADD, nr, t3, t2, t4);
        for (i = 0; i < 4; i++) {
            m0[i] = 1;
            m1[i] = (int16_t)rnd_in(-100, 100);
        }
        tb_mult(m, l, m0, m1, 4);
        rand_params(m, l, 0, 0, 0, 7, 9);
        l = tb_add_layer(m, ESNN_OP_CONV2D, nr, t4, -1, t5);
        tb_geom(m, l, 3, 3, 2, 2, 1, 1, 0, 0);
        rand_params(m, l, 6 * 4 * 9, 60, 50, 5, 7);
        l = tb_add_layer(m, ESNN_OP_DENSE, 0, t5, -1, t6);
        rand_params(m, l, 10 * 24, 60, 50, 0, 0);
        m->meta = "{\"name\":\"test_runtime random conv net\"}";
    } else {
        x = tb_add_tensor(m, ESNN_DTYPE_U8, 1, 20, 1, 1);
        t1 = tb_add_tensor(m, ESNN_DTYPE_U8, 1, 16, 1, 1);
        t2 = tb_add_tensor(m, ESNN_DTYPE_U8, 1, 16, 1, 1);
        t3 = tb_add_tensor(m, ESNN_DTYPE_U8, 1, 16, 1, 1);
        t4 = tb_add_tensor(m, ESNN_DTYPE_I32, 1, 5, 1, 1);
        l = tb_add_layer(m, ESNN_OP_DENSE, nr, x, -1, t1);
        rand_params(m, l, 16 * 20, 100, 9000, 15, 16);
        l = tb_add_layer(m, ESNN_OP_DENSE, nr, t1, -1, t2);
        rand_params(m, l, 16 * 16, 100, 50, 6, 8);
        l = tb_add_layer(m, ESNN_OP_ADD, nr, t1, t2, t3);
        for (i = 0; i < 16; i++) {
            m0[i] = (int16_t)rnd_in(-300, 300);
            m1[i] = (int16_t)rnd_in(-300, 300);
        }
        tb_mult(m, l, m0, m1, 16);
        rand_params(m, l, 0, 0, 0, 4, 6);
        l = tb_add_layer(m, ESNN_OP_DENSE, 0, t3, -1, t4);
        rand_params(m, l, 5 * 16, 100, 50, 0, 0);
    }
    m->default_steps = 8;
}

/* A fresh copy of a valid multi-op blob to corrupt. */
blob_t base_blob(void)
{
    tb_model m;
    blob_t b;
    g_rng = 0xC0FFEEu;
    random_net(&m, 0, 0);
    b = build(&m);
    tb_free(&m);
    return b;
}

/* ------------------------------------------ causal dynamics (format 1.1) */

/* Mark a built blob as format 1.1 with header flags hf and layer 0 flags lf. */
void set_flags(blob_t *b, uint32_t hf, uint32_t lf)
{
    tb_put16(b->p + 6, 1);
    tb_put16(b->p + 26, hf);
    b->p[tb_layer_at(b->p, 0) + 3] = (uint8_t)lf;
    tb_fix_crc(b->p);
}

/* input (1) -> DENSE `neuron` (1), W = 1, b = bias, k = 2 (theta 4), leak `leak` */
blob_t causal_toy(int neuron, int leak, int32_t bias, uint32_t hf, uint32_t lf)
{
    static const int8_t w[1] = {1};
    static const uint8_t sh[1] = {2};
    tb_model m;
    blob_t r;
    int x, o, l;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 1, 1, 1);
    o = tb_add_tensor(&m, neuron == ESNN_NEURON_LI ? ESNN_DTYPE_I32 : ESNN_DTYPE_U8, 1, 1, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_DENSE, neuron, x, -1, o);
    m.l[l].leak = (uint8_t)leak;
    tb_weights(&m, l, w, 1);
    tb_bias(&m, l, &bias, 1);
    if (neuron == ESNN_NEURON_IF || neuron == ESNN_NEURON_LIF)
        tb_shift(&m, l, sh, 1);
    r = build(&m);
    tb_free(&m);
    set_flags(&r, hf, lf);
    return r;
}

/* Variant 0: dense stem (IF, 40) -> 4 COUPLE (halves of 20: the grouped dense kernel)
 * -> readout. Variant 1: conv stem (IF, 4x6x6) -> COUPLE 3x3, 1x3, 5x5, 1x1 (the patch,
 * plane and generic conv kernels) -> readout. Alternating targets lo, hi. */
void random_couple_net(tb_model *m, int variant)
{
    static const int geo[4][2] = {{3, 3}, {1, 3}, {5, 5}, {1, 1}};
    int l, x, t[6], i;
    tb_init(m);
    if (variant == 0) {
        x = tb_add_tensor(m, ESNN_DTYPE_U8, 1, 24, 1, 1);
        for (i = 0; i < 5; i++)
            t[i] = tb_add_tensor(m, ESNN_DTYPE_U8, 1, 40, 1, 1);
        t[5] = tb_add_tensor(m, ESNN_DTYPE_I32, 1, 6, 1, 1);
        l = tb_add_layer(m, ESNN_OP_DENSE, ESNN_NEURON_IF, x, -1, t[0]);
        rand_params(m, l, 40 * 24, 100, 9000, 14, 15);
        for (i = 0; i < 4; i++) {
            l = tb_add_layer(m, ESNN_OP_COUPLE, ESNN_NEURON_IF, t[i], -1, t[i + 1]);
            m->l[l].flags = (uint8_t)(i % 2 ? ESNN_LF_TARGET_HI : 0u);
            rand_params(m, l, 20 * 20, 60, 40, 4, 6);
        }
        l = tb_add_layer(m, ESNN_OP_DENSE, ESNN_NEURON_NONE, t[4], -1, t[5]);
        rand_params(m, l, 6 * 40, 100, 50, 0, 0);
    } else {
        x = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 2, 6, 6);
        for (i = 0; i < 5; i++)
            t[i] = tb_add_tensor(m, ESNN_DTYPE_U8, 3, 4, 6, 6);
        t[5] = tb_add_tensor(m, ESNN_DTYPE_I32, 1, 6, 1, 1);
        l = tb_add_layer(m, ESNN_OP_CONV2D, ESNN_NEURON_IF, x, -1, t[0]);
        tb_geom(m, l, 3, 3, 1, 1, 1, 1, 1, 1);
        rand_params(m, l, 4 * 2 * 9, 60, 3000, 14, 16);
        for (i = 0; i < 4; i++) {
            const int kh = geo[i][0], kw = geo[i][1];
            l = tb_add_layer(m, ESNN_OP_COUPLE, ESNN_NEURON_IF, t[i], -1, t[i + 1]);
            m->l[l].flags = (uint8_t)(i % 2 ? ESNN_LF_TARGET_HI : 0u);
            tb_geom(m, l, kh, kw, 1, 1, (kh - 1) / 2, (kw - 1) / 2, (kh - 1) / 2, (kw - 1) / 2);
            rand_params(m, l, 2u * 2u * (uint32_t)(kh * kw), 60, 40, 3, 6);
        }
        l = tb_add_layer(m, ESNN_OP_DENSE, ESNN_NEURON_NONE, t[4], -1, t[5]);
        rand_params(m, l, 6 * 144, 60, 50, 0, 0);
    }
    m->default_steps = 8;
}

blob_t couple_variant(int variant, void (*edit)(tb_model *))
{
    tb_model m;
    blob_t b;
    g_rng = 0xAB1Eu;
    random_couple_net(&m, variant);
    if (edit)
        edit(&m);
    b = build(&m);
    tb_free(&m);
    return b;
}
