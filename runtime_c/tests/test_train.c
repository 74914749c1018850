/* test_train.c - the fine-tuning engine under ASan/UBSan: for each blob given on the
 * command line, both modes and every trainable subset over pseudo-random samples;
 * identical results in both modes; verify mode finds no mismatch; exact arena query
 * (need - 1 is refused, need works, every arena byte it touches is inside the need);
 * bad arguments and labels; a trainer that is never initialised refuses to run; the
 * result blob validates; the bit-pattern float compares of soft-float builds agree with
 * the C operators. Usage: test_train BLOB [BLOB...] */
#include <string.h>
#include "edgesnn.h"
#include "esnn_train_internal.h"
#include "test_support.h"

static int g_pass, g_fail;

#define ARENA_MAX (1u << 20)
#define GUARD 64u
static uint8_t g_arena[ARENA_MAX + GUARD + 16u] __attribute__((aligned(16)));
static uint8_t g_out[2][1u << 16];
static uint32_t g_out_len[2];

static uint32_t rng_state = 12345u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Train n samples; returns 0 on success. Copies the result into g_out[slot]. */
static int run(const uint8_t *blob, uint32_t len, const esnn_train_config *cfg, uint32_t n,
               uint32_t in_numel, uint32_t classes, int slot, esnn_train_stats *st)
{
    static esnn_trainer tr;
    esnn_train_stats need;
    esnn_diag d;
    uint8_t x[4096];
    const uint8_t *res;
    uint32_t i, j, rlen;
    esnn_status s = esnn_train_arena_bytes(blob, len, cfg, &need, &d);
    CHECK(s == ESNN_OK, "arena query: %s", esnn_status_str(s));
    if (s != ESNN_OK || need.arena_bytes > ARENA_MAX)
        return 1;
    s = esnn_train_init(&tr, blob, len, cfg, g_arena, need.arena_bytes - 1u, &d);
    CHECK(s == ESNN_ERR_ARENA_TOO_SMALL && d.expected == need.arena_bytes, "need-1: %d", s);
    memset(g_arena + need.arena_bytes, 0x5A, GUARD);
    s = esnn_train_init(&tr, blob, len, cfg, g_arena, need.arena_bytes, &d);
    CHECK(s == ESNN_OK, "init: %s", esnn_status_str(s));
    if (s != ESNN_OK)
        return 1;
    rng_state = 777u;
    for (i = 0; i < n; i++) {
        for (j = 0; j < in_numel; j++)
            x[j] = (uint8_t)(rnd() % 256u);
        s = esnn_train_sample(&tr, x, in_numel, rnd() % classes, &d);
        CHECK(s == ESNN_OK, "sample %u: %s", i, esnn_status_str(s));
    }
    CHECK(esnn_train_sample(&tr, x, in_numel, classes, &d) == ESNN_ERR_LABEL, "label range");
    CHECK(esnn_train_sample(&tr, x, in_numel - 1u, 0, &d) == ESNN_ERR_INPUT_SIZE, "input size");
    CHECK(esnn_train_flush(&tr, &d) == ESNN_OK, "flush");
    CHECK(esnn_train_get_stats(&tr, st) == ESNN_OK, "stats");
    CHECK(st->samples == n, "samples %u", st->samples);
    CHECK(st->scratch_peak <= need.scratch_bytes && st->persistent_peak <= need.persistent_bytes,
          "peaks within the query");
    for (j = 0; j < GUARD; j++)
        if (g_arena[need.arena_bytes + j] != 0x5A)
            break;
    CHECK(j == GUARD, "wrote past the arena need");
    s = esnn_train_result(&tr, &res, &rlen, &d);
    CHECK(s == ESNN_OK && rlen == len && rlen <= sizeof g_out[0], "result: %s", esnn_status_str(s));
    if (s == ESNN_OK && rlen <= sizeof g_out[0]) {
        memcpy(g_out[slot], res, rlen);
        g_out_len[slot] = rlen;
        CHECK(esnn_validate(g_out[slot], rlen, NULL, NULL) == ESNN_OK, "result validates");
    }
    return 0;
}

static void test_blob(const uint8_t *blob, uint32_t len)
{
    esnn_info info;
    esnn_train_config cfg;
    esnn_train_stats st[2];
    uint32_t t, v;
    CHECK(esnn_validate(blob, len, &info, NULL) == ESNN_OK, "blob validates");
    for (t = ESNN_TRAIN_HEAD; t <= ESNN_TRAIN_ALL; t++) {
        memset(&cfg, 0, sizeof cfg);
        cfg.trainable = (uint8_t)t;
        cfg.lr = 0.01f;
        cfg.momentum = 0.5f;
        cfg.batch = 4;
        cfg.steps = 8;
        cfg.mode = ESNN_TRAIN_REVERSIBLE;
        run(blob, len, &cfg, 24, info.input_numel, info.output_numel, 0, &st[0]);
        cfg.mode = ESNN_TRAIN_STORED;
        run(blob, len, &cfg, 24, info.input_numel, info.output_numel, 1, &st[1]);
        CHECK(g_out_len[0] == g_out_len[1] && !memcmp(g_out[0], g_out[1], g_out_len[0]),
              "reversible == stored (trainable %u)", t);
        CHECK(st[1].scratch_bytes > st[0].scratch_bytes, "stored needs more scratch");
        CHECK(memcmp(g_out[0], blob, len) != 0, "training changed the blob (trainable %u)", t);
        for (v = 0; v < 2; v++) {  /* verify mode, both surrogates */
            cfg.mode = ESNN_TRAIN_REVERSIBLE;
            cfg.verify = 1;
            cfg.surrogate = (uint8_t)v;
            run(blob, len, &cfg, 12, info.input_numel, info.output_numel, 0, &st[0]);
            /* head-only training never goes back through an IF layer: nothing to check */
            CHECK((t == ESNN_TRAIN_HEAD || st[0].verify_checks > 0) && st[0].verify_mismatches == 0,
                  "verify: %u checks, %u mismatches", st[0].verify_checks, st[0].verify_mismatches);
        }
    }
}

