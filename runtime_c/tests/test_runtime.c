/* test_runtime.c - unit tests of the edgesnn C runtime with hand-computed outputs,
 * a naive reference evaluator for random nets, and one provoking blob per status.
 *
 *   test_runtime                  run all tests, end with "N passed, M failed"
 *   test_runtime --write-blob P   write the random conv+pool+add+dense blob to P
 *   test_runtime --write-bench-blob P   write an MNIST-sized conv net to P
 *   test_runtime --write-couple-blob P [V]   write random reversible net V (0 dense, 1 conv)
 */
#include "edgesnn.h"
#include "test_builder.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;
#include "test_support.h"


#define EXPECT_ST(got, want, what) \
    CHECK((got) == (want), "%s: got %d (%s), want %d", what, (int)(got), \
          esnn_status_str(got), (int)(want))

/* ---------------------------------------------------------------- helpers */

typedef struct {
    uint8_t *p;
    uint32_t n;
} blob_t;

static blob_t build(const tb_model *m)
{
    static uint8_t tmp[TB_DATA_CAP + 65536];
    blob_t b;
    b.n = tb_build(m, tmp, sizeof tmp);
    b.p = (uint8_t *)malloc(b.n);
    memcpy(b.p, tmp, b.n);
    return b;
}

static uint32_t g_rng = 0x12345678u;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}
static int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

/* 16-aligned heap arena of exactly n bytes when malloc already aligns (glibc, ASan). */
static uint8_t *arena_alloc(uint32_t n, void **raw)
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
static esnn_status run(const blob_t *b, esnn_mode mode, uint32_t T, const uint8_t *in,
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

static void expect_out(const blob_t *b, esnn_mode mode, uint32_t T, const uint8_t *in,
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
static void expect_both(const blob_t *b, uint32_t T, const uint8_t *in, uint32_t in_len,
                        const int64_t *want, uint32_t n, const char *what)
{
    expect_out(b, ESNN_MODE_ONESTEP, T, in, in_len, want, n, what);
    expect_out(b, ESNN_MODE_TSTEP, T, in, in_len, want, n, what);
}

/* -------------------------------------------------------- basic functions */

static void test_crc_and_strings(void)
{
    const uint8_t v[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    int s;
    CHECK(esnn_crc32(0, v, 9) == 0xCBF43926u, "crc32 check value %08x",
          (unsigned)esnn_crc32(0, v, 9));
    CHECK(esnn_crc32(esnn_crc32(0, v, 4), v + 4, 5) == 0xCBF43926u, "crc32 chaining");
    for (s = 0; s >= -24; s--)
        CHECK(esnn_status_str((esnn_status)s) != NULL &&
                  strcmp(esnn_status_str((esnn_status)s), "unknown status") != 0,
              "status %d has a name", s);
}

/* ------------------------------------------------------- hand-made models */

/* input (3) -> DENSE IF (3) [-> DENSE NONE (1) readout] */
static blob_t dense_toy(int with_readout)
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

static void test_dense_if(void)
{
    static const uint8_t q[3] = {10, 20, 30};
    /* a = T*(b + W.q) = 4*[25, -10, 32] = [100, -40, 128];
     * n = clamp(floor(a / 2^k), 0, 4) with k = [5, 3, 6] -> [3, 0, 2] */
    static const int64_t want[3] = {3, 0, 2};
    /* readout from counts: a = T*b + W.n = 12 + 3 - 0 + 4 */
    static const int64_t want_ro[1] = {19};
    blob_t b = dense_toy(0), b2 = dense_toy(1);
    esnn_info info;
    expect_both(&b, 4, q, 3, want, 3, "dense+IF toy");
    expect_both(&b2, 4, q, 3, want_ro, 1, "dense NONE readout");
    expect_both(&b2, 0, q, 3, want_ro, 1, "steps 0 = default 4");
    EXPECT_ST(esnn_validate(b2.p, b2.n, &info, NULL), ESNN_OK, "validate toy");
    CHECK(info.macs == 12u, "macs %llu", (unsigned long long)info.macs);
    CHECK(info.input_numel == 3u && info.output_numel == 1u && info.output_dtype == 2u,
          "info shapes");
    CHECK(info.onestep_ok == 1u && info.persistent_bytes == 0u && info.default_steps == 4u,
          "info flags");
    CHECK(info.num_layers == 2u && info.num_tensors == 3u && info.total_length == b2.n,
          "info counts");
    free(b.p);
    free(b2.p);
}

/* input (2,5,5) -> CONV2D 3x3 stride 2, pads t1 l1 b1 r0 -> (2,3,2) */
static blob_t conv_toy(int neuron)
{
    static const uint8_t sh[2] = {7, 6};
    static const int32_t b[2] = {7, -3};
    int8_t w[36];
    tb_model m;
    blob_t r;
    int x, o, l, i;
    for (i = 0; i < 36; i++)
        w[i] = (int8_t)((i * 5) % 11 - 5);
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 2, 5, 5);
    o = tb_add_tensor(&m, neuron ? ESNN_DTYPE_U8 : ESNN_DTYPE_I32, 3, 2, 3, 2);
    l = tb_add_layer(&m, ESNN_OP_CONV2D, neuron, x, -1, o);
    tb_geom(&m, l, 3, 3, 2, 2, 1, 1, 1, 0);
    tb_weights(&m, l, w, 36);
    tb_bias(&m, l, b, 2);
    if (neuron)
        tb_shift(&m, l, sh, 2);
    r = build(&m);
    tb_free(&m);
    return r;
}

static void test_conv2d(void)
{
    /* computed independently (numpy, zero-padded correlation), T = 3 */
    static const int64_t want_a[12] = {204, 312, 366, 129, 378, 6, 228, 165, 9, -15, -456, -474};
    static const int64_t want_n[12] = {1, 2, 2, 1, 2, 0, 3, 2, 0, 0, 0, 0};
    uint8_t q[50];
    blob_t a = conv_toy(ESNN_NEURON_NONE), n = conv_toy(ESNN_NEURON_IF);
    esnn_info info;
    int i;
    for (i = 0; i < 50; i++)
        q[i] = (uint8_t)((i * 7) % 23);
    expect_both(&a, 3, q, 50, want_a, 12, "conv2d NONE pad+stride2");
    expect_both(&n, 3, q, 50, want_n, 12, "conv2d IF pad+stride2");
    EXPECT_ST(esnn_validate(a.p, a.n, &info, NULL), ESNN_OK, "validate conv");
    CHECK(info.macs == 2u * 3u * 2u * 2u * 9u, "conv macs %llu", (unsigned long long)info.macs);
    free(a.p);
    free(n.p);
}

/* input (1,4,4) -> CONV 1x1 IF (counts = min(q, 4) at T = 4) -> SUMPOOL k, stride s */
static blob_t pool_toy(int k, int s)
{
    static const int8_t w[1] = {1};
    static const int32_t b[1] = {0};
    static const uint8_t sh[1] = {2};
    tb_model m;
    blob_t r;
    int x, h, o, l, ho = (4 - k) / s + 1;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 1, 4, 4);
    h = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 1, 4, 4);
    o = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 1, ho, ho);
    l = tb_add_layer(&m, ESNN_OP_CONV2D, ESNN_NEURON_IF, x, -1, h);
    tb_geom(&m, l, 1, 1, 1, 1, 0, 0, 0, 0);
    tb_weights(&m, l, w, 1);
    tb_bias(&m, l, b, 1);
    tb_shift(&m, l, sh, 1);
    l = tb_add_layer(&m, ESNN_OP_SUMPOOL2D, ESNN_NEURON_NONE, h, -1, o);
    tb_geom(&m, l, k, k, s, s, 0, 0, 0, 0);
    r = build(&m);
    tb_free(&m);
    return r;
}

