/* test_runtime.h - what the runtime's test families share (test_runtime_support.c):
 * the pass/fail counters, building and running blobs, a deterministic RNG and the
 * random model generators, and the family entry points test_runtime.c runs in order
 * (they share the RNG's state, so the order is part of each test's input). */
#ifndef ESNN_TEST_RUNTIME_H
#define ESNN_TEST_RUNTIME_H

#include "edgesnn.h"
#include "test_builder.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int g_pass, g_fail;
#include "test_support.h"

#define EXPECT_ST(got, want, what) \
    CHECK((got) == (want), "%s: got %d (%s), want %d", what, (int)(got), \
          esnn_status_str(got), (int)(want))

typedef struct {
    uint8_t *p;
    uint32_t n;
} blob_t;

/* ---- test_runtime_support.c ---- */
extern uint32_t g_rng;  /* xorshift32 state; generators reseed it for fixed models */
uint32_t rnd(void);
int rnd_in(int lo, int hi);
/* a malloc'd copy of the built blob */
blob_t build(const tb_model *m);
/* 16-aligned heap arena of exactly n bytes when malloc already aligns (glibc, ASan) */
uint8_t *arena_alloc(uint32_t n, void **raw);
/* validate, size, init and invoke; the output totals as int64 */
esnn_status run(const blob_t *b, esnn_mode mode, uint32_t T, const uint8_t *in,
                uint32_t in_len, int64_t *out, uint32_t *numel);
void expect_out(const blob_t *b, esnn_mode mode, uint32_t T, const uint8_t *in,
                uint32_t in_len, const int64_t *want, uint32_t n, const char *what);
void expect_both(const blob_t *b, uint32_t T, const uint8_t *in, uint32_t in_len,
                 const int64_t *want, uint32_t n, const char *what);
void rand_params(tb_model *m, int l, uint32_t nw, int wmax, int bmax, int klo, int khi);
void random_net(tb_model *m, int variant, int lif);
blob_t dense_toy(int with_readout);
void couple_wrap_model(tb_model *m);
/* a fresh copy of a valid multi-op blob (random_net variant 0, fixed seed) */
blob_t base_blob(void);
void set_flags(blob_t *b, uint32_t hf, uint32_t lf);
blob_t causal_toy(int neuron, int leak, int32_t bias, uint32_t hf, uint32_t lf);
void random_couple_net(tb_model *m, int variant);
/* random_couple_net(variant) with a fixed seed, edited by `edit` (may be NULL) */
blob_t couple_variant(int variant, void (*edit)(tb_model *));

/* ---- the families ---- */
/* test_kernels.c: hand-made models with hand-computed outputs */
void test_crc_and_strings(void);
void test_dense_if(void);
void test_conv2d(void);
void test_sumpool(void);
void test_add(void);
void test_lif(void);
void test_causal_neurons(void);
void test_couple_toy(void);
/* test_reference.c: random nets against an independent reference */
void test_couple_wrap(void);
void test_random_nets(void);
void test_random_couple_nets(void);
/* test_validate.c: malformed blobs */
void test_malformed_header(void);
void test_malformed_tables(void);
void test_malformed_models(void);
void test_causal_flags(void);
void test_couple_hostile(void);
/* test_api.c: the API contract */
void test_api(void);
void test_argmax_ties(void);
/* test_stream.c: the streaming mode of causal blobs */
void test_stream_equals_sequence(void);
void test_stream_long(void);
void test_stream_saturation(void);
void test_stream_errors(void);

#endif
