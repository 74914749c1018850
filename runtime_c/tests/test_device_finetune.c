/* test_device_finetune.c - the FINETUNE_* commands: results equal to the engine run
 * directly, refusals, and a power cut at every flash write of a commit. */
#include "test_device.h"

/* ---------------------------------------------------------------- fine-tuning */

/* FINETUNE_BEGIN's payload: the fields of esnn_train_config, little-endian. */
static void ft_pack(const esnn_train_config *c, uint8_t *p)
{
    uint32_t u;
    p[0] = c->mode;
    p[1] = c->trainable;
    p[2] = c->surrogate;
    p[3] = c->verify;
    pc_put16(p + 4, c->steps);
    pc_put16(p + 6, c->batch);
    memcpy(&u, &c->lr, 4);
    pc_put32(p + 8, u);
    memcpy(&u, &c->momentum, 4);
    pc_put32(p + 12, u);
    memcpy(&u, &c->slope, 4);
    pc_put32(p + 16, u);
    memcpy(&u, &c->logit_scale, 4);
    pc_put32(p + 20, u);
}

static esnn_train_config ft_cfg(uint8_t trainable, uint8_t mode, uint16_t batch, float lr)
{
    esnn_train_config c;
    memset(&c, 0, sizeof c);
    c.trainable = trainable;
    c.mode = mode;
    c.batch = batch;
    c.lr = lr;
    c.momentum = 0.9f;
    c.logit_scale = 1.0f / (16.0f * 64.0f);
    return c;
}

static pc_resp ft_begin(fixture *f, const esnn_train_config *c)
{
    uint8_t p[24];
    ft_pack(c, p);
    return req(f, FT_BEGIN, p, 24);
}

