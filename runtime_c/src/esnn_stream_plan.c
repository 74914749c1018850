/* esnn_stream_plan.c - the streaming arena (format.md 5, "Streaming"), shared by
 * esnn_arena_bytes, esnn_stream_reset and esnn_stream_step. The blob must be validated.
 *
 *   [0, scratch_bytes)        the one-step plan: one step's activations (row 0)
 *   16 bytes                  the stream header: frames since the reset (u32)
 *   4 * numel per layer       in layer order, every layer but SUMPOOL2D: the int32 state
 *                             of each output element (IF/LIF membrane, readout value)
 *   4 * numel                 a U8 output's running totals (int32)
 *   rounded up to 16 bytes.
 * No T: the need is the same for a stream of any length. */
#include "esnn_internal.h"

#if ESNN_STREAM
esnn_status esnn_stream_plan(const uint8_t *blob, const esnn_hdr *h, uint64_t *need,
                             uint64_t *totals, esnn_diag *d)
{
    esnn_ldesc l;
    esnn_tdesc out;
    uint64_t n;
    uint32_t i, T;
    esnn_status s;
    if (!(h->flags & ESNN_HDR_CAUSAL))  /* a rate-driven blob has no per-step dynamics */
        return esnn_fail(d, ESNN_ERR_MODE, -1, -1, ESNN_MODE_TSTEP, ESNN_MODE_STREAM);
    /* the per-call checks of one causal step: a sum pool's per-step values fit a U8 */
    s = esnn_plan(blob, h, ESNN_MODE_TSTEP, 1u, &T, &n, d);
    if (s != ESNN_OK)
        return s;
    n = (uint64_t)h->scratch_bytes + ESNN_STREAM_HDR_BYTES;
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        esnn_read_tensor(blob, h, l.out, &out);
        if (l.op != ESNN_OP_SUMPOOL2D)
            n += 4u * (uint64_t)out.numel;
    }
    *totals = n;
    esnn_read_tensor(blob, h, h->output_tensor, &out);
    if (out.dtype == ESNN_DTYPE_U8)
        n += 4u * (uint64_t)out.numel;
    *need = (n + ESNN_ARENA_ALIGN - 1u) & ~(uint64_t)(ESNN_ARENA_ALIGN - 1u);
    return ESNN_OK;
}
#endif
