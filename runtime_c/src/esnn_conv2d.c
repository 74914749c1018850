/* esnn_conv2d.c - 2-D convolution, CHW layout, weights [C][Cin][kh][kw] int8 in place:
 * the dispatch to the specialised kernels (esnn_conv2d_patch.c, esnn_conv2d_plane.c)
 * and the generic kernel for every geometry they decline.
 *
 * Generic kernel: tap-major accumulation over a block of outputs: for one output channel, a block of
 * up to ESNN_CONV_BLOCK outputs (whole rows when they fit, else part of one row) is
 * accumulated tap by tap; each tap (ky, kx, ci) is one weight times a strided patch
 * of input pixels. The inner loop then runs over output columns instead of over
 * kw taps, and the per-tap overhead is paid once per block, not per output. Zero
 * padding is never materialised and the loops carry no bounds tests: the valid
 * output rows are clipped once per ky and the valid columns once per kx. Index
 * arithmetic stays non-negative (no pointer is formed before a tensor's start). */
#include "esnn_internal.h"

#define ESNN_CONV_BLOCK 128u  /* outputs per accumulator block: 512 B of stack */

typedef struct {
    const esnn_ldesc *l;
    uint32_t cin, h, w;   /* input extent */
    uint32_t wo;          /* output width (row pitch of the block) */
    uint32_t oy0, nr;     /* block rows [oy0, oy0 + nr) */
    uint32_t ox0, n;      /* block columns [ox0, ox0 + n) */
} esnn_conv_blk;

/* Outputs o in [first, last] whose input coordinate o*s - pad + k lies in [0, in),
 * clipped to [b0, b0 + bn). Returns the half-open range [*lo, *hi). */
static void valid_range(uint32_t in, uint32_t s, uint32_t pad, uint32_t k, uint32_t b0,
                        uint32_t bn, uint32_t *lo, uint32_t *hi)
{
    uint32_t a = pad > k ? (pad - k + s - 1u) / s : 0u;
    uint32_t b = in + pad > k ? (in - 1u + pad - k) / s + 1u : 0u;
    *lo = a > b0 ? a : b0;
    *hi = b < b0 + bn ? b : b0 + bn;
}

/* a[i] += w * x[i * s] for i < n; stride 1 (the common case) is unrolled by four. */
static void axpy_u8(int32_t *a, int32_t w, const uint8_t *x, uint32_t n, uint32_t s)
{
    uint32_t i = 0;
    if (s == 1u) {
        for (; i + 4u <= n; i += 4u) {
            a[i] += w * x[i];
            a[i + 1u] += w * x[i + 1u];
            a[i + 2u] += w * x[i + 2u];
            a[i + 3u] += w * x[i + 3u];
        }
    }
    for (; i < n; i++)
        a[i] += w * x[i * s];
}

/* acc[(oy-oy0)*n + (ox-ox0)] += sum over taps of W[c][ci][ky][kx] * x[ci][iy][ix]. */
static void block_accumulate(int32_t *acc, const int8_t *wc, const uint8_t *x,
                             const esnn_conv_blk *g)
{
    const esnn_ldesc *l = g->l;
    const uint32_t plane = g->h * g->w, ksz = (uint32_t)l->kh * l->kw;
    const uint32_t sh = l->sh, sw = l->sw;
    uint32_t ky, kx, ci, y0, y1, x0, x1, oy;
    for (ky = 0; ky < l->kh; ky++) {
        valid_range(g->h, sh, l->pt, ky, g->oy0, g->nr, &y0, &y1);
        for (kx = 0; kx < l->kw && y0 < y1; kx++) {
            valid_range(g->w, sw, l->pl, kx, g->ox0, g->n, &x0, &x1);
            for (ci = 0; ci < g->cin && x0 < x1; ci++) {
                const int32_t wv = wc[ci * ksz + ky * l->kw + kx];
                /* input pixel of output (y0, x0); both coordinates >= 0 by valid_range */
                const uint8_t *xr = x + ci * plane + (y0 * sh + ky - l->pt) * g->w +
                                    (x0 * sw + kx - l->pl);
                int32_t *ar = acc + (y0 - g->oy0) * g->n + (x0 - g->ox0);
                if (wv == 0)
                    continue;  /* zero (pruned) weights cost nothing */
                for (oy = y0; oy < y1; oy++, xr += sh * g->w, ar += g->n)
                    axpy_u8(ar, wv, xr, x1 - x0, sw);
            }
        }
    }
}

