/* test_builder.h - a tiny test-only .esnn blob writer, so the C tests need no Python.
 * Describe tensors and layers, attach parameter arrays, then tb_build() lays out
 * header | layer table | tensor table | data (16-aligned) | metadata and fixes the
 * CRC. Tests corrupt the result with tb_put* + tb_fix_crc. */
#ifndef TEST_BUILDER_H
#define TEST_BUILDER_H

#include <stdint.h>

#define TB_MAX 64
#define TB_DATA_CAP (1u << 20)

typedef struct {
    uint8_t dtype, rank;
    uint16_t dims[3];
    uint32_t arena_offset;
} tb_tensor;

typedef struct {
    uint8_t op, neuron, leak, flags;  /* flags: layer offset 3 (ESNN_LF_*) */
    uint16_t in0, in1, out;
    uint8_t geo[8];           /* kh kw sh sw pt pl pb pr */
    uint32_t off[4], len[4];  /* W B S M; offsets relative to the data section */
} tb_layer;

typedef struct {
    tb_tensor t[TB_MAX];
    tb_layer l[TB_MAX];
    uint32_t nt, nl;
    uint8_t *data;            /* TB_DATA_CAP bytes */
    uint32_t dlen;
    uint16_t input, output, default_steps;
    uint16_t version_minor;   /* written as is, but at least 2 when a layer is COUPLE */
    uint32_t scratch;         /* grown by tb_add_tensor (each tensor gets its own range) */
    const char *meta;
} tb_model;

void tb_init(tb_model *m);
void tb_free(tb_model *m);
/* New tensor at the next free 16-aligned arena offset; returns its index. */
int tb_add_tensor(tb_model *m, int dtype, int rank, int d0, int d1, int d2);
/* New layer (in1 = -1 for none); returns its index. */
int tb_add_layer(tb_model *m, int op, int neuron, int in0, int in1, int out);
void tb_geom(tb_model *m, int l, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr);
void tb_weights(tb_model *m, int l, const int8_t *w, uint32_t n);
void tb_bias(tb_model *m, int l, const int32_t *b, uint32_t n);
void tb_shift(tb_model *m, int l, const uint8_t *s, uint32_t n);
void tb_mult(tb_model *m, int l, const int16_t *m0, const int16_t *m1, uint32_t n);

/* Lay the blob out into out (cap bytes); returns its length, 0 if it does not fit. */
uint32_t tb_build(const tb_model *m, uint8_t *out, uint32_t cap);
/* Byte offsets of a layer / tensor table entry inside a built blob. */
uint32_t tb_layer_at(const uint8_t *blob, int i);
uint32_t tb_tensor_at(const uint8_t *blob, int i);
void tb_put16(uint8_t *p, uint32_t v);
void tb_put32(uint8_t *p, uint32_t v);
uint32_t tb_get16(const uint8_t *p);
uint32_t tb_get32(const uint8_t *p);
/* Recompute the header CRC over [16, total_length). */
void tb_fix_crc(uint8_t *blob);

#endif
