/* esnn_conv2d_patch.c - CONV2D as one dot product per output (im2col, one column at
 * a time), for layers whose outputs each see K = Cin*kh*kw >= 16 taps.
 *
 * Why: deep layers run on small maps with many channels, so each output has many taps
 * but rows are short; tap-major accumulation then spends its time on per-tap
 * bookkeeping. Here the inputs of one output position are gathered once into an int16
 * patch (zero padding materialised) and every output channel is a contiguous dot
 * product of its int8 weight row, read in place, with that patch (esnn_dot_rows.c:
 * vectorisable 16-blocks, four channels per patch load). A patch serves a group of
 * channels; when K exceeds the patch buffer it covers a run of input channels at a
 * time. Returns 0 when one input channel's window does not fit the buffer, so the
 * caller can use the generic kernel. */
#include "esnn_internal.h"

#define ESNN_PATCH_MAX ESNN_DOT_MAX    /* patch entries: 192 B of stack */
#define ESNN_PATCH_GROUP 16u  /* channels per pass: sums and biases, 2 x 64 B of stack */

typedef struct {
    const uint8_t *x;          /* input planes [Cin][H][W] (of the current step) */
    uint32_t cin, h, w, plane;
    uint32_t kh, kw, sh, sw, pt, pl;
    uint32_t k, kk;            /* taps per output, per input channel */
    uint32_t ci0, nci;         /* patch: input channels [ci0, ci0 + nci) */
    uint32_t zlen;             /* patch length whose zero tail is in place */
} esnn_patch_geo;

/* Buffers of one pass (declared once: inlined callees would each get their own). */
typedef struct {
    int16_t p[ESNN_PATCH_MAX];
    int32_t acc[ESNN_PATCH_GROUP], b[ESNN_PATCH_GROUP];
} esnn_patch_buf;

/* Copies the valid ny x nx part of a window, for the patch's input channels (p and x
 * at the part's first tap). Windows are narrow, so a loop per row would cost more than
 * the copy: widths 3 and 2 (a 3x3 kernel's interior and border) are unrolled. */
static void copy_window(int16_t *p, const uint8_t *x, const esnn_patch_geo *g, uint32_t ny,
                        uint32_t nx)
{
    const uint32_t kw = g->kw, kk = g->kk, w = g->w, plane = g->plane;
    uint32_t ci, y, i;
    for (ci = 0; ci < g->nci; ci++, x += plane, p += kk) {
        const uint8_t *s = x;
        int16_t *d = p;
        if (nx == 3u) {
            for (y = 0; y < ny; y++, s += w, d += kw) {
                d[0] = s[0];
                d[1] = s[1];
                d[2] = s[2];
            }
        } else if (nx == 2u) {
            for (y = 0; y < ny; y++, s += w, d += kw) {
                d[0] = s[0];
                d[1] = s[1];
            }
        } else {
            for (y = 0; y < ny; y++, s += w, d += kw)
                for (i = 0; i < nx; i++)
                    d[i] = s[i];
        }
    }
}

/* Patch of output (oy, ox): p[(ci - ci0)*kh*kw + ky*kw + kx] = x[ci][iy][ix], 0 in the
 * padding and after the last tap up to a multiple of 16 (esnn_dot_rows). The valid
 * window [ky0, ky1) x [kx0, kx1) is clipped once; border outputs zero the patch first.
 * Coordinates are tested in signed arithmetic before any index is formed, so no
 * pointer ever points before the input. Returns the number of taps. */
static uint32_t gather(int16_t *p, esnn_patch_geo *g, uint32_t oy, uint32_t ox)
{
    const uint32_t kh = g->kh, kw = g->kw, w = g->w, len = g->nci * g->kk;
    const int32_t iy0 = (int32_t)(oy * g->sh) - (int32_t)g->pt;
    const int32_t ix0 = (int32_t)(ox * g->sw) - (int32_t)g->pl;
    const uint32_t ky0 = iy0 < 0 ? (uint32_t)-iy0 : 0u, kx0 = ix0 < 0 ? (uint32_t)-ix0 : 0u;
    /* taps left inside; validation (pads < kernel) makes them >= 1, clamped anyway */
    const int32_t yl = (int32_t)g->h - iy0, xl = (int32_t)w - ix0;
    const uint32_t ky1 = yl < (int32_t)kh ? (yl > 0 ? (uint32_t)yl : 0u) : kh;
    const uint32_t kx1 = xl < (int32_t)kw ? (xl > 0 ? (uint32_t)xl : 0u) : kw;
    const uint32_t nx = kx1 > kx0 ? kx1 - kx0 : 0u, ny = ky1 > ky0 ? ky1 - ky0 : 0u;
    uint32_t i;
    if (nx != kw || ny != kh)
        memset(p, 0, len * sizeof *p);
    for (i = len; g->zlen != len && (i & 15u); i++)
        p[i] = 0;
    g->zlen = len;
    if (nx != 0u)
        copy_window(p + ky0 * kw + kx0,
                    g->x + g->ci0 * g->plane + (uint32_t)(iy0 + (int32_t)ky0) * w +
                        (uint32_t)(ix0 + (int32_t)kx0),
                    g, ny, nx);
    return len;
}