/* One block: accumulate, then hand each total current to the neuron. */
static void conv_block(const esnn_run *r, const esnn_conv_blk *g, const int8_t *wc, int32_t b,
                       const uint8_t *x, uint32_t in_numel, int analog, const esnn_sink *sink,
                       uint32_t c, uint32_t plane_idx)
{
    int32_t acc[ESNN_CONV_BLOCK];
    const int32_t T = (int32_t)r->T;
    const uint32_t cnt = g->nr * g->n;
    uint32_t i, t;
    memset(acc, 0, sizeof acc);
    if (!r->tstep) {
        /* totals: the input holds q (a = T*(b + W.q)) or counts/sums (a = T*b + W.n) */
        block_accumulate(acc, wc, x, g);
        for (i = 0; i < cnt; i++)
            acc[i] = analog ? T * (b + acc[i]) : T * b + acc[i];
    } else {
        /* simulation: the current b + W.x_t of every step is computed and summed; the
         * network input is q at every step, other U8 inputs are step-major rows */
        for (t = 0; t < r->T; t++) {
            for (i = 0; i < cnt; i++)
                acc[i] += b;
            block_accumulate(acc, wc, analog ? x : x + t * in_numel, g);
        }
    }
    for (i = 0; i < cnt; i++)
        esnn_neuron_store(sink, plane_idx + (g->oy0 + i / g->n) * g->wo + g->ox0 + i % g->n,
                          c, acc[i]);
}

/* Any geometry: blocks of outputs, channel by channel. */
static void generic(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                    const esnn_tdesc *out, int analog)
{
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint8_t *x = esnn_tensor_ptr(r, in);
    const uint32_t co = out->dims[0], ho = out->dims[1], wo = out->dims[2];
    const uint32_t kc = (uint32_t)in->dims[0] * l->kh * l->kw;  /* weights per channel */
    /* whole rows per block when a row fits, else one row in column chunks */
    const uint32_t rows = wo <= ESNN_CONV_BLOCK ? ESNN_CONV_BLOCK / wo : 1u;
    esnn_sink sink;
    esnn_conv_blk g;
    uint32_t c;
    g.l = l;
    g.cin = in->dims[0];
    g.h = in->dims[1];
    g.w = in->dims[2];
    g.wo = wo;
    esnn_sink_init(&sink, r, l, out);
    for (c = 0; c < co; c++) {
        const int32_t b = esnn_rd_i32(bias + 4u * c);
        for (g.oy0 = 0; g.oy0 < ho; g.oy0 += g.nr) {
            g.nr = ho - g.oy0 < rows ? ho - g.oy0 : rows;
            for (g.ox0 = 0; g.ox0 < wo; g.ox0 += g.n) {
                g.n = wo - g.ox0 < ESNN_CONV_BLOCK ? wo - g.ox0 : ESNN_CONV_BLOCK;
                conv_block(r, &g, w + c * kc, b, x, in->numel, analog, &sink, c,
                           c * ho * wo);
            }
        }
    }
}

/* Specialised kernels first (each declines a layer it does not fit): K >= 16 taps per
 * output (any K in a build without the plane kernel, ESNN_CONV_PLANE) -> one dot
 * product per output (esnn_conv2d_patch.c); stride 1 with few taps -> padded-plane runs
 * (esnn_conv2d_plane.c); anything else -> the generic blocks. */
void esnn_conv2d(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                 const esnn_tdesc *out, int analog)
{
    if (esnn_conv2d_patch(r, l, in, out, analog) ||
        (ESNN_CONV_PLANE && esnn_conv2d_plane(r, l, in, out, analog)))
        return;
    generic(r, l, in, out, analog);
}
