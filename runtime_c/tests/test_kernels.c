/* test_kernels.c - hand-made models with hand-computed outputs: one per op and
 * neuron (DENSE, CONV2D, SUMPOOL2D, ADD, LIF), the causal neurons (format 1.1) and
 * COUPLE (format 1.2), both modes where they must agree. */
#include "test_runtime.h"

/* -------------------------------------------------------- basic functions */

void test_crc_and_strings(void)
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

void test_dense_if(void)
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

void test_conv2d(void)
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

void test_sumpool(void)
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

void test_add(void)
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

void test_lif(void)
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

void test_causal_neurons(void)
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

void test_couple_toy(void)
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
