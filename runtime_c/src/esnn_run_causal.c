/* esnn_run_causal.c - the causal T-step loop (format.md 5): layer by layer, and within
 * a layer step by step, each kernel runs one step (T = 1, one-step arithmetic) on row
 * t of its U8 inputs and hands the current i_t to esnn_causal_store. The plan is the
 * T-step plan (tensor i at T * arena_offset_i, T rows); the IF/LIF membranes of the
 * running layer follow it at T * scratch_bytes (esnn_membrane_bytes). */
#include "esnn_internal.h"

/* Bytes of the membrane buffer: 4 per output element of the largest IF/LIF layer,
 * rounded up to 16. Numel <= 65535, so this is below 2^18. */
uint32_t esnn_membrane_bytes(const uint8_t *blob, const esnn_hdr *h)
{
    esnn_ldesc l;
    esnn_tdesc out;
    uint32_t i, n = 0;
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        esnn_read_tensor(blob, h, l.out, &out);
        if (esnn_spiking(l.neuron) && out.numel > n)
            n = out.numel;
    }
    return (4u * n + ESNN_ARENA_ALIGN - 1u) & ~(ESNN_ARENA_ALIGN - 1u);
}

/* `input` holds one frame (static: copied to every row) or T frames (sequence). */
void esnn_run_causal(esnn_run *r, const esnn_hdr *h, const uint8_t *input)
{
    const uint32_t steps = r->T;
    esnn_tdesc in;
    uint32_t i, t;
    uint8_t *x;
    r->row = 0;
    esnn_read_tensor(r->blob, h, h->input_tensor, &in);
    x = esnn_tensor_ptr(r, &in);
    for (t = 0; t < steps; t++)
        memcpy(x + t * in.numel, (h->flags & ESNN_HDR_SEQUENCE) ? input + t * in.numel : input,
               in.numel);
    r->mem = r->arena + r->scale * h->scratch_bytes;
    r->T = 1u;  /* one-step arithmetic of one step: the kernels compute i_t = b + W.x_t */
    for (i = 0; i < h->num_layers; i++) {
        for (t = 0; t < steps; t++) {
            r->row = t;
            esnn_run_layer(r, h, i);
        }
    }
    r->T = steps;
    r->row = 0;
}
