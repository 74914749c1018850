/* test_reference.c - random nets (conv, pool, add, dense; IF and LIF; COUPLE blocks)
 * against an independent totals-only reference written from format.md 5. */
#include "test_runtime.h"

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

void test_couple_wrap(void)
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

void test_random_nets(void)
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

void test_random_couple_nets(void)
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
