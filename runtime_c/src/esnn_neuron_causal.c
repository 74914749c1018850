/* esnn_neuron_causal.c - causal T-step neurons (format.md 5, "Causal dynamics").
 *
 * Called once per output element and step t = s->row with that step's current i_t.
 * The membrane u of an IF/LIF element lives in s->mem (int32, u = 0 before step 0);
 * its previous spike is the output row t - 1. A NONE readout accumulates the sum of
 * its currents and an LI readout its leaky membrane, both in the I32 output itself.
 * Validation bounds |u| below 2^31 (overflow rule with the causal margin). */
#include "esnn_internal.h"

void esnn_causal_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t i)
{
    uint8_t *m = s->mem + 4u * idx;
    int32_t u;
    uint8_t prev, spike;
    if (!esnn_spiking(s->neuron)) {
        uint8_t *p = s->out + 4u * idx;
        esnn_st_i32(p, esnn_readout_step(s->row ? esnn_ld_i32(p) : 0, i, s->neuron, s->leak, 0));
        return;
    }
    u = s->row ? esnn_ld_i32(m) : 0;
    prev = s->row ? (s->out - s->numel)[idx] : 0u;  /* spike of step t - 1 */
    u = esnn_causal_step(u, prev, i, (int32_t)1 << s->shift[c], s->flags, s->leak, 0, &spike);
    s->out[idx] = spike;
    esnn_st_i32(m, u);
}