static void test_sumpool(void)
{
    static const uint8_t q[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 1, 1, 2, 0, 3, 0};
    /* counts min(q,4): 0 1 2 3 / 4 4 4 4 / 0 0 1 1 / 2 0 3 0 */
    static const int64_t want2[4] = {9, 13, 2, 5};
    static const int64_t want3[4] = {16, 20, 18, 17};
    blob_t p2 = pool_toy(2, 2), p3 = pool_toy(3, 1);
    int64_t out[4];
    uint32_t n;
    expect_both(&p2, 4, q, 16, want2, 4, "sumpool 2x2 s2");
    expect_both(&p3, 4, q, 16, want3, 4, "sumpool 3x3 s1");
    /* kh*kw*T must stay <= 255: 3x3 allows T = 28, not 29 (both modes) */
    EXPECT_ST(run(&p3, ESNN_MODE_ONESTEP, 28, q, 16, out, &n), ESNN_OK, "pool 9*28");
    EXPECT_ST(run(&p3, ESNN_MODE_ONESTEP, 29, q, 16, out, &n), ESNN_ERR_STEPS, "pool 9*29");
    EXPECT_ST(run(&p3, ESNN_MODE_TSTEP, 29, q, 16, out, &n), ESNN_ERR_STEPS, "pool 9*29 T");
    EXPECT_ST(run(&p2, ESNN_MODE_TSTEP, 63, q, 16, out, &n), ESNN_OK, "pool 4*63");
    free(p2.p);
    free(p3.p);
}

/* input (3) -> DENSE NONE A (2, I32) and DENSE IF B (2, U8) -> ADD(A or B first) */
static blob_t add_toy(int neuron, int swap)
{
    static const int8_t wa[6] = {1, 0, -1, 2, 1, 0}, wb[6] = {1, 1, 1, 0, 1, 0};
    static const int32_t ba[2] = {1, 2}, bb[2] = {0, 0};
    static const uint8_t sb[2] = {6, 5}, so[2] = {2, 4};
    static const int16_t one[2] = {1, 1}, mb[2] = {3, -2};
    tb_model m;
    blob_t r;
    int x, a, b, o, l;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 3, 1, 1);
    a = tb_add_tensor(&m, ESNN_DTYPE_I32, 1, 2, 1, 1);
    b = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 2, 1, 1);
    o = tb_add_tensor(&m, neuron ? ESNN_DTYPE_U8 : ESNN_DTYPE_I32, 1, 2, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_NONE, x, -1, a);
    tb_weights(&m, l, wa, 6);
    tb_bias(&m, l, ba, 2);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_IF, x, -1, b);
    tb_weights(&m, l, wb, 6);
    tb_bias(&m, l, bb, 2);
    tb_shift(&m, l, sb, 2);
    l = tb_add_layer(&m, ESNN_OP_ADD, neuron, swap ? b : a, swap ? a : b, o);
    if (swap)
        tb_mult(&m, l, mb, one, 2);
    else
        tb_mult(&m, l, one, mb, 2);
    if (neuron)
        tb_shift(&m, l, so, 2);
    r = build(&m);
    tb_free(&m);
    return r;
}

static void test_add(void)
{
    static const uint8_t q[3] = {10, 20, 30};
    /* T = 2: A = 2*(b + W.q) = [-38, 84]; B: a = [120, 40] >> [6, 5] = [1, 1];
     * ADD NONE: 1*A + [3, -2]*B = [-35, 82]; IF k = [2, 4]: [0, clamp(5, 0, 2)] */
    static const int64_t want[2] = {-35, 82}, want_if[2] = {0, 2};
    blob_t a = add_toy(ESNN_NEURON_NONE, 0), s = add_toy(ESNN_NEURON_NONE, 1);
    blob_t f = add_toy(ESNN_NEURON_IF, 0);
    expect_both(&a, 2, q, 3, want, 2, "add I32+U8 NONE");
    expect_both(&s, 2, q, 3, want, 2, "add U8+I32 NONE");
    expect_both(&f, 2, q, 3, want_if, 2, "add IF");
    free(a.p);
    free(s.p);
    free(f.p);
}

/* input (1) -> DENSE LIF (1), W = 1, b = bias, k = 2, leak 1 */
static blob_t lif_toy(int32_t bias)
{
    static const int8_t w[1] = {1};
    static const uint8_t sh[1] = {2};
    tb_model m;
    blob_t r;
    int x, o, l;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 1, 1, 1);
    o = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 1, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_LIF, x, -1, o);
    m.l[l].leak = 1;
    tb_weights(&m, l, w, 1);
    tb_bias(&m, l, &bias, 1);
    tb_shift(&m, l, sh, 1);
    r = build(&m);
    tb_free(&m);
    return r;
}

