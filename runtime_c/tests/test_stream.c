/* test_stream.c - the streaming mode of causal blobs (format.md 5, "Streaming"): a
 * stream of T frames after a reset gives the T-step sequence call's totals bit for bit
 * on random causal nets of every neuron kind (IF/LIF with every flag combination, NONE,
 * LI and spiking outputs, DENSE, CONV2D, SUMPOOL2D, ADD), for T in {1, 16, 63}; the
 * arena need is independent of T; a 100,000-step stream leaves the bytes after the
 * arena alone and saturates instead of overflowing (UBSan would trap); every refusal
 * leaves the arena as it was. */
#include "test_runtime.h"

/* A random causal net. conv = 0: DENSE 20 -> 16, DENSE 16 -> 16, ADD (U8 + U8) -> 16,
 * DENSE -> 5; conv = 1: CONV2D 2x8x8 -> 4x8x8, SUMPOOL 2x2, CONV2D s2 -> 6x2x2, DENSE
 * -> 5. Hidden neurons IF or LIF with random flags; the output (kind `out`): NONE, LI
 * (I32) or LIF (spikes). seq: SEQUENCE input. */
static blob_t causal_net(int conv, int out, int seq)
{
    tb_model m;
    blob_t b;
    int16_t m0[16], m1[16];
    int x, t1, t2, t3, t4, l, i;
    const int oty = out == ESNN_NEURON_LIF ? ESNN_DTYPE_U8 : ESNN_DTYPE_I32;
#define HIDDEN (rnd_in(0, 1) ? ESNN_NEURON_LIF : ESNN_NEURON_IF)
/* an LI readout has no shift section: its parameters are drawn as NONE's */
#define RAW(n) ((n) == ESNN_NEURON_LI ? ESNN_NEURON_NONE : (n))
    tb_init(&m);
    if (!conv) {
        x = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 20, 1, 1);
        t1 = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 16, 1, 1);
        t2 = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 16, 1, 1);
        t3 = tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 16, 1, 1);
        t4 = tb_add_tensor(&m, oty, 1, 5, 1, 1);
        l = tb_add_layer(&m, ESNN_OP_DENSE, HIDDEN, x, -1, t1);
        rand_params(&m, l, 16 * 20, 100, 3000, 12, 14);
        l = tb_add_layer(&m, ESNN_OP_DENSE, HIDDEN, t1, -1, t2);
        rand_params(&m, l, 16 * 16, 100, 50, 5, 7);
        l = tb_add_layer(&m, ESNN_OP_ADD, HIDDEN, t1, t2, t3);
        for (i = 0; i < 16; i++) {
            m0[i] = (int16_t)rnd_in(-300, 300);
            m1[i] = (int16_t)rnd_in(-300, 300);
        }
        tb_mult(&m, l, m0, m1, 16);
        rand_params(&m, l, 0, 0, 0, 6, 8);
        l = tb_add_layer(&m, ESNN_OP_DENSE, RAW(out), t3, -1, t4);
        rand_params(&m, l, 5 * 16, 100, 50, 5, 7);
    } else {
        x = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 2, 8, 8);
        t1 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 4, 8, 8);
        t2 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 4, 4, 4);
        t3 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 6, 2, 2);
        t4 = tb_add_tensor(&m, oty, 1, 5, 1, 1);
        l = tb_add_layer(&m, ESNN_OP_CONV2D, HIDDEN, x, -1, t1);
        tb_geom(&m, l, 3, 3, 1, 1, 1, 1, 1, 1);
        rand_params(&m, l, 4 * 2 * 9, 60, 3000, 11, 13);
        l = tb_add_layer(&m, ESNN_OP_SUMPOOL2D, 0, t1, -1, t2);
        tb_geom(&m, l, 2, 2, 2, 2, 0, 0, 0, 0);
        l = tb_add_layer(&m, ESNN_OP_CONV2D, HIDDEN, t2, -1, t3);
        tb_geom(&m, l, 3, 3, 2, 2, 1, 1, 0, 0);
        rand_params(&m, l, 6 * 4 * 9, 60, 50, 3, 5);
        l = tb_add_layer(&m, ESNN_OP_DENSE, RAW(out), t3, -1, t4);
        rand_params(&m, l, 5 * 24, 100, 50, 3, 5);
    }
#undef HIDDEN
#undef RAW
    m.l[m.nl - 1u].neuron = (uint8_t)out;
    for (l = 0; l < (int)m.nl; l++) {
        if (m.l[l].neuron == ESNN_NEURON_IF || m.l[l].neuron == ESNN_NEURON_LIF)
            m.l[l].flags = (uint8_t)rnd_in(0, 7);
        if (m.l[l].neuron == ESNN_NEURON_LI)
            m.l[l].leak = (uint8_t)rnd_in(1, 15);
    }
    m.version_minor = 1;
    m.default_steps = 8;
    b = build(&m);
    tb_free(&m);
    tb_put16(b.p + 26, ESNN_HDR_CAUSAL | (seq ? ESNN_HDR_SEQUENCE : 0u));
    tb_fix_crc(b.p);
    return b;
}

