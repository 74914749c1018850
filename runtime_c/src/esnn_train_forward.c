/* esnn_train_forward.c - the forward pass of one training sample: the inference
 * arithmetic (one-step, which equals T-step bit for bit), layer by layer, into the
 * training regions. An IF layer's currents come from the inference kernels; its spike
 * counts from the same closed form as inference. COUPLE layers update their target
 * half in place (reversible mode) or in their own output region (stored mode). Stored
 * mode (and verify) also records every step's membrane and spike. */
#include "esnn_train_internal.h"

static void run_if(esnn_trainer *tr, uint32_t i, const esnn_tr_layer *L)
{
    const uint32_t nout = L->dst.numel;
    int32_t *cur = esnn_tr_i32(tr, tr->cur_off);
    uint8_t *y = tr->arena + L->out.arena_offset + L->half;
    const int couple = L->l.op == ESNN_OP_COUPLE;
    int32_t *u = NULL;
    uint8_t *s = NULL;
    uint32_t e;
    if (tr->s_off[i] != ESNN_TR_NONE) {
        u = esnn_tr_i32(tr, tr->s_off[i]);
        s = tr->arena + tr->s_off[i] + 4u * tr->T * nout;
    }
    esnn_tr_currents(tr, L, cur);
    for (e = 0; e < nout; e++) {
        const uint8_t k = esnn_tr_shift(tr, L, e);
        const uint8_t n = esnn_if_count(cur[e], k, (int32_t)tr->T);
        y[e] = couple ? (uint8_t)(y[e] + n) : n;  /* COUPLE: wraps mod 256 by design */
        if (u)
            (void)esnn_tr_trajectory(cur[e], k, tr->T, u + e, s + e, nout, 0);
    }
}

void esnn_tr_forward(esnn_trainer *tr, const esnn_hdr *h, const uint8_t *input)
{
    esnn_tr_layer L;
    esnn_tdesc in;
    esnn_run r;
    uint32_t i;
    esnn_read_tensor(tr->blob, h, h->input_tensor, &in);
    memcpy(tr->arena + tr->t_off[h->input_tensor], input, in.numel);
    esnn_tr_run(tr, &r);
    for (i = 0; i < h->num_layers; i++) {
        esnn_tr_layer_get(tr, h, i, &L);
        if (L.l.op == ESNN_OP_SUMPOOL2D) {
            esnn_sumpool2d(&r, &L.l, &L.in, &L.out);
            continue;
        }
        if (L.l.op == ESNN_OP_COUPLE) {
            const uint8_t *x = tr->arena + L.in.arena_offset;
            uint8_t *y = tr->arena + L.out.arena_offset;
            if (ESNN_TRAIN_VERIFY && tr->x_off[i] != ESNN_TR_NONE &&
                tr->x_off[i] != L.in.arena_offset)
                memcpy(tr->arena + tr->x_off[i], x, L.in.numel);  /* verify: the truth */
            if (y != x)
                memcpy(y, x, L.in.numel);
        }
        if (L.spiking)
            run_if(tr, i, &L);
        else  /* the readout: its currents are the output */
            esnn_tr_currents(tr, &L, esnn_tr_i32(tr, L.out.arena_offset));
    }
}