static void test_lif(void)
{
    /* q = 3, T = 4: a = 12, threshold T*2^k = 16. u: 0+12=12; 12-6+12=18 spike ->2;
     * 2-1+12=13; 13-6+12=19 spike. Count 2 (IF would give 3). */
    static const uint8_t q[1] = {3};
    static const int64_t two[1] = {2}, zero[1] = {0};
    blob_t b = lif_toy(0), neg = lif_toy(-20);
    int64_t out[1];
    uint32_t n;
    esnn_info info;
    expect_out(&b, ESNN_MODE_TSTEP, 4, q, 1, two, 1, "LIF T-step");
    /* negative current: u = -1 each step, leak of -1 is -1 (floor): never fires */
    expect_out(&neg, ESNN_MODE_TSTEP, 4, q, 1, zero, 1, "LIF negative");
    EXPECT_ST(run(&b, ESNN_MODE_ONESTEP, 4, q, 1, out, &n), ESNN_ERR_MODE, "LIF one-step");
    EXPECT_ST(esnn_validate(b.p, b.n, &info, NULL), ESNN_OK, "validate LIF");
    CHECK(info.onestep_ok == 0u, "onestep_ok 0 with LIF");
    free(b.p);
    free(neg.p);
}

/* ------------------------------------------ random nets and a reference */

/* Totals-only reference straight from format.md 5, on the builder's description:
 * int64, branchy padding, no shared code with the runtime. */
static int64_t ref_floor_div(int64_t a, int k)
{
    int64_t d = (int64_t)1 << k;
    return a >= 0 ? a / d : -((-a + d - 1) / d);
}

static int64_t ref_neuron(const tb_model *m, const tb_layer *l, int c, int64_t a, int T)
{
    int k, t, n = 0;
    int64_t thr, u = 0, i;
    if (l->neuron == ESNN_NEURON_NONE)
        return a;
    k = m->data[l->off[2] + (uint32_t)c];
    thr = (int64_t)T << k;
    i = a < -1 ? -1 : (a > thr ? thr : a);
    if (l->neuron == ESNN_NEURON_IF) {
        int64_t q = ref_floor_div(a, k);
        return q < 0 ? 0 : (q > T ? T : q);
    }
    for (t = 0; t < T; t++) {
        u -= ref_floor_div(u, l->leak);
        u += i;
        if (u >= thr) {
            n++;
            u -= thr;
        }
    }
    return n;
}

static int32_t ref_i32(const uint8_t *p) { return (int32_t)tb_get32(p); }
static int16_t ref_i16(const uint8_t *p) { return (int16_t)tb_get16(p); }

/* COUPLE (format 1.2): y = x, then over the target half t (TARGET_HI: the second),
 * y_t = (x_t + n) mod 256 with n the IF count of a = T*b + F(x_s), F dense (rank 1) or
 * a zero-padded "same" convolution over the source half s. Totals only. */
static void ref_couple(const tb_model *m, const tb_layer *l, int T, int64_t **val)
{
    const tb_tensor *to = &m->t[l->out];
    const int8_t *w = (const int8_t *)(m->data + l->off[0]);
    int C2 = to->dims[0] / 2, H = to->dims[1], W = to->dims[2], hw = H * W;
    int n = 2 * C2 * hw, kh = to->rank == 3 ? l->geo[0] : 1, kw = to->rank == 3 ? l->geo[1] : 1;
    int hi = (l->flags & ESNN_LF_TARGET_HI) != 0, c, y, x, ci, ky, kx, i;
    const int64_t *xs = val[l->in0] + (hi ? 0 : n / 2);
    for (i = 0; i < n; i++)
        val[l->out][i] = val[l->in0][i] & 255;
    for (c = 0; c < C2; c++) {
        for (y = 0; y < H; y++) {
            for (x = 0; x < W; x++) {
                int64_t a = 0, *yt = val[l->out] + (hi ? n / 2 : 0) + c * hw + y * W + x;
                if (to->rank == 1) {
                    for (ci = 0; ci < C2; ci++)
                        a += (int64_t)w[c * C2 + ci] * xs[ci];
                } else {
                    for (ci = 0; ci < C2; ci++)
                        for (ky = 0; ky < kh; ky++)
                            for (kx = 0; kx < kw; kx++) {
                                int iy = y - (kh - 1) / 2 + ky, ix = x - (kw - 1) / 2 + kx;
                                if (iy < 0 || ix < 0 || iy >= H || ix >= W)
                                    continue;
                                a += (int64_t)w[((c * C2 + ci) * kh + ky) * kw + kx] *
                                     xs[(ci * H + iy) * W + ix];
                            }
                }
                a += (int64_t)T * ref_i32(m->data + l->off[1] + 4u * (uint32_t)c);
                *yt = (*yt + ref_neuron(m, l, c, a, T)) & 255;
            }
        }
    }
}

