/* esnn_plan.c - the per-call checks (mode, T, sum-pool range) and the arena need,
 * shared by esnn_arena_bytes and esnn_invoke. The blob must be validated. */
#include "esnn_internal.h"

/* These passes run at every invoke and need only a few bytes of each layer entry
 * (format.md 4): they read those in place instead of decoding the whole 64-byte entry
 * with esnn_read_layer, about a hundred instructions per layer each time. */
enum { LE_OP = 0, LE_NEURON = 1, LE_IN0 = 4, LE_OUT = 8, LE_KH = 12, LE_KW = 13 };

static const uint8_t *layer_entry(const uint8_t *blob, const esnn_hdr *h, uint32_t i)
{
    return blob + h->layer_table_offset + i * ESNN_LAYER_BYTES;
}

/* Largest per-step value of each U8 tensor: 1 for spikes, 255 for a COUPLE output
 * (its totals, in row 0), kh*kw times the input's for a sum pool (saturated). The
 * spec's kh*kw*T <= 255 is this rule for a pool of spikes; a pool of a pool
 * multiplies, so the product is what must fit in a U8. */
static esnn_status check_pools(const uint8_t *blob, const esnn_hdr *h, uint32_t T, esnn_diag *d)
{
    uint32_t step_max[ESNN_MAX_TENSORS];
    uint32_t i, v, out;
    memset(step_max, 0, sizeof step_max);
    for (i = 0; i < h->num_layers; i++) {
        const uint8_t *p = layer_entry(blob, h, i);
        out = esnn_rd_u16(p + LE_OUT);
        if (p[LE_OP] != ESNN_OP_SUMPOOL2D) {
            /* spikes (for I32 outputs the value is unused), or a COUPLE's totals */
            step_max[out] = p[LE_OP] == ESNN_OP_COUPLE ? 255u : 1u;
            continue;
        }
        /* <= 65025 * 65535 < 2^32 */
        v = (uint32_t)p[LE_KH] * p[LE_KW] * step_max[esnn_rd_u16(p + LE_IN0)];
        step_max[out] = v > 0xFFFFu ? 0xFFFFu : v;
        if (step_max[out] * T > 255u)
            return esnn_fail(d, ESNN_ERR_STEPS, (int32_t)i, (int32_t)out, 255, step_max[out] * T);
    }
    return ESNN_OK;
}

/* One-step computes closed-form IF counts of one static frame: a leaky neuron (LIF,
 * LI) has none, and a sequence input has no single frame. */
static int has_lif(const uint8_t *blob, const esnn_hdr *h, int32_t *layer)
{
    uint32_t i;
    if (h->flags & ESNN_HDR_SEQUENCE)
        return 1;  /* layer -1: the input */
    for (i = 0; i < h->num_layers; i++) {
        const uint8_t neuron = layer_entry(blob, h, i)[LE_NEURON];
        if (neuron == ESNN_NEURON_LIF || neuron == ESNN_NEURON_LI) {
            *layer = (int32_t)i;
            return 1;
        }
    }
    return 0;
}

esnn_status esnn_plan(const uint8_t *blob, const esnn_hdr *h, esnn_mode mode, uint32_t steps,
                      uint32_t *T, uint64_t *need, esnn_diag *d)
{
    /* the failure found, reported once at the end (see esnn_validate_header.c) */
    int32_t lif = -1;
    uint32_t e = ESNN_MODE_TSTEP, a = ESNN_MODE_ONESTEP;
    esnn_status s = ESNN_ERR_MODE;
    if (mode != ESNN_MODE_ONESTEP && mode != ESNN_MODE_TSTEP) {
        a = (uint32_t)mode;
    } else if (steps > ESNN_MAX_STEPS) {
        s = ESNN_ERR_STEPS;
        e = ESNN_MAX_STEPS;
        a = steps;
    } else {
        *T = steps ? steps : h->default_steps;
        if (mode == ESNN_MODE_TSTEP || !has_lif(blob, h, &lif)) {
            *need = (uint64_t)h->scratch_bytes * (mode == ESNN_MODE_TSTEP ? *T : 1u);
            if (mode == ESNN_MODE_TSTEP && (h->flags & ESNN_HDR_CAUSAL))
                *need += esnn_membrane_bytes(blob, h);  /* causal: IF/LIF membranes after the plan */
            return check_pools(blob, h, *T, d);
        }
        /* one-step, but a leaky layer (lif) or a sequence input (-1): T-step only */
    }
    return esnn_fail(d, s, lif, -1, e, a);
}