static void test_arguments(const uint8_t *blob, uint32_t len)
{
    static esnn_trainer tr;
    esnn_train_config cfg;
    esnn_train_stats st;
    esnn_diag d;
    const uint8_t *res;
    uint32_t n;
    uint8_t x[64] = {0};
    memset(&cfg, 0, sizeof cfg);
    CHECK(esnn_train_init(NULL, blob, len, &cfg, g_arena, ARENA_MAX, &d) == ESNN_ERR_NULL, "null tr");
    CHECK(esnn_train_init(&tr, blob, len, NULL, g_arena, ARENA_MAX, &d) == ESNN_ERR_NULL, "null cfg");
    CHECK(esnn_train_sample(&tr, x, 64, 0, &d) == ESNN_ERR_STATE, "failed init refuses to run");
    CHECK(esnn_train_result(&tr, &res, &n, &d) == ESNN_ERR_STATE, "no result after failed init");
    CHECK(esnn_train_arena_bytes(blob, len, &cfg, NULL, &d) == ESNN_ERR_NULL, "null need");
    cfg.lr = -1.0f;
    CHECK(esnn_train_arena_bytes(blob, len, &cfg, &st, &d) == ESNN_ERR_CONFIG, "negative lr");
    cfg.lr = 0.01f;
    cfg.momentum = 1.0f;
    CHECK(esnn_train_arena_bytes(blob, len, &cfg, &st, &d) == ESNN_ERR_CONFIG, "momentum 1");
    cfg.momentum = 0.0f;
    cfg.mode = 7;
    CHECK(esnn_train_arena_bytes(blob, len, &cfg, &st, &d) == ESNN_ERR_CONFIG, "mode 7");
    cfg.mode = 0;
    cfg.steps = 64;
    CHECK(esnn_train_arena_bytes(blob, len, &cfg, &st, &d) == ESNN_ERR_STEPS, "T = 64");
    cfg.steps = 0;
    CHECK(esnn_train_init(&tr, blob, len, &cfg, g_arena + 4, ARENA_MAX, &d) == ESNN_ERR_ALIGN, "align");
    CHECK(esnn_train_init(&tr, blob, len - 1u, &cfg, g_arena, ARENA_MAX, &d) != ESNN_OK, "truncated");
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* esnn_fgt_bits / esnn_fge_bits (what a soft-float firmware compares with, see
 * esnn_train_fcmp.c) against > and >= of this host: zeros, subnormals, infinities, NaNs with
 * either sign, then random pairs (half of them close: same exponent or sign flipped). */
static void test_float_compares(void)
{
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007FFFFFu, 0x807FFFFFu,
        0x00800000u, 0x3F000000u, 0xBF000000u, 0x3F800000u, 0xBF800000u, 0x7F7FFFFFu,
        0xFF7FFFFFu, 0x7F800000u, 0xFF800000u, 0x7F800001u, 0xFF800001u, 0x7FC00000u,
        0xFFC00000u, 0x7FFFFFFFu, 0xFFFFFFFFu};
    const uint32_t n = sizeof special / sizeof special[0];
    uint32_t i, j, bad = 0;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            const float a = from_bits(special[i]), b = from_bits(special[j]);
            bad += (esnn_fgt_bits(a, b) != (a > b)) + (esnn_fge_bits(a, b) != (a >= b));
        }
    CHECK(bad == 0, "%u special pairs compare differently", bad);
    bad = 0;
    for (i = 0; i < 1000000u; i++) {
        const uint32_t u = rnd() ^ (rnd() << 16);
        const uint32_t v = (i & 1u) ? rnd() ^ (rnd() << 16) : u ^ (rnd() & 0x8000000Fu);
        const float a = from_bits(u), b = from_bits(v);
        bad += (esnn_fgt_bits(a, b) != (a > b)) + (esnn_fge_bits(a, b) != (a >= b));
    }
    CHECK(bad == 0, "%u random pairs compare differently", bad);
}

int main(int argc, char **argv)
{
    int i;
    if (argc < 2) {
        printf("usage: %s BLOB [BLOB...]\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        uint32_t len = 0;
        uint8_t *blob = esnn_test_read_file(argv[i], &len);
        CHECK(blob != NULL, "cannot read %s", argv[i]);
        if (!blob)
            continue;
        test_blob(blob, len);
        if (i == 1)
            test_arguments(blob, len);
        free(blob);
    }
    test_float_compares();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