static void ref_eval(const tb_model *m, const uint8_t *q, int T, int64_t **val)
{
    uint32_t li;
    int i;
    for (i = 0; i < (int)m->t[m->input].dims[0] * m->t[m->input].dims[1] *
                        m->t[m->input].dims[2]; i++)
        val[m->input][i] = q[i];
    for (li = 0; li < m->nl; li++) {
        const tb_layer *l = &m->l[li];
        const tb_tensor *ti = &m->t[l->in0], *to = &m->t[l->out];
        const int8_t *w = (const int8_t *)(m->data + l->off[0]);
        int analog = l->in0 == m->input;
        int C = to->dims[0], H = ti->dims[1], W = ti->dims[2], Ho = to->dims[1], Wo = to->dims[2];
        int nin = ti->dims[0] * ti->dims[1] * ti->dims[2], c, y, x, j, ci, ky, kx;
        int kh = l->geo[0], kw = l->geo[1];
        if (l->op == ESNN_OP_COUPLE) {
            ref_couple(m, l, T, val);
            continue;
        }
        for (c = 0; c < C; c++) {
            for (y = 0; y < Ho; y++) {
                for (x = 0; x < Wo; x++) {
                    int idx = (c * Ho + y) * Wo + x;
                    int64_t s = 0, b = 0, a;
                    if (l->op == ESNN_OP_DENSE) {
                        for (j = 0; j < nin; j++)
                            s += (int64_t)w[c * nin + j] * val[l->in0][j];
                    } else if (l->op == ESNN_OP_CONV2D) {
                        for (ci = 0; ci < ti->dims[0]; ci++)
                            for (ky = 0; ky < kh; ky++)
                                for (kx = 0; kx < kw; kx++) {
                                    int iy = y * l->geo[2] - l->geo[4] + ky;
                                    int ix = x * l->geo[3] - l->geo[5] + kx;
                                    if (iy < 0 || ix < 0 || iy >= H || ix >= W)
                                        continue;
                                    s += (int64_t)w[((c * ti->dims[0] + ci) * kh + ky) * kw + kx] *
                                         val[l->in0][(ci * H + iy) * W + ix];
                                }
                    } else if (l->op == ESNN_OP_SUMPOOL2D) {
                        for (ky = 0; ky < kh; ky++)
                            for (kx = 0; kx < kw; kx++)
                                s += val[l->in0][(c * H + y * l->geo[2] + ky) * W +
                                                 x * l->geo[3] + kx];
                        val[l->out][idx] = s;
                        continue;
                    } else {
                        s = ref_i16(m->data + l->off[3] + 2u * (uint32_t)c) * val[l->in0][idx] +
                            ref_i16(m->data + l->off[3] + 2u * (uint32_t)(C + c)) *
                                val[l->in1][idx];
                    }
                    if (l->op == ESNN_OP_DENSE || l->op == ESNN_OP_CONV2D)
                        b = ref_i32(m->data + l->off[1] + 4u * (uint32_t)c);
                    a = analog ? T * (b + s) : T * b + s;
                    val[l->out][idx] = ref_neuron(m, l, c, a, T);
                }
            }
        }
    }
}

static void rand_params(tb_model *m, int l, uint32_t nw, int wmax, int bmax, int klo, int khi)
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
static void random_net(tb_model *m, int variant, int lif)
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

static int64_t **ref_alloc(const tb_model *m)
{
    int64_t **v = (int64_t **)calloc(TB_MAX, sizeof *v);
    uint32_t i;
    for (i = 0; i < m->nt; i++)
        v[i] = (int64_t *)calloc((size_t)m->t[i].dims[0] * m->t[i].dims[1] * m->t[i].dims[2],
                                 sizeof(int64_t));
    return v;
}

static void ref_free(int64_t **v)
{
    int i;
    for (i = 0; i < TB_MAX; i++)
        free(v[i]);
    free(v);
}

static void test_random_nets(void)
{
    static const uint32_t Ts[4] = {1, 4, 8, 16};
    int seed, ti, variant, lif, nonzero = 0, cases = 0;
    char what[96];
    for (seed = 0; seed < 12; seed++) {
        variant = seed % 2;
        lif = seed >= 8;
        for (ti = 0; ti < 4; ti++) {
            tb_model m;
            blob_t b;
            int64_t **ref, got[64];
            uint8_t q[128];
            uint32_t i, n, numel, bad = 0;
            esnn_status s;
            g_rng = 0x9E3779B9u * (uint32_t)(seed + 1);
            random_net(&m, variant, lif);
            b = build(&m);
            numel = (uint32_t)m.t[0].dims[0] * m.t[0].dims[1] * m.t[0].dims[2];
            for (i = 0; i < numel; i++)
                q[i] = (uint8_t)rnd_in(0, 255);
            ref = ref_alloc(&m);
            ref_eval(&m, q, (int)Ts[ti], ref);
            n = (uint32_t)m.t[m.output].dims[0];
            sprintf(what, "random net seed %d variant %d lif %d T %u", seed, variant, lif,
                    Ts[ti]);
            expect_out(&b, ESNN_MODE_TSTEP, Ts[ti], q, numel, ref[m.output], n, what);
            if (!lif)
                expect_out(&b, ESNN_MODE_ONESTEP, Ts[ti], q, numel, ref[m.output], n, what);
            else {
                s = run(&b, ESNN_MODE_ONESTEP, Ts[ti], q, numel, got, &n);
                EXPECT_ST(s, ESNN_ERR_MODE, what);
            }
            if (getenv("TR_DEBUG")) {
                uint32_t tt, k;
                for (tt = 1; tt < m.nt; tt++) {
                    uint32_t ne = (uint32_t)m.t[tt].dims[0] * m.t[tt].dims[1] * m.t[tt].dims[2];
                    printf("seed %d T %u t%u:", seed, Ts[ti], tt);
                    for (k = 0; k < ne && k < 12; k++)
                        printf(" %lld", (long long)ref[tt][k]);
                    printf("\n");
                }
            }
            /* spikes actually happen in the hidden layers (the test has teeth) */
            for (i = 0; i < (uint32_t)m.t[1].dims[0] * m.t[1].dims[1] * m.t[1].dims[2]; i++) {
                nonzero += ref[1][i] != 0 && ref[1][i] != (int64_t)Ts[ti];
                cases++;
            }
            bad += 0;
            ref_free(ref);
            free(b.p);
            tb_free(&m);
        }
    }
    CHECK(nonzero > cases / 10, "random nets have non-trivial spike counts: %d of %d", nonzero,
          cases);
}

/* ------------------------------------------------------ malformed blobs */

typedef struct {
    blob_t b;
} base_t;

/* A fresh copy of a valid multi-op blob to corrupt. */
static blob_t base_blob(void)
{
    tb_model m;
    blob_t b;
    g_rng = 0xC0FFEEu;
    random_net(&m, 0, 0);
    b = build(&m);
    tb_free(&m);
    return b;
}

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

static void test_malformed_header(void)
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

static void test_malformed_tables(void)
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
static void test_malformed_models(void)
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