/* A model with a fresh streaming arena of exactly its need, plus a canary tail. */
typedef struct {
    esnn_model m;
    uint8_t *arena;
    void *raw;
    uint32_t need;
} stream_t;

#define CANARY 64u

static esnn_status stream_open(stream_t *s, const blob_t *b, uint32_t len)
{
    esnn_status st;
    memset(&s->m, 0, sizeof s->m);
    st = esnn_arena_bytes(b->p, b->n, ESNN_MODE_STREAM, 0, &s->need, NULL);
    s->arena = arena_alloc((len ? len : s->need) + CANARY, &s->raw);
    memset(s->arena, 0xA5, (len ? len : s->need) + CANARY);
    if (st == ESNN_OK)
        st = esnn_init(&s->m, b->p, b->n, s->arena, len ? len : s->need, NULL);
    if (st == ESNN_OK)
        st = esnn_stream_reset(&s->m, NULL);
    return st;
}

static int canary_ok(const stream_t *s, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < CANARY; i++)
        if (s->arena[len + i] != 0xA5)
            return 0;
    return 1;
}

static void stream_vs_sequence(int conv, int out, int seq, uint32_t T, const char *what)
{
    static uint8_t frames[63 * 128];
    int64_t want[16];
    blob_t b = causal_net(conv, out, seq);
    esnn_tensor o;
    stream_t s;
    uint32_t n_in = conv ? 128u : 20u, numel = 0, i, t, bad = 0, steps = 0, need1 = 0;
    esnn_status st = esnn_validate(b.p, b.n, NULL, NULL);
    EXPECT_ST(st, ESNN_OK, what);
    for (i = 0; i < T * n_in; i++)
        frames[i] = (uint8_t)rnd_in(0, 255);
    if (!seq)
        for (t = 1; t < T; t++)  /* a static input: the same frame every step */
            memcpy(frames + t * n_in, frames, n_in);
    st = run(&b, ESNN_MODE_TSTEP, T, frames, seq ? T * n_in : n_in, want, &numel);
    EXPECT_ST(st, ESNN_OK, what);
    st = stream_open(&s, &b, 0);
    EXPECT_ST(st, ESNN_OK, what);
    for (t = 0; st == ESNN_OK && t < T; t++)
        st = esnn_stream_step(&s.m, frames + t * n_in, n_in, NULL);
    EXPECT_ST(st, ESNN_OK, what);
    EXPECT_ST(esnn_stream_output(&s.m, &o, &steps), ESNN_OK, what);
    CHECK(o.dtype == ESNN_DTYPE_I32 && o.numel == numel && steps == T, "%s: output %u/%u, steps %u",
          what, o.numel, numel, steps);
    for (i = 0; i < numel && i < o.numel; i++) {
        int32_t v;
        memcpy(&v, (const uint8_t *)o.data + 4u * i, 4);
        if (v != want[i] && bad++ < 3)
            printf("  %s T %u: stream out[%u] = %d, sequence %lld\n", what, T, i, v,
                   (long long)want[i]);
    }
    CHECK(bad == 0, "%s T %u: %u outputs differ", what, T, bad);
    CHECK(canary_ok(&s, s.need), "%s: stream wrote past its arena", what);
    /* the need does not depend on T: the same number whatever steps says */
    esnn_arena_bytes(b.p, b.n, ESNN_MODE_STREAM, 63, &need1, NULL);
    CHECK(need1 == s.need, "%s: stream need %u vs %u", what, need1, s.need);
    free(s.raw);
    free(b.p);
}

void test_stream_equals_sequence(void)
{
    static const int outs[3] = {ESNN_NEURON_NONE, ESNN_NEURON_LI, ESNN_NEURON_LIF};
    static const uint32_t Ts[3] = {1, 16, 63};
    char what[64];
    int conv, o, seq, rep;
    uint32_t k;
    for (rep = 0; rep < 4; rep++)
        for (conv = 0; conv < 2; conv++)
            for (o = 0; o < 3; o++)
                for (seq = 0; seq < 2; seq++)
                    for (k = 0; k < 3; k++) {
                        snprintf(what, sizeof what, "stream %s out %d seq %d #%d",
                                 conv ? "conv" : "mlp", outs[o], seq, rep);
                        stream_vs_sequence(conv, outs[o], seq, Ts[k], what);
                    }
}

/* 100,000 steps of random frames: the arena never grows (nothing past need changes)
 * and the state stays an int32 (UBSan traps on any signed overflow). */
