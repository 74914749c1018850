/* esnn_dense.c - fully connected layer, weights [N][Nin] int8 read in place. */
#include "esnn_internal.h"

void esnn_dense(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                const esnn_tdesc *out, int analog)
{
    const int8_t *w = (const int8_t *)(r->blob + l->off[ESNN_SEC_W]);
    const uint8_t *bias = r->blob + l->off[ESNN_SEC_B];
    const uint8_t *x = esnn_tensor_ptr(r, in);
    const uint32_t nin = in->numel, n_out = out->numel;
    const int32_t T = (int32_t)r->T;
    esnn_sink sink;
    uint32_t n, t;
    esnn_sink_init(&sink, r, l, out);
    for (n = 0; n < n_out; n++, w += nin) {
        const int32_t b = esnn_rd_i32(bias + 4u * n);
        int32_t a = 0;
        if (!r->tstep) {
            /* totals: the input holds q (a = T*(b + W.q)) or counts (a = T*b + W.n) */
            const int32_t dot = esnn_dot_s8u8(w, x, nin);
            a = analog ? T * (b + dot) : T * b + dot;
        } else {
            /* simulation: the current b + W.x_t of every step; the network input is
             * the same q at every step, other U8 tensors are step-major rows */
            for (t = 0; t < r->T; t++)
                a += b + esnn_dot_s8u8(w, analog ? x : x + t * nin, nin);
        }
        esnn_neuron_store(&sink, n, n, a);
    }
}