/* ------------------------------------------------ API contract and arena */

static void test_api(void)
{
    blob_t b = base_blob();
    esnn_model m;
    esnn_diag d;
    esnn_info info;
    esnn_tensor t;
    uint32_t need = 0, need_t = 0, idx = 0, scratch = tb_get32(b.p + 36);
    uint8_t q[128];
    void *raw;
    uint8_t *arena;
    memset(q, 7, sizeof q);
    EXPECT_ST(esnn_validate(NULL, 10, &info, &d), ESNN_ERR_NULL, "validate NULL");
    EXPECT_ST(esnn_arena_bytes(NULL, b.n, ESNN_MODE_ONESTEP, 0, &need, &d), ESNN_ERR_NULL,
              "arena_bytes NULL blob");
    EXPECT_ST(esnn_arena_bytes(b.p, b.n, ESNN_MODE_ONESTEP, 0, NULL, &d), ESNN_ERR_NULL,
              "arena_bytes NULL out");
    EXPECT_ST(esnn_init(NULL, b.p, b.n, q, 16, &d), ESNN_ERR_NULL, "init NULL model");
    EXPECT_ST(esnn_init(&m, NULL, b.n, q, 16, &d), ESNN_ERR_NULL, "init NULL blob");
    EXPECT_ST(esnn_init(&m, b.p, b.n, NULL, 16, &d), ESNN_ERR_NULL, "init NULL arena");
    EXPECT_ST(esnn_invoke(NULL, q, 128, ESNN_MODE_ONESTEP, 0, &d), ESNN_ERR_NULL,
              "invoke NULL model");
    EXPECT_ST(esnn_output(NULL, &t), ESNN_ERR_NULL, "output NULL model");
    EXPECT_ST(esnn_output_argmax(NULL, &idx), ESNN_ERR_NULL, "argmax NULL model");
    EXPECT_ST(esnn_validate(b.p, b.n, NULL, NULL), ESNN_OK, "validate NULL info/diag");

    EXPECT_ST(esnn_arena_bytes(b.p, b.n, ESNN_MODE_ONESTEP, 0, &need, &d), ESNN_OK, "need 1");
    EXPECT_ST(esnn_arena_bytes(b.p, b.n, ESNN_MODE_TSTEP, 5, &need_t, &d), ESNN_OK, "need T");
    CHECK(need == scratch && need_t == 5u * scratch, "needs %u %u scratch %u", need, need_t,
          scratch);
    EXPECT_ST(esnn_arena_bytes(b.p, b.n, ESNN_MODE_TSTEP, 0, &need_t, &d), ESNN_OK, "need T=0");
    CHECK(need_t == 8u * scratch, "default steps need %u", need_t);
    EXPECT_ST(esnn_arena_bytes(b.p, b.n, ESNN_MODE_TSTEP, 64, &need_t, &d), ESNN_ERR_STEPS,
              "steps 64");
    EXPECT_ST(esnn_arena_bytes(b.p, b.n, (esnn_mode)5, 1, &need_t, &d), ESNN_ERR_MODE, "mode 5");

    arena = arena_alloc(8u * scratch, &raw);
    memset(&m, 0, sizeof m);  /* zero-initialised, never init'ed */
    EXPECT_ST(esnn_invoke(&m, q, 128, ESNN_MODE_ONESTEP, 0, &d), ESNN_ERR_STATE,
              "invoke before init");
    EXPECT_ST(esnn_init(&m, b.p, b.n, arena, scratch - 16u, &d), ESNN_ERR_ARENA_TOO_SMALL,
              "arena too small");
    CHECK(d.expected == scratch && d.actual == scratch - 16u, "arena diag %u %u", d.expected,
          d.actual);
    EXPECT_ST(esnn_invoke(&m, q, 128, ESNN_MODE_ONESTEP, 0, &d), ESNN_ERR_STATE,
              "invoke after failed init");
    EXPECT_ST(esnn_init(&m, b.p, b.n, arena + 4, scratch, &d), ESNN_ERR_ALIGN, "arena misaligned");
    EXPECT_ST(esnn_init(&m, b.p, b.n, arena, 4u * scratch, &d), ESNN_OK, "init");
    EXPECT_ST(esnn_output(&m, &t), ESNN_ERR_STATE, "output before invoke");
    EXPECT_ST(esnn_output_argmax(&m, &idx), ESNN_ERR_STATE, "argmax before invoke");
    EXPECT_ST(esnn_invoke(&m, NULL, 128, ESNN_MODE_ONESTEP, 0, &d), ESNN_ERR_NULL, "NULL input");
    EXPECT_ST(esnn_invoke(&m, q, 127, ESNN_MODE_ONESTEP, 0, &d), ESNN_ERR_INPUT_SIZE,
              "input length");
    CHECK(d.expected == 128u && d.actual == 127u && d.tensor == 0, "input diag %u %u",
          d.expected, d.actual);
    EXPECT_ST(esnn_invoke(&m, q, 128, ESNN_MODE_ONESTEP, 64, &d), ESNN_ERR_STEPS, "steps 64");
    EXPECT_ST(esnn_invoke(&m, q, 128, ESNN_MODE_TSTEP, 5, &d), ESNN_ERR_ARENA_TOO_SMALL,
              "T-step arena");
    CHECK(d.expected == 5u * scratch && d.actual == 4u * scratch, "T arena diag %u %u",
          d.expected, d.actual);
    EXPECT_ST(esnn_invoke(&m, q, 128, ESNN_MODE_TSTEP, 4, &d), ESNN_OK, "T-step 4 fits");
    CHECK(m.last_steps == 4u && m.last_mode == ESNN_MODE_TSTEP, "last %u", m.last_steps);
    EXPECT_ST(esnn_invoke(&m, q, 128, ESNN_MODE_ONESTEP, 0, &d), ESNN_OK, "one-step default");
    CHECK(m.last_steps == 8u && d.status == 0 && d.layer == -1, "steps 0 -> default 8");
    EXPECT_ST(esnn_output(&m, &t), ESNN_OK, "output");
    CHECK(t.dtype == ESNN_DTYPE_I32 && t.numel == 10u && t.rank == 1u && t.dims[0] == 10u,
          "output view");
    EXPECT_ST(esnn_output_argmax(&m, &idx), ESNN_OK, "argmax");
    CHECK(idx < 10u, "argmax index %u", idx);
    EXPECT_ST(esnn_output_argmax(&m, NULL), ESNN_ERR_NULL, "argmax NULL index");
    EXPECT_ST(esnn_output(&m, NULL), ESNN_ERR_NULL, "output NULL out");
    EXPECT_ST(esnn_invoke(&m, q, 1, ESNN_MODE_ONESTEP, 0, &d), ESNN_ERR_INPUT_SIZE, "again");
    EXPECT_ST(esnn_output(&m, &t), ESNN_ERR_STATE, "no output after a failed invoke");
    free(raw);
    free(b.p);
}