void test_stream_long(void)
{
    static uint8_t frame[128];
    blob_t b = causal_net(1, ESNN_NEURON_LI, 1);
    stream_t s;
    esnn_tensor o;
    uint32_t t, i, steps = 0, need0;
    esnn_status st = stream_open(&s, &b, 0);
    need0 = s.need;
    for (t = 0; st == ESNN_OK && t < 100000u; t++) {
        for (i = 0; i < sizeof frame; i++)
            frame[i] = (uint8_t)(rnd() >> 24);
        st = esnn_stream_step(&s.m, frame, sizeof frame, NULL);
    }
    EXPECT_ST(st, ESNN_OK, "100k-step stream");
    EXPECT_ST(esnn_stream_output(&s.m, &o, &steps), ESNN_OK, "100k output");
    CHECK(steps == 100000u, "steps %u", steps);
    CHECK(canary_ok(&s, need0), "100k stream wrote past its arena");
    free(s.raw);
    free(b.p);
}

/* input (1) -> DENSE NONE (1, I32), W = 1, b = bias: the readout sums b + q per step */
static blob_t none_toy(int32_t bias)
{
    static const int8_t w[1] = {1};
    tb_model m;
    blob_t r;
    int l;
    tb_init(&m);
    tb_add_tensor(&m, ESNN_DTYPE_U8, 1, 1, 1, 1);
    tb_add_tensor(&m, ESNN_DTYPE_I32, 1, 1, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_DENSE, ESNN_NEURON_NONE, 0, -1, 1);
    tb_weights(&m, l, w, 1);
    tb_bias(&m, l, &bias, 1);
    r = build(&m);
    tb_free(&m);
    set_flags(&r, ESNN_HDR_CAUSAL, 0);
    return r;
}

/* Saturation, by hand: a NONE readout with current -(2^24 + 3) per step. 63 steps are
 * the sequence call's -63 * (2^24 + 3); after 128 steps the sum would be below INT32_MIN
 * and saturates there; a LIF toy with a big positive current keeps spiking every step. */
void test_stream_saturation(void)
{
    const int32_t bias = -(1 << 24) - 3;
    blob_t b = none_toy(bias);
    blob_t f = causal_toy(ESNN_NEURON_IF, 0, -(1 << 24), ESNN_HDR_CAUSAL, 0);
    const uint8_t q = 3;
    esnn_tensor o;
    stream_t s;
    int32_t v = 0;
    uint32_t t;
    esnn_status st = stream_open(&s, &b, 0);
    EXPECT_ST(st, ESNN_OK, "saturation toy");
    for (t = 0; st == ESNN_OK && t < 63u; t++)
        st = esnn_stream_step(&s.m, &q, 1, NULL);
    if (esnn_stream_output(&s.m, &o, NULL) == ESNN_OK)
        memcpy(&v, o.data, 4);
    CHECK(st == ESNN_OK && v == 63 * (bias + 3), "63 steps: %d", v);
    for (; st == ESNN_OK && t < 1000u; t++)
        st = esnn_stream_step(&s.m, &q, 1, NULL);
    if (esnn_stream_output(&s.m, &o, NULL) == ESNN_OK)
        memcpy(&v, o.data, 4);
    CHECK(st == ESNN_OK && v == INT32_MIN, "1000 steps: %d, want INT32_MIN", v);
    free(s.raw);
    /* an IF membrane driven down for 1000 steps saturates and never spikes */
    st = stream_open(&s, &f, 0);
    EXPECT_ST(st, ESNN_OK, "IF toy");
    for (t = 0; st == ESNN_OK && t < 1000u; t++)
        st = esnn_stream_step(&s.m, &q, 1, NULL);
    if (esnn_stream_output(&s.m, &o, NULL) == ESNN_OK)
        memcpy(&v, o.data, 4);
    CHECK(st == ESNN_OK && v == 0, "IF driven down: %d spikes", v);
    free(s.raw);
    free(b.p);
    free(f.p);
}

