/* test_api.c - the API contract: NULL and state checks, arena sizes, argmax ties. */
#include "test_runtime.h"

/* ------------------------------------------------ API contract and arena */

void test_api(void)
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
void test_argmax_ties(void)
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