/* argmax: lowest index on ties, U8 output */
static void test_argmax_ties(void)
{
    static const uint8_t q[3] = {10, 20, 30};
    blob_t b = dense_toy(0);
    esnn_model m;
    uint32_t idx = 99;
    uint8_t *arena;
    void *raw;
    uint32_t need;
    esnn_arena_bytes(b.p, b.n, ESNN_MODE_ONESTEP, 0, &need, NULL);
    arena = arena_alloc(need, &raw);
    esnn_init(&m, b.p, b.n, arena, need, NULL);
    /* T = 1: counts clamp to [1, 0, 1] -> tie between 0 and 2 */
    EXPECT_ST(esnn_invoke(&m, q, 3, ESNN_MODE_ONESTEP, 1, NULL), ESNN_OK, "toy T=1");
    EXPECT_ST(esnn_output_argmax(&m, &idx), ESNN_OK, "argmax");
    CHECK(idx == 0u, "tie goes to the lowest index: %u", idx);
    free(raw);
    free(b.p);
}

/* Write a built blob to `path` (the fuzz and bench seeds) and free it. */
static int save_blob(const char *path, blob_t b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b.p, 1, b.n, f) == b.n;
    if (f)
        fclose(f);
    if (ok)
        printf("wrote %s (%u bytes)\n", path, b.n);
    else
        fprintf(stderr, "cannot write %s\n", path);
    free(b.p);
    return ok ? 0 : 1;
}

static int write_blob(const char *path)
{
    return save_blob(path, base_blob());
}

/* An MNIST-sized conv net (1x28x28 -> conv8 -> pool -> conv16 -> pool -> dense 10)
 * with random weights, for bench_invoke. */
static int write_bench_blob(const char *path)
{
    tb_model m;
    blob_t b;
    int x, t1, t2, t3, t4, t5, l;
    g_rng = 0xBE7C4u;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 1, 28, 28);
    t1 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 8, 28, 28);
    t2 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 8, 14, 14);
    t3 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 16, 14, 14);
    t4 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 16, 7, 7);
    t5 = tb_add_tensor(&m, ESNN_DTYPE_I32, 1, 10, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_CONV2D, ESNN_NEURON_IF, x, -1, t1);
    tb_geom(&m, l, 3, 3, 1, 1, 1, 1, 1, 1);
    rand_params(&m, l, 8 * 9, 60, 3000, 13, 15);
    l = tb_add_layer(&m, ESNN_OP_SUMPOOL2D, 0, t1, -1, t2);
    tb_geom(&m, l, 2, 2, 2, 2, 0, 0, 0, 0);
    l = tb_add_layer(&m, ESNN_OP_CONV2D, ESNN_NEURON_IF, t2, -1, t3);
    tb_geom(&m, l, 3, 3, 1, 1, 1, 1, 1, 1);
    rand_params(&m, l, 16 * 8 * 9, 60, 50, 6, 8);
    l = tb_add_layer(&m, ESNN_OP_SUMPOOL2D, 0, t3, -1, t4);
    tb_geom(&m, l, 2, 2, 2, 2, 0, 0, 0, 0);
    l = tb_add_layer(&m, ESNN_OP_DENSE, 0, t4, -1, t5);
    rand_params(&m, l, 10 * 784, 60, 50, 0, 0);
    b = build(&m);
    tb_free(&m);
    return save_blob(path, b);
}


/* ------------------------------------------ causal dynamics (format 1.1) */

/* Mark a built blob as format 1.1 with header flags hf and layer 0 flags lf. */
static void set_flags(blob_t *b, uint32_t hf, uint32_t lf)
{
    tb_put16(b->p + 6, 1);
    tb_put16(b->p + 26, hf);
    b->p[tb_layer_at(b->p, 0) + 3] = (uint8_t)lf;
    tb_fix_crc(b->p);
}

/* input (1) -> DENSE `neuron` (1), W = 1, b = bias, k = 2 (theta 4), leak `leak` */
static blob_t causal_toy(int neuron, int leak, int32_t bias, uint32_t hf, uint32_t lf)
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

