/* esnn_couple.c - COUPLE, one half of a reversible block (format 1.2, format.md 5):
 * additive coupling over the two channel halves of a tensor,
 *
 *     y_t = (x_t + n) mod 256,  y_s = x_s,  n = IF count of F(x_s) (DENSE or CONV2D)
 *
 * with t the target half (ESNN_LF_TARGET_HI: the second) and s the other one. The
 * wrap-around is deliberate: it keeps the block exactly invertible
 * (x_t = (y_t - n) mod 256, n recomputed from y_s = x_s).
 *
 * Both modes work on totals. The input's per-step rows (one row in one-step mode)
 * are summed into the output's row 0 (mod 256); in T-step mode rows 1..T-1 are
 * zeroed, so every consumer, which sums rows, sees the totals. Then the ordinary
 * DENSE/CONV2D kernel runs in one-step arithmetic on a view of the output: its input
 * is the source half, its output the target half, and the sink adds the count to what
 * is there (esnn_neuron_store, sink.add) instead of storing it. The IF count of the
 * total current equals the T-step spike count bit for bit (format.md 5), so one-step
 * and T-step agree. The halves are disjoint, so the kernel never reads what it writes. */
#include "esnn_internal.h"

void esnn_couple(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                 const esnn_tdesc *out)
{
    const uint32_t n = out->numel, half = n / 2u, rows = r->tstep ? r->T : 1u;
    const uint8_t *x = esnn_tensor_ptr(r, in);
    uint8_t *y = esnn_tensor_ptr(r, out);
    const int hi = (l->flags & ESNN_LF_TARGET_HI) != 0u;
    esnn_run v;
    esnn_tdesc src, dst;
    uint32_t i, t, s;
    for (i = 0; i < n; i++) {
        for (s = 0, t = 0; t < rows; t++)
            s += x[t * n + i];
        y[i] = (uint8_t)s;  /* totals mod 256 */
    }
    if (rows > 1u)
        memset(y + n, 0, (rows - 1u) * n);
    /* the kernels reach tensors only through esnn_tensor_ptr: a one-step view whose
     * arena is the output's row 0 and whose two tensors are its halves */
    v = *r;
    v.arena = y;
    v.scale = 1u;
    v.tstep = 0u;
    v.causal = 0u;
    v.row = 0u;
    v.mem = NULL;
    src = *out;
    src.dims[0] = (uint16_t)(out->dims[0] / 2u);
    src.numel = half;
    src.bytes = half;
    dst = src;
    src.arena_offset = hi ? 0u : half;
    dst.arena_offset = hi ? half : 0u;
    if (out->rank == 1u)
        esnn_dense(&v, l, &src, &dst, 0);
    else
        esnn_conv2d(&v, l, &src, &dst, 0);
}
