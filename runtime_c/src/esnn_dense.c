/* esnn_dense.c - fully connected layer, weights [N][Nin] int8 read in place.
 *
 * The input (counts, sums or q) is widened once to int16, in chunks of up to
 * ESNN_DENSE_CHUNK values, and each output is a dot product of its weight row with it
 * (esnn_dot_rows: vectorisable 16-blocks, four rows per input load). Outputs go in
 * groups whose sums are carried over chunks and steps. Inputs shorter than 16 (no
 * 16-block to vectorise) take the plain scalar dot product. */
#include "esnn_internal.h"

#define ESNN_DENSE_CHUNK ESNN_DOT_MAX   /* widened inputs: 192 B of stack */
#define ESNN_DENSE_GROUP 16u   /* outputs per pass: 64 B of stack */

/* Short inputs: per output, the scalar dot product. */
static void dense_short(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                        const esnn_tdesc *out, const esnn_sink *sink, int analog)
{
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint8_t *x = esnn_tensor_ptr(r, in);
    const uint32_t nin = in->numel, n_out = out->numel;
    const int32_t T = (int32_t)r->T;
    uint32_t n, t;
    for (n = 0; n < n_out; n++, w += nin) {
        const int32_t b = esnn_rd_i32(bias + 4u * n);
        int32_t a = 0;
        if (!r->tstep) {
            /* totals: the input holds q (a = T*(b + W.q)) or counts (a = T*b + W.n) */
            const int32_t dot = esnn_dot_s8u8(w, x, nin);
            a = analog ? T * (b + dot) : T * b + dot;
        } else {
            /* simulation: the current b + W.x_t of every step; the network input is
             * the same q at every step, other U8 tensors are step-major rows */
            for (t = 0; t < r->T; t++)
                a += b + esnn_dot_s8u8(w, analog ? x : x + t * nin, nin);
        }
        esnn_store(sink, n, n, a);
    }
}

/* acc[c] += sum over j of W[n0 + c][j] * x[j] for c < g, chunk by chunk. */
static void group_dots(const int8_t *w, const uint8_t *x, uint32_t nin, uint32_t g, int last,
                       int32_t *acc)
{
    int16_t p[ESNN_DENSE_CHUNK];
    uint32_t j0, len, i;
    for (j0 = 0; j0 < nin; j0 += len) {
        len = nin - j0 < ESNN_DENSE_CHUNK ? nin - j0 : ESNN_DENSE_CHUNK;
        for (i = 0; i < len; i++)
            p[i] = x[j0 + i];
        for (; i & 15u; i++)
            p[i] = 0;
        esnn_dot_rows(w + j0, nin, len, g, p, acc, last && j0 + len == nin);
    }
}

void esnn_dense(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                const esnn_tdesc *out, int analog)
{
    int32_t acc[ESNN_DENSE_GROUP];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint8_t *x = esnn_tensor_ptr(r, in);
    const uint32_t nin = in->numel, n_out = out->numel;
    const int32_t T = (int32_t)r->T, m = analog ? T : 1;
    const int exact = esnn_w_exact(r, l);
    esnn_sink sink;
    uint32_t n0, g, c, t;
    esnn_sink_init(&sink, r, l, out);
    if (nin < 16u) {
        dense_short(r, l, in, out, &sink, analog);
        return;
    }
    for (n0 = 0; n0 < n_out; n0 += g) {
        const int last = n0 + ESNN_DENSE_GROUP >= n_out && exact;  /* holds the last row */
        g = n_out - n0 < ESNN_DENSE_GROUP ? n_out - n0 : ESNN_DENSE_GROUP;
        memset(acc, 0, sizeof acc);
        if (!r->tstep) {
            /* totals: a = T*b + m*W.x, m = T for the network input (a = T*(b + W.q)) */
            group_dots(w + n0 * nin, x, nin, g, last, acc);
            for (c = 0; c < g; c++)
                acc[c] = T * esnn_rd_i32(bias + 4u * (n0 + c)) + m * acc[c];
        } else {
            /* simulation: the current b + W.x_t of every step; the network input is
             * the same q at every step, other U8 tensors are step-major rows */
            for (t = 0; t < r->T; t++) {
                group_dots(w + n0 * nin, analog ? x : x + t * nin, nin, g, last, acc);
                for (c = 0; c < g; c++)
                    acc[c] += esnn_rd_i32(bias + 4u * (n0 + c));
            }
        }
        for (c = 0; c < g; c++)
            esnn_store(&sink, n0 + c, n0 + c, acc[c]);
    }
}
