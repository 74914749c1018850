/* esnn_neuron_stream.c - causal neurons in the streaming mode (format.md 5, "Streaming").
 *
 * The arithmetic of esnn_causal_store for one step, with the state in the stream's
 * persistent region: s->mem holds one int32 per output element (the IF/LIF membrane u
 * or the NONE/LI readout value v), kept between esnn_stream_step calls and zeroed by
 * esnn_stream_reset (u = v = 0 before the first step). The previous spike a DELAYED
 * layer needs is recomputed from the stored u: with a delayed reset, the stored u is
 * exactly the value step t-1 compared with the threshold (and u = 0 gives no spike).
 * The additions of the current saturate at the int32 limits: over a stream of any
 * length the state stays an int32, and within 63 steps of a reset the causal overflow
 * rule proves |u| + theta < 2^31, so no saturation happens and the stream equals the
 * T-step call bit for bit. The leak and the reset cannot overflow: a reset subtracts
 * theta from u >= theta only. */
#include "esnn_internal.h"

#if ESNN_STREAM
/* a + b clamped to [INT32_MIN, INT32_MAX], without a 64-bit add */
int32_t esnn_sat_add32(int32_t a, int32_t b)
{
    if (b > 0 && a > INT32_MAX - b)
        return INT32_MAX;
    if (b < 0 && a < INT32_MIN - b)
        return INT32_MIN;
    return a + b;
}

void esnn_stream_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t i)
{
    const uint8_t f = s->flags;
    uint8_t *m = s->mem + 4u * idx;
    int32_t u = esnn_ld_i32(m), thr;
    uint8_t prev, spike;
    if (!esnn_spiking(s->neuron)) {
        if (s->neuron == ESNN_NEURON_LI)
            u -= esnn_asr32(u, s->leak);  /* v_{t+1} = v_t - (v_t >> leak) + i_t */
        u = esnn_sat_add32(u, i);
        esnn_st_i32(m, u);
        esnn_st_i32(s->out + 4u * idx, u);  /* the I32 output holds the current value */
        return;
    }
    thr = (int32_t)1 << s->shift[c];
    prev = (uint8_t)((f & ESNN_LF_STRICT) ? u > thr : u >= thr);  /* s_{t-1}, if DELAYED */
    if (s->leak)
        u -= esnn_asr32(u, s->leak);
    if ((f & ESNN_LF_DELAYED) && prev)
        u = (f & ESNN_LF_RESET_ZERO) ? 0 : u - thr;
    u = esnn_sat_add32(u, i);
    spike = (uint8_t)((f & ESNN_LF_STRICT) ? u > thr : u >= thr);
    if (!(f & ESNN_LF_DELAYED) && spike)
        u = (f & ESNN_LF_RESET_ZERO) ? 0 : u - thr;
    s->out[idx] = spike;
    esnn_st_i32(m, u);
}
#endif
