/* esnn_neuron.c - turning a total current a into a layer output (format.md 5).
 *
 * Every op computes the total current a of one output element and hands it here,
 * so the neuron arithmetic exists exactly once. Validation guarantees |a| < 2^31,
 * T <= 63 and k <= 20, hence T * 2^k < 2^26 and u stays within 27 bits. */
#include "esnn_internal.h"

void esnn_sink_init(esnn_sink *s, const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *out)
{
    s->out = esnn_tensor_ptr(r, out);
    s->shift = esnn_spiking(l->neuron) ? r->blob + l->off[ESNN_SEC_S] : NULL;
    s->numel = out->numel;
    s->T = r->T;
    s->tstep = r->tstep;
    s->neuron = l->neuron;
    s->leak = (l->neuron == ESNN_NEURON_LIF || l->neuron == ESNN_NEURON_LI) ? l->leak_shift : 0u;
    s->causal = r->causal;
    s->flags = l->flags;
    s->row = r->row;
    s->mem = r->mem;
#if ESNN_STREAM
    s->stream = r->stream;
#endif
    s->add = (uint8_t)(l->op == ESNN_OP_COUPLE);
    s->fast = (uint8_t)(!r->tstep && !r->causal && l->neuron == ESNN_NEURON_IF && !s->add);
}

/* T-step mode: simulate the neuron driven by its time-averaged current a/T in
 * T-scaled integers. The clamp to [-1, T*2^k] changes no spike and bounds u.
 * leak = 0 is IF; LIF decays u by u >> leak (floor) at the start of each step. */
void esnn_spike_train(int32_t a, uint32_t k, uint32_t leak, uint32_t T, uint8_t *out,
                      uint32_t stride)
{
    const int32_t thr = (int32_t)(T << k);
    const int32_t i = a < -1 ? -1 : (a > thr ? thr : a);
    int32_t u = 0;
    uint32_t t;
    for (t = 0; t < T; t++) {
        if (leak)
            u -= esnn_asr32(u, leak);
        u += i;
        out[t * stride] = (uint8_t)(u >= thr);
        if (u >= thr)
            u -= thr;
    }
}

void esnn_neuron_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t a)
{
    int32_t n;
    if (s->causal) {
#if ESNN_STREAM
        if (s->stream) {
            esnn_stream_store(s, idx, c, a);  /* a is the current of this stream step */
            return;
        }
#endif
        esnn_causal_store(s, idx, c, a);  /* a is the current of step s->row */
        return;
    }
    if (s->neuron == ESNN_NEURON_NONE) {
        esnn_st_i32(s->out + 4u * idx, a);  /* I32 output: the total current itself */
        return;
    }
    if (s->tstep) {
        esnn_spike_train(a, s->shift[c], s->leak, s->T, s->out + idx, s->numel);
        return;
    }
    /* one-step IF (OneSpike): n = clamp(floor(a / 2^k), 0, T) */
    n = esnn_asr32(a, s->shift[c]);
    n = n < 0 ? 0 : (n > (int32_t)s->T ? (int32_t)s->T : n);
    /* COUPLE: y_t = (x_t + n) mod 256, wrapping on purpose (the block stays invertible) */
    s->out[idx] = (uint8_t)(s->add ? (uint32_t)s->out[idx] + (uint32_t)n : (uint32_t)n);
}