static float f32_of(const uint8_t *p)
{
    uint32_t u = pc_get32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* Deterministic training samples: inputs and labels. */
#define FT_N 12u

static uint8_t g_ft_x[FT_N][1024];

static uint32_t g_ft_y[FT_N];

static void ft_data(uint32_t nin)
{
    uint32_t i, j;
    for (i = 0; i < FT_N; i++) {
        for (j = 0; j < nin; j++)
            g_ft_x[i][j] = (uint8_t)((i * 37u + j * 11u + (j * j) % 7u) % 256u);
        g_ft_y[i] = (i * 7u) % 10u;
    }
}

static pc_resp ft_sample(fixture *f, uint32_t index, uint32_t label, uint8_t flags,
                         const uint8_t *x, uint32_t n)
{
    uint8_t p[1024];
    pc_put32(p, index);
    pc_put16(p + 4, label);
    p[6] = flags;
    p[7] = 0;
    memcpy(p + 8, x, n);
    return req(f, FT_SAMPLE, p, 8 + n);
}

/* The same run with the C engine directly: samples in order, a flush after each index
 * in `flush_at` (an epoch end), then the result. Returns its stats; *out gets a copy. */
static esnn_train_stats ft_direct(const esnn_train_config *c, uint32_t n, uint32_t flush_mask,
                                  uint8_t *out, uint32_t *out_len)
{
    static esnn_trainer tr;
    esnn_train_stats st;
    const uint8_t *res;
    uint8_t *arena = g_arena + ARENA_BYTES;  /* second half of the test arena */
    uint32_t i, nin = input_numel(g_blob, g_len);
    memset(&st, 0, sizeof st);
    CHECK(esnn_train_init(&tr, g_blob, g_len, c, arena, ARENA_BYTES, NULL) == ESNN_OK,
          "direct train init");
    for (i = 0; i < n; i++) {
        CHECK(esnn_train_sample(&tr, g_ft_x[i], nin, g_ft_y[i], NULL) == ESNN_OK, "direct sample");
        if (flush_mask & (1u << i))
            CHECK(esnn_train_flush(&tr, NULL) == ESNN_OK, "direct flush");
    }
    CHECK(esnn_train_flush(&tr, NULL) == ESNN_OK, "direct final flush");
    {
        esnn_diag dg;
        esnn_status rs = esnn_train_result(&tr, &res, out_len, &dg);
        CHECK(rs == ESNN_OK, "direct result: %d layer %d tensor %d %u %u", rs, dg.layer,
              dg.tensor, dg.expected, dg.actual);
        if (rs != ESNN_OK)
            return st;
    }
    memcpy(out, res, *out_len);
    esnn_train_get_stats(&tr, &st);
    return st;
}

/* Fine-tune over the protocol (A active in slot 0), commit, compare everything with the
 * direct run: the committed image byte for byte, the counters, the memory figures. */
static void ft_equals_direct(uint8_t trainable, uint8_t mode, uint16_t batch, float lr)
{
    static uint8_t want[SLOT_IMAGE], before[FLASH_BYTES];
    const uint32_t flush_mask = (1u << 4) | (1u << (FT_N - 1u)); /* two "epochs": 5 + 7 */
    fixture *f = with_model();
    esnn_train_config c = ft_cfg(trainable, mode, batch, lr);
    esnn_train_stats need, st;
    uint32_t nin = input_numel(g_blob, g_len), want_len = 0, i, n;
    uint8_t p[1024], frame[2200];
    hello_t h;
    pc_resp r;
    char what[64];
    sprintf(what, "trainable %u mode %u batch %u", trainable, mode, batch);
    st = ft_direct(&c, FT_N, flush_mask, want, &want_len);
    CHECK(esnn_train_arena_bytes(g_blob, g_len, &c, &need, NULL) == ESNN_OK, "need");
    memcpy(before, g_flash_mem, FLASH_BYTES);

    r = ft_begin(f, &c);
    EXPECT_PS(r, PS_OK, what);
    CHECK(r.len == 20 && pc_get32(r.payload) == need.arena_bytes &&
          pc_get32(r.payload + 4) == need.persistent_bytes &&
          pc_get32(r.payload + 8) == need.scratch_bytes && pc_get32(r.payload + 12) == ARENA_BYTES,
          "%s: BEGIN answer", what);
    CHECK(pc_get16(r.payload + 16) == pc_get16(g_blob + 24) && pc_get16(r.payload + 18) == 10,
          "%s: T %u classes %u", what, pc_get16(r.payload + 16), pc_get16(r.payload + 18));
    h = hello(f);
    CHECK(h.session == 2 && h.features == 7 && h.active == 0, "%s: HELLO in a session", what);
    /* inference and uploads wait for the session; reading a slot does not */
    memset(p, 0, 4 + nin);
    r = req(f, INFER, p, 4 + nin);
    CHECK(r.status == PS_BUSY && r.len == 12 && r.payload[0] == 2, "%s: INFER busy", what);
    r = begin(f, g_len, esnn_crc32(0, g_blob_b, g_len));
    CHECK(r.status == PS_BUSY && r.len == 12 && r.payload[0] == 2, "%s: UPLOAD busy", what);
    p[0] = 0;
    p[1] = 0;
    pc_put16(p + 2, 64);
    pc_put32(p + 4, 0);
    r = req(f, READ_SLOT, p, 8);
    CHECK(r.status == PS_OK && memcmp(r.payload, g_blob, 64) == 0, "%s: READ_SLOT", what);

    for (i = 0; i < FT_N; i++) {
        uint8_t flags = (flush_mask >> i) & 1u;
        uint32_t samples0 = stat_of(f, ST_FT_SAMPLES);
        pc_put32(p, i);
        pc_put16(p + 4, g_ft_y[i]);
        p[6] = flags;
        p[7] = 0;
        memcpy(p + 8, g_ft_x[i], nin);
        n = pc_frame(0xA5, FT_SAMPLE, (uint16_t)(2000 + i), p, 8 + nin, frame);
        send_raw(f, frame, n, &r);
        EXPECT_PS(r, PS_OK, what);
        CHECK(r.len == 28 && pc_get32(r.payload) == i + 1, "%s: samples after %u", what, i);
        CHECK(pc_get32(r.payload + 24) == 1000u, "%s: ticks", what);
        if (i == 3) {  /* a retransmission (same seq): the cached answer, nothing trained */
            pc_resp again;
            send_raw(f, frame, n, &again);
            CHECK(again.ok && again.len == r.len && memcmp(again.payload, r.payload, r.len) == 0,
                  "%s: retransmission answered from the cache", what);
            /* the same index with a new seq: a late duplicate, nothing trained */
            again = ft_sample(f, i, g_ft_y[i], flags, g_ft_x[i], nin);
            CHECK(again.status == PS_OK && pc_get32(again.payload) == i + 1 &&
                  pc_get32(again.payload + 24) == 0, "%s: duplicate index", what);
            again = ft_sample(f, 0, g_ft_y[0], 0, g_ft_x[0], nin);
            CHECK(again.status == PS_OK && pc_get32(again.payload) == i + 1, "%s: old index", what);
            /* a gap: refused with the next index */
            again = ft_sample(f, i + 2, g_ft_y[i], 0, g_ft_x[i], nin);
            CHECK(again.status == PS_BAD_ARG && again.len == 4 && pc_get32(again.payload) == i + 1,
                  "%s: gap", what);
            CHECK(stat_of(f, ST_FT_SAMPLES) == samples0 + 1, "%s: trained once", what);
        }
    }
    CHECK(pc_get32(r.payload + 4) == st.correct && pc_get32(r.payload + 8) == st.updates &&
          pc_get32(r.payload + 12) == st.saturated && f32_of(r.payload + 16) == st.loss_sum &&
          f32_of(r.payload + 20) == st.last_loss,
          "%s: counters %u/%u updates %u/%u loss %g/%g", what, pc_get32(r.payload + 4),
          st.correct, pc_get32(r.payload + 8), st.updates, (double)f32_of(r.payload + 16),
          (double)st.loss_sum);
    CHECK(memcmp(before, g_flash_mem, FLASH_BYTES) == 0, "%s: flash written before COMMIT", what);

    r = req(f, FT_COMMIT, NULL, 0);
    EXPECT_PS(r, PS_OK, what);
    CHECK(r.len == 68 && r.payload[0] == 1 && pc_get32(r.payload + 4) == 2 &&
          pc_get32(r.payload + 8) == want_len &&
          pc_get32(r.payload + 12) == esnn_crc32(0, want, want_len), "%s: COMMIT answer", what);
    CHECK(pc_get32(r.payload + 16) == st.arena_bytes && pc_get32(r.payload + 20) == st.persistent_bytes &&
          pc_get32(r.payload + 24) == st.scratch_bytes && pc_get32(r.payload + 28) == st.persistent_peak &&
          pc_get32(r.payload + 32) == st.scratch_peak && pc_get32(r.payload + 36) == FT_N &&
          pc_get32(r.payload + 40) == st.updates && pc_get32(r.payload + 44) == st.correct &&
          pc_get32(r.payload + 48) == st.saturated && f32_of(r.payload + 60) == st.loss_sum,
          "%s: COMMIT stats (peaks %u/%u)", what, pc_get32(r.payload + 28), pc_get32(r.payload + 32));
    CHECK(st.persistent_peak > 0 && st.scratch_peak > 0, "%s: peaks measured", what);
    CHECK(memcmp(slot_image(g_flash_mem, 1), want, want_len) == 0,
          "%s: committed image differs from the direct run", what);
    CHECK(memcmp(slot_image(g_flash_mem, 0), g_blob, g_len) == 0, "%s: old slot intact", what);
    h = hello(f);
    CHECK(h.active == 1 && h.gen[1] == 2 && h.valid[0] && h.valid[1] && h.session == 0 &&
          h.len[1] == want_len, "%s: HELLO after COMMIT", what);
    CHECK(stat_of(f, ST_FT_COMMITTED) == 1 && stat_of(f, ST_COMMITTED) == 1, "%s: counters", what);
    EXPECT_PS(ft_sample(f, FT_N, 0, 0, g_ft_x[0], nin), PS_NO_SESSION, "SAMPLE after COMMIT");
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_NO_SESSION, "COMMIT after COMMIT");
    /* the new model runs: the same outputs as the direct result */
    {
        esnn_model m;
        esnn_tensor out;
        CHECK(esnn_init(&m, want, want_len, g_arena + ARENA_BYTES, ARENA_BYTES, NULL) == ESNN_OK &&
              esnn_invoke(&m, g_ft_x[0], nin, ESNN_MODE_ONESTEP, 0, NULL) == ESNN_OK &&
              esnn_output(&m, &out) == ESNN_OK, "direct invoke");
        p[0] = p[1] = p[2] = p[3] = 0;
        memcpy(p + 4, g_ft_x[0], nin);
        r = req(f, INFER, p, 4 + nin);
        EXPECT_PS(r, PS_OK, "INFER after COMMIT");
        CHECK(out.dtype == ESNN_DTYPE_I32 && r.len == 12 + 4 * out.numel &&
              (int32_t)pc_get32(r.payload + 12) == ((const int32_t *)out.data)[0] &&
              (int32_t)pc_get32(r.payload + 12 + 4 * (out.numel - 1)) ==
                  ((const int32_t *)out.data)[out.numel - 1], "%s: INFER outputs", what);
    }
    /* a reboot keeps the fine-tuned model */
    boot(f, g_flash_mem, ARENA_BYTES);
    h = hello(f);
    CHECK(h.active == 1 && h.gen[1] == 2, "%s: after reboot", what);
    free(f);
}

