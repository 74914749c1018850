/* esnn_conv2d.c - 2-D convolution, CHW layout, weights [C][Cin][kh][kw] int8 in place.
 *
 * Row-wise accumulation: for one output channel and output row, a chunk of up to
 * ESNN_CONV_CHUNK output columns is accumulated tap by tap, each tap (ci, ky, kx)
 * being one weight times a strided run of input pixels. The inner loop is then long
 * (the output width) instead of kw taps, with no bounds tests: zero padding is never
 * materialised, the valid kernel rows are clipped once per output row and the valid
 * columns once per kx. Index arithmetic stays non-negative (no pointer is formed
 * before the start of a tensor). */
#include "esnn_internal.h"

#define ESNN_CONV_CHUNK 64u  /* output columns per accumulator chunk: 256 B of stack */

typedef struct {
    const esnn_ldesc *l;
    uint32_t cin, h, w;     /* input extent */
    uint32_t ox0, n;        /* the chunk: output columns [ox0, ox0 + n) */
} esnn_conv_geo;

/* Valid output columns [lo, hi) for kernel column kx: 0 <= ox*sw - pl + kx < W. */
static void col_range(const esnn_conv_geo *g, uint32_t kx, uint32_t *lo, uint32_t *hi)
{
    const uint32_t sw = g->l->sw, pl = g->l->pl, end = g->ox0 + g->n;
    uint32_t a = pl > kx ? (pl - kx + sw - 1u) / sw : 0u;  /* first ox inside */
    uint32_t b = g->w + pl > kx ? (g->w - 1u + pl - kx) / sw + 1u : 0u;  /* past last */
    *lo = a > g->ox0 ? a : g->ox0;
    *hi = b < end ? b : end;
}

/* acc[ox - ox0] += sum over ci, valid ky, kx of W[c][ci][ky][kx] * x[ci][iy][ix]. */
static void row_accumulate(int32_t *acc, const int8_t *wc, const uint8_t *x,
                           const esnn_conv_geo *g, uint32_t oy)
{
    const esnn_ldesc *l = g->l;
    const int32_t iy0 = (int32_t)(oy * l->sh) - (int32_t)l->pt;
    const uint32_t ky0 = iy0 < 0 ? (uint32_t)(-iy0) : 0u;
    const uint32_t ky1 = (int32_t)g->h - iy0 < (int32_t)l->kh ? (uint32_t)((int32_t)g->h - iy0)
                                                              : l->kh;
    const uint32_t plane = g->h * g->w, ksz = (uint32_t)l->kh * l->kw, sw = l->sw;
    uint32_t kx, ci, ky, lo, hi, i;
    for (kx = 0; kx < l->kw; kx++) {
        col_range(g, kx, &lo, &hi);
        if (lo >= hi)
            continue;
        for (ci = 0; ci < g->cin; ci++) {
            for (ky = ky0; ky < ky1; ky++) {
                const int32_t wv = wc[ci * ksz + ky * l->kw + kx];
                /* input column of output column lo: lo*sw - pl + kx >= 0 by col_range */
                const uint8_t *xp = x + ci * plane + (uint32_t)(iy0 + (int32_t)ky) * g->w +
                                    (lo * sw + kx - l->pl);
                int32_t *ap = acc + (lo - g->ox0);
                if (wv == 0)
                    continue;  /* pruned/zero weights cost nothing */
                for (i = 0; i < hi - lo; i++)
                    ap[i] += wv * xp[i * sw];
            }
        }
    }
}

/* One chunk of one output row: accumulate, then hand each total current to the neuron. */
static void conv_chunk(const esnn_run *r, const esnn_conv_geo *g, const int8_t *wc, int32_t b,
                       const uint8_t *x, uint32_t in_numel, uint32_t oy, int analog,
                       const esnn_sink *sink, uint32_t c, uint32_t row_idx)
{
    int32_t acc[ESNN_CONV_CHUNK];
    const int32_t T = (int32_t)r->T;
    uint32_t i, t;
    memset(acc, 0, sizeof acc);
    if (!r->tstep) {
        /* totals: the input holds q (a = T*(b + W.q)) or counts/sums (a = T*b + W.n) */
        row_accumulate(acc, wc, x, g, oy);
        for (i = 0; i < g->n; i++)
            esnn_neuron_store(sink, row_idx + g->ox0 + i, c,
                              analog ? T * (b + acc[i]) : T * b + acc[i]);
        return;
    }
    /* simulation: the current b + W.x_t of every step is computed and summed; the
     * network input is q at every step, other U8 inputs are step-major rows */
    for (t = 0; t < r->T; t++) {
        for (i = 0; i < g->n; i++)
            acc[i] += b;
        row_accumulate(acc, wc, analog ? x : x + t * in_numel, g, oy);
    }
    for (i = 0; i < g->n; i++)
        esnn_neuron_store(sink, row_idx + g->ox0 + i, c, acc[i]);
}

void esnn_conv2d(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                 const esnn_tdesc *out, int analog)
{
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint8_t *x = esnn_tensor_ptr(r, in);
    const uint32_t co = out->dims[0], ho = out->dims[1], wo = out->dims[2];
    const uint32_t kc = (uint32_t)in->dims[0] * l->kh * l->kw;  /* weights per channel */
    esnn_sink sink;
    esnn_conv_geo g;
    uint32_t c, oy;
    g.l = l;
    g.cin = in->dims[0];
    g.h = in->dims[1];
    g.w = in->dims[2];
    esnn_sink_init(&sink, r, l, out);
    for (c = 0; c < co; c++) {
        const int32_t b = esnn_rd_i32(bias + 4u * c);
        for (oy = 0; oy < ho; oy++) {
            for (g.ox0 = 0; g.ox0 < wo; g.ox0 += g.n) {
                g.n = wo - g.ox0 < ESNN_CONV_CHUNK ? wo - g.ox0 : ESNN_CONV_CHUNK;
                conv_chunk(r, &g, w + c * kc, b, x, in->numel, oy, analog, &sink, c,
                           (c * ho + oy) * wo);
            }
        }
    }
}