/* Refusals: status and an arena left byte for byte as it was. */
void test_stream_errors(void)
{
    static uint8_t before[4096];
    blob_t b = causal_net(0, ESNN_NEURON_LIF, 1);
    blob_t plain = base_blob();
    uint8_t frame[21] = {0};
    stream_t s, p, small;
    esnn_tensor o;
    esnn_diag d;
    uint32_t need = 0, t, steps = 0;
    int64_t out[16];
    esnn_status st = stream_open(&s, &b, 0);
    EXPECT_ST(st, ESNN_OK, "open");
    for (t = 0; t < 5u; t++) {
        frame[t] = (uint8_t)(40 * t);
        esnn_stream_step(&s.m, frame, 20, NULL);
    }
    CHECK(s.need <= sizeof before, "need %u", s.need);
    memcpy(before, s.arena, s.need);
    EXPECT_ST(esnn_stream_step(&s.m, frame, 21, &d), ESNN_ERR_INPUT_SIZE, "frame too long");
    CHECK(d.expected == 20u && d.actual == 21u, "diag %u %u", d.expected, d.actual);
    EXPECT_ST(esnn_stream_step(&s.m, frame, 19, NULL), ESNN_ERR_INPUT_SIZE, "frame too short");
    EXPECT_ST(esnn_stream_step(&s.m, NULL, 20, NULL), ESNN_ERR_NULL, "NULL frame");
    EXPECT_ST(esnn_stream_step(NULL, frame, 20, NULL), ESNN_ERR_NULL, "NULL model");
    EXPECT_ST(esnn_stream_output(&s.m, NULL, NULL), ESNN_ERR_NULL, "NULL output");
    CHECK(memcmp(before, s.arena, s.need) == 0, "a refused step changed the stream's state");
    esnn_stream_output(&s.m, &o, &steps);
    CHECK(steps == 5u, "steps %u after refusals", steps);
    /* esnn_output reads invokes only */
    EXPECT_ST(esnn_output(&s.m, &o), ESNN_ERR_STATE, "esnn_output during a stream");
    free(s.raw);

    /* a rate-driven blob: no stream, and nothing written */
    EXPECT_ST(esnn_arena_bytes(plain.p, plain.n, ESNN_MODE_STREAM, 0, &need, NULL), ESNN_ERR_MODE,
              "stream need of a non-causal blob");
    EXPECT_ST(run(&plain, ESNN_MODE_STREAM, 0, frame, 1, out, &t), ESNN_ERR_MODE,
              "invoke in stream mode");
    esnn_arena_bytes(plain.p, plain.n, ESNN_MODE_ONESTEP, 0, &need, NULL);
    p.arena = arena_alloc(need, &p.raw);
    memset(p.arena, 0x5A, need);
    EXPECT_ST(esnn_init(&p.m, plain.p, plain.n, p.arena, need, NULL), ESNN_OK, "init plain");
    EXPECT_ST(esnn_stream_reset(&p.m, NULL), ESNN_ERR_MODE, "reset of a non-causal blob");
    EXPECT_ST(esnn_stream_step(&p.m, frame, 20, NULL), ESNN_ERR_STATE, "step without reset");
    EXPECT_ST(esnn_stream_output(&p.m, &o, NULL), ESNN_ERR_STATE, "output without reset");
    CHECK(p.arena[0] == 0x5A && p.arena[need - 1u] == 0x5A, "refused reset wrote the arena");
    free(p.raw);

    /* an arena one alignment unit short: the reset refuses with the numbers, writes nothing */
    esnn_arena_bytes(b.p, b.n, ESNN_MODE_STREAM, 0, &need, NULL);
    st = stream_open(&small, &b, need - 16u);
    EXPECT_ST(st, ESNN_ERR_ARENA_TOO_SMALL, "small stream arena");
    EXPECT_ST(esnn_stream_reset(&small.m, &d), ESNN_ERR_ARENA_TOO_SMALL, "small again");
    CHECK(d.expected == need && d.actual == need - 16u, "diag %u %u", d.expected, d.actual);
    CHECK(small.arena[0] == 0xA5 && small.arena[need - 17u] == 0xA5, "refused reset wrote");
    EXPECT_ST(esnn_stream_step(&small.m, frame, 20, NULL), ESNN_ERR_STATE, "step after refusal");
    free(small.raw);

    /* an invoke on the same model ends the stream: the next step needs a reset */
    esnn_arena_bytes(b.p, b.n, ESNN_MODE_TSTEP, 4, &need, NULL);
    s.arena = arena_alloc(need, &s.raw);
    EXPECT_ST(esnn_init(&s.m, b.p, b.n, s.arena, need, NULL), ESNN_OK, "init big");
    EXPECT_ST(esnn_stream_reset(&s.m, NULL), ESNN_OK, "reset big");
    EXPECT_ST(esnn_stream_step(&s.m, frame, 20, NULL), ESNN_OK, "step big");
    {
        static uint8_t seq4[80];
        EXPECT_ST(esnn_invoke(&s.m, seq4, 80, ESNN_MODE_TSTEP, 4, NULL), ESNN_OK, "invoke");
    }
    EXPECT_ST(esnn_stream_step(&s.m, frame, 20, NULL), ESNN_ERR_STATE, "step after invoke");
    EXPECT_ST(esnn_stream_reset(&s.m, NULL), ESNN_OK, "reset after invoke");
    EXPECT_ST(esnn_stream_step(&s.m, frame, 20, NULL), ESNN_OK, "step after reset");
    free(s.raw);
    free(b.p);
    free(plain.p);
}