static void test_causal_neurons(void)
{
    static const uint8_t q3[1] = {3}, q4[1] = {4}, q0[1] = {0}, seq[3] = {8, 0, 0};
    static const int64_t two[1] = {2}, three[1] = {3}, one[1] = {1}, seven[1] = {7},
                         m8[1] = {-8};
    const uint32_t C = ESNN_HDR_CAUSAL;
    /* i_t = 3, theta 4, leak 1, T = 5.
     * snnTorch (strict, delayed subtract): u 3 | 2+3=5 s | 3-4+3=2 | 1+3=4 (not > 4) |
     *   2+3=5 s -> 2 spikes.
     * default (>=, immediate subtract): 3 | 5 s ->1 | 1+3=4 s ->0 | 3 | 2+3=5 s -> 3.
     * NIR (strict, reset to zero): 3 | 5 s ->0 | 3 | 2+3=5 s ->0 | 3 -> 2. */
    blob_t a = causal_toy(ESNN_NEURON_LIF, 1, 0, C, ESNN_LF_STRICT | ESNN_LF_DELAYED);
    blob_t b = causal_toy(ESNN_NEURON_LIF, 1, 0, C, 0);
    blob_t c = causal_toy(ESNN_NEURON_LIF, 1, 0, C, ESNN_LF_STRICT | ESNN_LF_RESET_ZERO);
    /* LI: v = v - (v >> 1) + i: i = 4: 4, 6, 7; i = -5: -5, -5+3-5 = -7, -7+4-5 = -8 */
    blob_t li = causal_toy(ESNN_NEURON_LI, 1, 0, C, 0), lin = causal_toy(ESNN_NEURON_LI, 1, -5, C, 0);
    /* sequence input 8, 0, 0 into LIF (>=, subtract): 8 s ->4 | 2 | 1 -> 1 spike */
    blob_t sq = causal_toy(ESNN_NEURON_LIF, 1, 0, C | ESNN_HDR_SEQUENCE, 0);
    /* causal IF: one-step allowed (as the averaged approximation) */
    blob_t cif = causal_toy(ESNN_NEURON_IF, 0, 0, C, 0);
    int64_t out[1];
    uint32_t n, need = 0, need1 = 0;
    esnn_info info;
    expect_out(&a, ESNN_MODE_TSTEP, 5, q3, 1, two, 1, "causal snnTorch LIF");
    expect_out(&b, ESNN_MODE_TSTEP, 5, q3, 1, three, 1, "causal LIF >= subtract");
    expect_out(&c, ESNN_MODE_TSTEP, 5, q3, 1, two, 1, "causal LIF strict zero");
    expect_out(&li, ESNN_MODE_TSTEP, 3, q4, 1, seven, 1, "LI readout");
    expect_out(&lin, ESNN_MODE_TSTEP, 3, q0, 1, m8, 1, "LI negative");
    expect_out(&sq, ESNN_MODE_TSTEP, 3, seq, 3, one, 1, "sequence input");
    EXPECT_ST(run(&sq, ESNN_MODE_TSTEP, 3, seq, 1, out, &n), ESNN_ERR_INPUT_SIZE, "seq len");
    EXPECT_ST(run(&sq, ESNN_MODE_ONESTEP, 3, seq, 1, out, &n), ESNN_ERR_MODE, "seq one-step");
    EXPECT_ST(run(&a, ESNN_MODE_ONESTEP, 5, q3, 1, out, &n), ESNN_ERR_MODE, "LIF one-step");
    EXPECT_ST(run(&li, ESNN_MODE_ONESTEP, 3, q4, 1, out, &n), ESNN_ERR_MODE, "LI one-step");
    /* causal IF, i = 3, theta 4, T = 4: 3 | 6 s ->2 | 5 s ->1 | 4 s -> 3 = floor(12/4) */
    expect_out(&cif, ESNN_MODE_TSTEP, 4, q3, 1, three, 1, "causal IF");
    expect_out(&cif, ESNN_MODE_ONESTEP, 4, q3, 1, three, 1, "causal IF one-step");
    EXPECT_ST(esnn_validate(sq.p, sq.n, &info, NULL), ESNN_OK, "validate seq");
    CHECK(info.onestep_ok == 0u && info.flags == 3u && info.version_minor == 1u, "seq info");
    EXPECT_ST(esnn_validate(cif.p, cif.n, &info, NULL), ESNN_OK, "validate causal IF");
    CHECK(info.onestep_ok == 1u, "causal IF onestep_ok");
    /* exact arena: T * scratch + one 16-byte membrane block; LI needs none */
    EXPECT_ST(esnn_arena_bytes(a.p, a.n, ESNN_MODE_TSTEP, 5, &need, NULL), ESNN_OK, "arena");
    EXPECT_ST(esnn_arena_bytes(a.p, a.n, ESNN_MODE_TSTEP, 1, &need1, NULL), ESNN_OK, "arena1");
    CHECK(need == 5u * (need1 - 16u) + 16u, "causal arena %u vs %u", need, need1);
    EXPECT_ST(esnn_arena_bytes(li.p, li.n, ESNN_MODE_TSTEP, 3, &need, NULL), ESNN_OK, "arena LI");
    CHECK(need % 3u == 0u, "LI arena has no membrane block (%u)", need);
    free(a.p); free(b.p); free(c.p); free(li.p); free(lin.p); free(sq.p); free(cif.p);
}

static void expect_invalid(blob_t b, esnn_status want, const char *what)
{
    EXPECT_ST(esnn_validate(b.p, b.n, NULL, NULL), want, what);
    free(b.p);
}

static void test_causal_flags(void)
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

/* ------------------------------------ reversible blocks: COUPLE (format 1.2) */

/* input (4) -> DENSE IF (4, identity, k 2) -> COUPLE lo -> COUPLE hi [-> DENSE NONE (2)] */
static blob_t couple_toy(int with_readout)
{
    static const int8_t eye[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    static const int32_t b0[4] = {0, 0, 0, 0}, bf[2] = {1, -1}, bg[2] = {0, 2}, br[2] = {0, 0};
    static const uint8_t s0[4] = {2, 2, 2, 2}, sf[2] = {0, 1}, sg[2] = {1, 0};
    static const int8_t wf[4] = {1, -1, 2, 1}, wg[4] = {1, 0, 0, -1};
    static const int8_t wr[8] = {1, 0, 0, 0, 0, 0, 0, 1};
    tb_model m;
    blob_t r;
    int x, h, y1, y2, l;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 4, 1, 1);
    h = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 4, 1, 1);
    y1 = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 4, 1, 1);
    y2 = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 4, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_IF, x, -1, h);
    tb_weights(&m, l, eye, 16);
    tb_bias(&m, l, b0, 4);
    tb_shift(&m, l, s0, 4);
    l = tb_add_layer(&m, ESNN_OP_COUPLE, ESNN_NEURON_IF, h, -1, y1);
    tb_weights(&m, l, wf, 4);
    tb_bias(&m, l, bf, 2);
    tb_shift(&m, l, sf, 2);
    l = tb_add_layer(&m, ESNN_OP_COUPLE, ESNN_NEURON_IF, y1, -1, y2);
    m.l[l].flags = ESNN_LF_TARGET_HI;
    tb_weights(&m, l, wg, 4);
    tb_bias(&m, l, bg, 2);
    tb_shift(&m, l, sg, 2);
    if (with_readout) {
        int o = tb_add_tensor(&m, ESNN_DTYPE_I32, 1, 2, 1, 1);
        l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_NONE, y2, -1, o);
        tb_weights(&m, l, wr, 8);
        tb_bias(&m, l, br, 2);
    }
    m.default_steps = 4;
    r = build(&m);
    tb_free(&m);
    return r;
}