/* acc[c] += sum over taps of W[c0 + c] * x for c < n at output (oy, ox), over the
 * patch's runs of input channels (usually one). */
static void position_sums(esnn_patch_buf *pb, esnn_patch_geo *g, const int8_t *w,
                          uint32_t n, int exact, uint32_t oy, uint32_t ox)
{
    const uint32_t nmax = ESNN_PATCH_MAX / g->kk;  /* input channels per patch */
    uint32_t len;
    for (g->ci0 = 0; g->ci0 < g->cin; g->ci0 += g->nci) {
        g->nci = g->cin - g->ci0 < nmax ? g->cin - g->ci0 : nmax;
        len = gather(pb->p, g, oy, ox);
        /* only the row tail past the last run can run past the weight section */
        esnn_dot_rows(w + g->ci0 * g->kk, g->k, len, n, pb->p, pb->acc,
                      exact && g->ci0 + g->nci == g->cin);
    }
}

/* Channels [c0, c0 + n) at every output position. One-step: the input holds q
 * (a = T*(b + W.q)) or counts/sums (a = T*b + W.n), i.e. a = T*b + m*W.x with m = T or
 * 1. T-step: the current b + W.x_t of every step is computed and summed; the network
 * input is q at every step, other U8 inputs are step-major rows. */
static void group(const esnn_run *r, const esnn_ldesc *l, esnn_patch_geo *g,
                  const esnn_sink *sink, const esnn_tdesc *in, const esnn_tdesc *out,
                  uint32_t c0, uint32_t n, int analog, esnn_patch_buf *pb)
{
    const uint8_t *x = g->x, *bias = r->blob + l->off[ESNN_SEC_B];
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]) + c0 * g->k;
    const uint32_t ho = out->dims[1], wo = out->dims[2], hw = ho * wo;
    const int exact = c0 + n == out->dims[0] && esnn_w_exact(r, l);
    const int32_t T = (int32_t)r->T, m = analog ? T : 1;
    int32_t *b = pb->b, *acc = pb->acc;
    uint32_t oy, ox, t, c;
    for (c = 0; c < n; c++)  /* one-step uses T*b, T-step b once per step */
        b[c] = (r->tstep ? 1 : T) * esnn_rd_i32(bias + 4u * (c0 + c));
    for (oy = 0; oy < ho; oy++) {
        for (ox = 0; ox < wo; ox++) {
            const uint32_t idx = c0 * hw + oy * wo + ox;
            memset(acc, 0, n * sizeof *acc);
            if (sink->fast) {  /* the common case, inlined */
                position_sums(pb, g, w, n, exact, oy, ox);
                for (c = 0; c < n; c++)
                    sink->out[idx + c * hw] =
                        esnn_if_count(b[c] + m * acc[c], sink->shift[c0 + c], T);
                continue;
            }
            if (!r->tstep) {
                position_sums(pb, g, w, n, exact, oy, ox);
                for (c = 0; c < n; c++)
                    acc[c] = b[c] + m * acc[c];
            } else {
                for (t = 0; t < r->T; t++) {
                    g->x = analog ? x : x + t * in->numel;
                    position_sums(pb, g, w, n, exact, oy, ox);
                    for (c = 0; c < n; c++)
                        acc[c] += b[c];
                }
                g->x = x;
            }
            for (c = 0; c < n; c++)
                esnn_neuron_store(sink, idx + c * hw, c0 + c, acc[c]);
        }
    }
}

int esnn_conv2d_patch(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                      const esnn_tdesc *out, int analog)
{
    esnn_patch_buf pb;
    esnn_patch_geo g;
    esnn_sink sink;
    uint32_t c0, n;
    g.cin = in->dims[0];
    g.h = in->dims[1];
    g.w = in->dims[2];
    g.plane = g.h * g.w;
    g.kh = l->kh;
    g.kw = l->kw;
    g.sh = l->sh;
    g.sw = l->sw;
    g.pt = l->pt;
    g.pl = l->pl;
    g.kk = g.kh * g.kw;
    g.k = g.cin * g.kk;
    if (g.k < 16u || g.kk > ESNN_PATCH_MAX)
        return 0;
    g.x = esnn_tensor_ptr(r, in);
    g.zlen = 0;  /* no patch length yet */
    esnn_sink_init(&sink, r, l, out);
    for (c0 = 0; c0 < out->dims[0]; c0 += n) {
        n = out->dims[0] - c0 < ESNN_PATCH_GROUP ? out->dims[0] - c0 : ESNN_PATCH_GROUP;
        group(r, l, &g, &sink, in, out, c0, n, analog, &pb);
    }
    return 1;
}
