/* esnn_dense.c - fully connected layer, weights [N][Nin] int8 read in place.
 *
 * The input (counts, sums or q) is widened once to int16, in chunks of up to
 * ESNN_DENSE_CHUNK values, and each output is a dot product of its weight row with it
 * (esnn_dot_rows: vectorisable 16-blocks, four rows per input load). Outputs go in
 * groups whose sums are carried over chunks and steps. Inputs shorter than 16 (no
 * 16-block to vectorise) take the plain scalar dot product. On Cortex-M4/M7 (DSP
 * extension), one-step layers whose input is a multiple of 4 take dense_dsp below. */
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

#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
/* Cortex-M4/M7 (DSP extension, little-endian), one-step: the input is widened once into
 * int16 pairs in the order SXTB16 extends four int8 weights of one word ((x0, x2), then
 * (x1, x3), by UXTB16), and rows go four at a time: per four inputs, one LDRD of the
 * inputs and for each row one word load, two SXTB16 and two SMLADs (dense_rows4). Sums
 * are exact as in the C loop (SMLAD never saturates; partial sums are bounded by the
 * validated overflow rule). Weight rows are read in whole words inside the row (nin is a
 * multiple of 4). Returns 0 when the layer does not fit. */
#include <arm_acle.h>

#define ESNN_DENSE_XW 96u  /* widened input, int16 pairs: 192 inputs, 384 B of stack */

static inline uint32_t d_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);  /* one LDR: Cortex-M4 loads unaligned words */
    return v;
}

/* s[j] = the dot product of row rows[j] (int8) with the widened input x[0..xend), j < 4
 * (AAPCS: r0 = s, r1 = rows, r2 = x, r3 = xend; xend > x). Hand-written: 14 registers. */
__attribute__((naked, noinline)) static void dense_rows4(int32_t *s, const int8_t *const *rows,
                                                        const uint32_t *x, const uint32_t *xend)
{
#define ESNN_DENSE_ROW(p, a)               \
    "ldr r2, [" p "], #4\n\t"             \
    "sxtb16 lr, r2\n\t"                   \
    "smlad " a ", lr, r0, " a "\n\t"      \
    "sxtb16 lr, r2, ror #8\n\t"           \
    "smlad " a ", lr, r1, " a "\n\t"
    __asm__(
        "push {r0, r4-r11, lr}\n\t"
        "ldmia r1, {r4, r5, r6, r7}\n\t"  /* the four row pointers */
        "mov r12, r3\n\t"
        "mov r3, r2\n\t"
        "movs r8, #0\n\t"
        "movs r9, #0\n\t"
        "movs r10, #0\n\t"
        "movs r11, #0\n\t"
        "1:\n\t"
        "ldrd r0, r1, [r3], #8\n\t"
        ESNN_DENSE_ROW("r4", "r8")
        ESNN_DENSE_ROW("r5", "r9")
        ESNN_DENSE_ROW("r6", "r10")
        ESNN_DENSE_ROW("r7", "r11")
        "cmp r3, r12\n\t"
        "bne 1b\n\t"
        "pop {r0}\n\t"
        "stmia r0, {r8, r9, r10, r11}\n\t"
        "pop {r4-r11, pc}\n\t");
#undef ESNN_DENSE_ROW
    (void)s;
    (void)rows;
    (void)x;
    (void)xend;
}

static int dense_dsp(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                     const esnn_tdesc *out, const esnn_sink *sink, int analog)
{
    uint32_t xw[ESNN_DENSE_XW];
    const int8_t *rows[4];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint8_t *x = esnn_tensor_ptr(r, in);
    const uint32_t nin = in->numel, n_out = out->numel, ng = nin / 4u;
    const int32_t T = (int32_t)r->T, m = analog ? T : 1;
    /* one-step NONE (not causal): esnn_neuron_store would store a as is */
    const int direct = !sink->causal && sink->neuron == ESNN_NEURON_NONE;
    int32_t s[4];
    uint32_t i, n, j;
    if (r->tstep || (nin & 3u) != 0u || nin == 0u || nin / 2u > ESNN_DENSE_XW)
        return 0;
    for (i = 0; i < ng; i++) {
        const uint32_t v = d_ld32(x + 4u * i);
        xw[2u * i] = __uxtb16(v);
        xw[2u * i + 1u] = __uxtb16(v >> 8);
    }
    for (n = 0; n < n_out; n += 4u) {
        const uint32_t nr = n_out - n < 4u ? n_out - n : 4u;
        for (j = 0; j < 4u; j++)  /* 1..3 rows left: repeat the last */
            rows[j] = w + (n + (j < nr ? j : nr - 1u)) * nin;
        dense_rows4(s, rows, xw, xw + 2u * ng);
        for (j = 0; j < nr; j++) {
            int32_t b, a;
            memcpy(&b, bias + 4u * (n + j), sizeof b);  /* little-endian int32 */
            a = T * b + m * s[j];
            if (sink->fast)
                sink->out[n + j] = esnn_if_count(a, sink->shift[n + j], T);
            else if (direct)
                esnn_st_i32(sink->out + 4u * (n + j), a);  /* I32 output: the current */
            else
                esnn_neuron_store(sink, n + j, n + j, a);
        }
    }
    return 1;
}
#endif

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
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
    if (dense_dsp(r, l, in, out, &sink, analog))
        return;
#endif
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
