/* esnn_neuron_stream.c - causal neurons in the streaming mode (format.md 5, "Streaming").
 *
 * The arithmetic of esnn_causal_store for one step, with the state in the stream's
 * persistent region: s->mem holds one int32 per output element (the IF/LIF membrane u
 * or the NONE/LI readout value v), kept between esnn_stream_step calls and zeroed by
 * esnn_stream_reset (u = v = 0 before the first step). The previous spike a DELAYED
 * layer needs is recomputed from the stored u: with a delayed reset, the stored u is
 * exactly the value step t-1 compared with the threshold (and u = 0 gives no spike).
 * The step itself is esnn_causal_step / esnn_readout_step (esnn_internal.h), as in the
 * T-step loop, with the additions of the current saturating at the int32 limits: over
 * a stream of any length the state stays an int32, and within 63 steps of a reset the
 * causal overflow rule proves |u| + theta < 2^31, so no saturation happens and the
 * stream equals the T-step call bit for bit. */
#include "esnn_internal.h"

#if ESNN_STREAM
void esnn_stream_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t i)
{
    const uint8_t f = s->flags;
    uint8_t *m = s->mem + 4u * idx;
    int32_t u = esnn_ld_i32(m), thr;
    uint8_t prev, spike;
    if (!esnn_spiking(s->neuron)) {
        u = esnn_readout_step(u, i, s->neuron, s->leak, 1);
        esnn_st_i32(m, u);
        esnn_st_i32(s->out + 4u * idx, u);  /* the I32 output holds the current value */
        return;
    }
    thr = (int32_t)1 << s->shift[c];
    prev = (uint8_t)((f & ESNN_LF_STRICT) ? u > thr : u >= thr);  /* s_{t-1}, if DELAYED */
    u = esnn_causal_step(u, prev, i, thr, f, s->leak, 1, &spike);
    s->out[idx] = spike;
    esnn_st_i32(m, u);
}
#endif
