/* esnn_plan.c - the per-call checks (mode, T, sum-pool range) and the arena need,
 * shared by esnn_arena_bytes and esnn_invoke. The blob must be validated. */
#include "esnn_internal.h"

/* Largest per-step value of each U8 tensor: 1 for spikes, 255 for a COUPLE output
 * (its totals, in row 0), kh*kw times the input's for a sum pool (saturated). The
 * spec's kh*kw*T <= 255 is this rule for a pool of spikes; a pool of a pool
 * multiplies, so the product is what must fit in a U8. */
static esnn_status check_pools(const uint8_t *blob, const esnn_hdr *h, uint32_t T, esnn_diag *d)
{
    uint32_t step_max[ESNN_MAX_TENSORS];
    esnn_ldesc l;
    uint32_t i, v;
    memset(step_max, 0, sizeof step_max);
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        if (l.op != ESNN_OP_SUMPOOL2D) {
            /* spikes (for I32 outputs the value is unused), or a COUPLE's totals */
            step_max[l.out] = l.op == ESNN_OP_COUPLE ? 255u : 1u;
            continue;
        }
        v = (uint32_t)l.kh * l.kw * step_max[l.in0];  /* <= 65025 * 65535 < 2^32 */
        step_max[l.out] = v > 0xFFFFu ? 0xFFFFu : v;
        if (step_max[l.out] * T > 255u)
            return esnn_fail(d, ESNN_ERR_STEPS, (int32_t)i, l.out, 255, step_max[l.out] * T);
    }
    return ESNN_OK;
}

/* One-step computes closed-form IF counts of one static frame: a leaky neuron (LIF,
 * LI) has none, and a sequence input has no single frame. */
static int has_lif(const uint8_t *blob, const esnn_hdr *h, int32_t *layer)
{
    esnn_ldesc l;
    uint32_t i;
    if (h->flags & ESNN_HDR_SEQUENCE)
        return 1;  /* layer -1: the input */
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        if (l.neuron == ESNN_NEURON_LIF || l.neuron == ESNN_NEURON_LI) {
            *layer = (int32_t)i;
            return 1;
        }
    }
    return 0;
}

esnn_status esnn_plan(const uint8_t *blob, const esnn_hdr *h, esnn_mode mode, uint32_t steps,
                      uint32_t *T, uint64_t *need, esnn_diag *d)
{
    int32_t lif = -1;
    if (mode != ESNN_MODE_ONESTEP && mode != ESNN_MODE_TSTEP)
        return esnn_fail(d, ESNN_ERR_MODE, -1, -1, ESNN_MODE_TSTEP, (uint32_t)mode);
    if (steps > ESNN_MAX_STEPS)
        return esnn_fail(d, ESNN_ERR_STEPS, -1, -1, ESNN_MAX_STEPS, steps);
    *T = steps ? steps : h->default_steps;
    if (mode == ESNN_MODE_ONESTEP && has_lif(blob, h, &lif))
        return esnn_fail(d, ESNN_ERR_MODE, lif, -1, ESNN_MODE_TSTEP, ESNN_MODE_ONESTEP);
    *need = (uint64_t)h->scratch_bytes * (mode == ESNN_MODE_TSTEP ? *T : 1u);
    if (mode == ESNN_MODE_TSTEP && (h->flags & ESNN_HDR_CAUSAL))
        *need += esnn_membrane_bytes(blob, h);  /* causal: IF/LIF membranes after the plan */
    return check_pools(blob, h, *T, d);
}