void test_finetune_equals_direct(void)
{
    ft_data(input_numel(g_blob, g_len));
    ft_equals_direct(ESNN_TRAIN_HEAD, ESNN_TRAIN_REVERSIBLE, 1, 0.05f);
    ft_equals_direct(ESNN_TRAIN_HEAD, ESNN_TRAIN_REVERSIBLE, 3, 0.05f);
    ft_equals_direct(ESNN_TRAIN_BIAS, ESNN_TRAIN_REVERSIBLE, 2, 0.002f);
    ft_equals_direct(ESNN_TRAIN_ALL, ESNN_TRAIN_REVERSIBLE, 1, 0.001f);
    ft_equals_direct(ESNN_TRAIN_HEAD, ESNN_TRAIN_STORED, 4, 0.05f);
}

void test_finetune_refusals(void)
{
    fixture *f;
    static uint8_t before[FLASH_BYTES];
    esnn_train_config c = ft_cfg(ESNN_TRAIN_HEAD, ESNN_TRAIN_REVERSIBLE, 1, 0.05f), bad;
    esnn_train_stats need;
    uint32_t nin = input_numel(g_blob, g_len), i;
    uint8_t p[64];
    pc_resp r;
    ft_data(nin);
    /* no model */
    memset(g_flash_mem, 0, sizeof g_flash_mem);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_begin(f, &c), PS_NO_MODEL, "BEGIN without a model");
    free(f);

    f = with_model();
    memcpy(before, g_flash_mem, FLASH_BYTES);
    /* lengths and commands without a session */
    memset(p, 0, sizeof p);
    EXPECT_PS(req(f, FT_BEGIN, p, 23), PS_BAD_LENGTH, "BEGIN 23");
    EXPECT_PS(req(f, FT_BEGIN, p, 25), PS_BAD_LENGTH, "BEGIN 25");
    EXPECT_PS(req(f, FT_BEGIN, NULL, 0), PS_BAD_LENGTH, "BEGIN 0");
    EXPECT_PS(req(f, FT_SAMPLE, p, 7), PS_BAD_LENGTH, "SAMPLE 7");
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "SAMPLE without BEGIN");
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_NO_SESSION, "COMMIT without BEGIN");
    EXPECT_PS(req(f, FT_COMMIT, p, 1), PS_BAD_LENGTH, "COMMIT 1");
    EXPECT_PS(req(f, FT_ABORT, NULL, 0), PS_OK, "ABORT without a session");
    EXPECT_PS(req(f, FT_ABORT, p, 1), PS_BAD_LENGTH, "ABORT 1");
    /* bad configurations: the engine's status and numbers */
    {
        const float nan = 0.0f / 0.0f;
        struct { int field; float v; int32_t want; } cases[] = {
            {0, 2, ESNN_ERR_CONFIG}, {1, 3, ESNN_ERR_CONFIG}, {2, 2, ESNN_ERR_CONFIG},
            {3, 2, ESNN_ERR_CONFIG}, {4, 1.0f, ESNN_ERR_CONFIG}, {5, -1.0f, ESNN_ERR_CONFIG},
            {6, 64, ESNN_ERR_STEPS}, {7, 0, ESNN_ERR_CONFIG}};
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            bad = c;
            switch (cases[i].field) {
            case 0: bad.mode = (uint8_t)cases[i].v; break;
            case 1: bad.trainable = (uint8_t)cases[i].v; break;
            case 2: bad.surrogate = (uint8_t)cases[i].v; break;
            case 3: bad.verify = (uint8_t)cases[i].v; break;
            case 4: bad.momentum = cases[i].v; break;
            case 5: bad.lr = cases[i].v; break;
            case 6: bad.steps = (uint16_t)cases[i].v; break;
            default: bad.lr = nan; break;
            }
            r = ft_begin(f, &bad);
            CHECK(r.status == PS_RUNTIME_ERROR && r.len == 16 &&
                  (int32_t)pc_get32(r.payload) == cases[i].want,
                  "config case %u: status %d esnn %d", i, r.status, (int32_t)pc_get32(r.payload));
        }
    }
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "no session after refusal");
    /* a session: bad samples are refused without an effect */
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN");
    r = ft_sample(f, 0, 1, 0, g_ft_x[0], nin - 1);
    CHECK(r.status == PS_RUNTIME_ERROR && r.len == 16 &&
          (int32_t)pc_get32(r.payload) == ESNN_ERR_INPUT_SIZE && pc_get32(r.payload + 4) == nin &&
          pc_get32(r.payload + 8) == nin - 1, "short input");
    r = ft_sample(f, 0, 1, 0, g_ft_x[0], nin + 1);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_INPUT_SIZE,
          "long input");
    r = ft_sample(f, 0, 10, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_LABEL &&
          pc_get32(r.payload + 4) == 9 && pc_get32(r.payload + 8) == 10, "label 10");
    r = ft_sample(f, 0, 0xFFFF, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_LABEL,
          "label 65535");
    EXPECT_PS(ft_sample(f, 0, 1, 0x04, g_ft_x[0], nin), PS_BAD_ARG, "unknown flag");
    EXPECT_PS(ft_sample(f, 0, 1, 0x02, g_ft_x[0], nin), PS_NOT_OWNER, "another token");
    {
        uint8_t q[1024];
        pc_put32(q, 0);
        pc_put16(q + 4, 1);
        q[6] = 0;
        q[7] = 1;
        memcpy(q + 8, g_ft_x[0], nin);
        EXPECT_PS(req(f, FT_SAMPLE, q, 8 + nin), PS_BAD_ARG, "reserved byte");
    }
    r = ft_sample(f, 0, 1, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 1, "the first good sample is index 0");
    /* an upload session cannot start; a fine-tuning BEGIN restarts the session */
    r = ft_begin(f, &c);
    EXPECT_PS(r, PS_OK, "BEGIN again");
    r = ft_sample(f, 1, 1, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_BAD_ARG && pc_get32(r.payload) == 0, "restarted at index 0");
    /* ABORT: nothing written, inference back */
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_OK, "sample");
    EXPECT_PS(req(f, FT_ABORT, NULL, 0), PS_OK, "ABORT");
    EXPECT_PS(ft_sample(f, 1, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "SAMPLE after ABORT");
    CHECK(hello(f).session == 0, "HELLO session after ABORT");
    CHECK(memcmp(before, g_flash_mem, FLASH_BYTES) == 0, "an aborted session wrote flash");
    memset(p, 0, 4);
    {
        uint8_t q[1024];
        memset(q, 0, 4);
        memcpy(q + 4, g_ft_x[0], nin);
        EXPECT_PS(req(f, INFER, q, 4 + nin), PS_OK, "INFER after ABORT");
    }
    /* an open upload session: BEGIN is busy until the upload ends */
    EXPECT_PS(begin(f, g_len, esnn_crc32(0, g_blob_b, g_len)), PS_OK, "UPLOAD_BEGIN");
    r = ft_begin(f, &c);
    CHECK(r.status == PS_BUSY && r.len == 1 && r.payload[0] == 1, "BEGIN busy during an upload");
    CHECK(hello(f).session == 1, "HELLO session upload");
    EXPECT_PS(req(f, ABORT, NULL, 0), PS_OK, "UPLOAD_ABORT");
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN after the upload's ABORT");
    /* RESET ends the session; the old model stays */
    EXPECT_PS(ft_sample(f, 0, 3, 0, g_ft_x[1], nin), PS_OK, "sample");
    EXPECT_PS(req(f, RESET, NULL, 0), PS_OK, "RESET");
    boot(f, g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_sample(f, 1, 3, 0, g_ft_x[1], nin), PS_NO_SESSION, "session gone after RESET");
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_NO_SESSION, "COMMIT after RESET");
    CHECK(hello(f).active == 0 && hello(f).session == 0, "A active after RESET");
    free(f);

    /* a board whose arena is too small: the need in the answer */
    CHECK(esnn_train_arena_bytes(g_blob, g_len, &c, &need, NULL) == ESNN_OK, "need");
    f = with_model();
    boot(f, g_flash_mem, need.arena_bytes - 16);
    r = ft_begin(f, &c);
    CHECK(r.status == PS_ARENA_TOO_SMALL && r.len == 16 && pc_get32(r.payload) == need.arena_bytes &&
          pc_get32(r.payload + 4) == need.persistent_bytes &&
          pc_get32(r.payload + 8) == need.scratch_bytes &&
          pc_get32(r.payload + 12) == need.arena_bytes - 16, "ARENA_TOO_SMALL numbers");
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "no session");
    boot(f, g_flash_mem, need.arena_bytes);
    EXPECT_PS(ft_begin(f, &c), PS_OK, "the exact arena is enough");
    free(f);

    /* a diverging run: the session refuses to go on, nothing is written */
    f = with_model();
    bad = c;
    bad.lr = 1.0f;
    bad.logit_scale = 3.0e38f;
    EXPECT_PS(ft_begin(f, &bad), PS_OK, "BEGIN (diverging)");
    for (i = 0; i < FT_N; i++) {
        r = ft_sample(f, i, g_ft_y[i], 0, g_ft_x[i], nin);
        if (r.status != PS_OK)
            break;
    }
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_DIVERGED,
          "diverged after %u samples: status %d esnn %d", i, r.status, (int32_t)pc_get32(r.payload));
    r = ft_sample(f, i + 1, 0, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_DIVERGED,
          "later samples repeat it");
    r = req(f, FT_COMMIT, NULL, 0);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_DIVERGED,
          "COMMIT refused");
    CHECK(hello(f).active == 0 && !hello(f).valid[1], "nothing committed");
    EXPECT_PS(req(f, FT_ABORT, NULL, 0), PS_OK, "ABORT");
    EXPECT_PS(ft_begin(f, &c), PS_OK, "a new session after the failure");
    free(f);
}