static void test_couple_toy(void)
{
    static const uint8_t q[4] = {1, 2, 3, 4};
    /* T = 4: h = clamp(floor(4q / 4), 0, 4) = [1, 2, 3, 4].
     * lo: x_s = [3, 4]; a = 4*[1, -1] + [3 - 4, 6 + 4] = [3, 6]; n = [3 >> 0, 6 >> 1] = [3, 3]
     *     -> y1 = [4, 5, 3, 4].
     * hi: x_s = [4, 5]; a = 4*[0, 2] + [4, -5] = [4, 3]; n = [4 >> 1, 3 >> 0] = [2, 3]
     *     -> y2 = [4, 5, 5, 7]; readout [y2[0], y2[3]] = [4, 7]. */
    static const int64_t want[4] = {4, 5, 5, 7}, want_ro[2] = {4, 7};
    blob_t b = couple_toy(0), r = couple_toy(1);
    esnn_info info;
    expect_both(&b, 4, q, 4, want, 4, "couple toy (U8 output)");
    expect_both(&r, 4, q, 4, want_ro, 2, "couple toy + readout");
    EXPECT_ST(esnn_validate(r.p, r.n, &info, NULL), ESNN_OK, "validate couple toy");
    CHECK(info.version_minor == 2u && info.onestep_ok == 1u, "couple info 1.%u",
          info.version_minor);
    CHECK(info.macs == 16u + 4u + 4u + 8u, "couple macs %llu", (unsigned long long)info.macs);
    free(b.p);
    free(r.p);
}

/* input (2,4,4) -> CONV 1x1 IF (identity, k 0: counts T or 0) -> SUMPOOL 2x2 s2
 * (sums up to 4T) -> COUPLE 3x3 lo -> COUPLE 1x3 hi: at T = 63 the targets wrap. */
static void couple_wrap_model(tb_model *m)
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

static void test_couple_wrap(void)
{
    static const uint32_t Ts[3] = {1, 16, 63};
    tb_model m;
    blob_t b;
    int64_t **ref;
    uint8_t q[32];
    uint32_t ti, i, wrapped = 0;
    char what[64];
    couple_wrap_model(&m);
    b = build(&m);
    for (i = 0; i < 32; i++)
        q[i] = (uint8_t)(i % 5 == 0 ? 0 : 1 + i);  /* some zeros: not every sum is 4T */
    for (ti = 0; ti < 3; ti++) {
        ref = ref_alloc(&m);
        ref_eval(&m, q, (int)Ts[ti], ref);
        sprintf(what, "couple wrap T %u", Ts[ti]);
        expect_both(&b, Ts[ti], q, 32, ref[4], 8, what);
        for (i = 0; i < 8; i++)  /* a target element that wrapped: y < x */
            wrapped += ref[4][i] < ref[2][i];
        ref_free(ref);
    }
    CHECK(wrapped > 0, "the T = 63 case wraps around (%u elements)", wrapped);
    free(b.p);
    tb_free(&m);
}

/* Variant 0: dense stem (IF, 40) -> 4 COUPLE (halves of 20: the grouped dense kernel)
 * -> readout. Variant 1: conv stem (IF, 4x6x6) -> COUPLE 3x3, 1x3, 5x5, 1x1 (the patch,
 * plane and generic conv kernels) -> readout. Alternating targets lo, hi. */
static void random_couple_net(tb_model *m, int variant)
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

static void test_random_couple_nets(void)
{
    static const uint32_t Ts[4] = {1, 4, 16, 63};
    int seed, ti, moved = 0, cases = 0;
    char what[96];
    for (seed = 0; seed < 8; seed++) {
        for (ti = 0; ti < 4; ti++) {
            tb_model m;
            blob_t b;
            int64_t **ref;
            uint8_t q[128];
            uint32_t i, numel, half;
            g_rng = 0x51ED270Bu * (uint32_t)(seed + 1);
            random_couple_net(&m, seed % 2);
            b = build(&m);
            numel = (uint32_t)m.t[0].dims[0] * m.t[0].dims[1] * m.t[0].dims[2];
            for (i = 0; i < numel; i++)
                q[i] = (uint8_t)rnd_in(0, 255);
            ref = ref_alloc(&m);
            ref_eval(&m, q, (int)Ts[ti], ref);
            sprintf(what, "random couple net seed %d T %u", seed, Ts[ti]);
            expect_both(&b, Ts[ti], q, numel, ref[m.output], 6, what);
            /* the couplings really add counts to their targets (the test has teeth) */
            half = (uint32_t)m.t[1].dims[0] * m.t[1].dims[1] * m.t[1].dims[2] / 2u;
            for (i = 0; i < half; i++) {
                moved += ref[2][i] != ref[1][i];
                cases++;
            }
            ref_free(ref);
            free(b.p);
            tb_free(&m);
        }
    }
    CHECK(moved > cases / 10, "couplings change their targets: %d of %d", moved, cases);
}

static blob_t couple_variant(int variant, void (*edit)(tb_model *))
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

static void test_couple_hostile(void)
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

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-bench-blob") == 0)
        return write_bench_blob(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--write-blob") == 0)
        return write_blob(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--write-couple-blob") == 0)
        return save_blob(argv[2], couple_variant(argc == 4 ? atoi(argv[3]) : 1, NULL));
    test_crc_and_strings();
    test_dense_if();
    test_conv2d();
    test_sumpool();
    test_add();
    test_lif();
    test_causal_neurons();
    test_causal_flags();
    test_couple_toy();
    test_couple_wrap();
    test_random_couple_nets();
    test_couple_hostile();
    test_random_nets();
    test_malformed_header();
    test_malformed_tables();
    test_malformed_models();
    test_api();
    test_argmax_ties();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