/* Power cuts during FINETUNE_COMMIT at every byte of its flash writes (header
 * invalidation, image, commit-point header), and the retries after a flash error. */
void test_finetune_power_cut(void)
{
    static uint8_t base[FLASH_BYTES], want[SLOT_IMAGE], snap[FLASH_BYTES];
    esnn_train_config c = ft_cfg(ESNN_TRAIN_BIAS, ESNN_TRAIN_REVERSIBLE, 2, 0.002f);
    uint32_t nin = input_numel(g_blob, g_len), want_len = 0, i, n_new = 0, n_old = 0;
    long b, total;
    int bad = 0;
    fixture *f, *g;
    pc_resp r;
    ft_data(nin);
    ft_direct(&c, 5, 0, want, &want_len);
    two_models(base);
    /* how many bytes a commit writes */
    memcpy(g_flash_mem, base, sizeof base);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN");
    for (i = 0; i < 5; i++)
        EXPECT_PS(ft_sample(f, i, g_ft_y[i], 0, g_ft_x[i], nin), PS_OK, "sample");
    /* a dead flash: FLASH_ERROR, the session stays open, A stays active */
    f->flash.dead = 1;
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_FLASH_ERROR, "COMMIT on dead flash");
    CHECK(hello(f).active == 1 && hello(f).session == 2, "after the flash error");
    f->flash.dead = 0;
    f->flash.written = 0;
    r = req(f, FT_COMMIT, NULL, 0);
    EXPECT_PS(r, PS_OK, "COMMIT retried");
    total = (long)f->flash.written;
    CHECK(total == 32 + (long)want_len + 32, "bytes a commit writes: %ld", total);
    CHECK(r.payload[0] == 0 && pc_get32(r.payload + 4) == 3 &&
          memcmp(slot_image(g_flash_mem, 0), want, want_len) == 0, "retried commit's image");
    free(f);
    /* one session, a commit with a power cut after each byte: the flash is restored to
     * the base before every attempt, and a fresh device boots on a copy of what is left */
    memcpy(g_flash_mem, base, sizeof base);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN");
    for (i = 0; i < 5; i++)
        EXPECT_PS(ft_sample(f, i, g_ft_y[i], 0, g_ft_x[i], nin), PS_OK, "sample");
    for (b = 0; b <= total && !bad; b++) {
        hello_t h;
        memcpy(g_flash_mem, base, sizeof base);
        f->flash.budget = b;
        f->flash.dead = 0;
        r = req(f, FT_COMMIT, NULL, 0);
        memcpy(snap, g_flash_mem, sizeof snap);
        g = new_fixture(snap, ARENA_BYTES);  /* power back on */
        h = hello(g);
        if (r.status == PS_OK) {
            n_new++;
            bad += !(b == total && h.active == 0 && h.gen[0] == 3 &&
                     memcmp(slot_image(snap, 0), want, want_len) == 0);
        } else {
            n_old++;
            bad += !(r.status == PS_FLASH_ERROR && h.active == 1 && h.gen[1] == 2 &&
                     memcmp(slot_image(snap, 1), g_blob, g_len) == 0);
        }
        if (bad)
            CHECK(0, "power cut after %ld bytes: status %d active %u", b, r.status, h.active);
        free(g);
    }
    CHECK(!bad && n_new == 1 && n_old == (uint32_t)total, "cuts: %u new, %u old", n_new, n_old);
    free(f);
}
