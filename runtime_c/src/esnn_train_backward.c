/* esnn_train_backward.c - loss and backward pass of one sample (docs/training.md).
 *
 * Softmax cross-entropy on logits z = a * logit_scale of the I32 readout. Going back
 * layer by layer, an IF layer's gradient d loss / d a is d loss / d n times the
 * element's surrogate sum over the T steps (online: the state is detached at every
 * step, so only the step's own membrane matters). Reversible mode recomputes the
 * currents from the layer input kept in its region (for COUPLE: from the output's
 * source half, which equals the input's) and replays the membranes; a COUPLE layer then
 * subtracts its spike counts from the target half, which turns its output back into
 * its input (mod 256, exact). Stored mode reads the stored membranes and inputs
 * instead. Both run the same float operations in the same order, so their gradients
 * are identical. */
#include "esnn_train_internal.h"

/* Loss of the sample; d loss / d a of the readout into d. */
static float loss_grad(esnn_trainer *tr, const esnn_hdr *h, uint32_t label, float *d)
{
    const int32_t *a = esnn_tr_i32(tr, tr->t_off[h->output_tensor]);
    const float ls = esnn_tr_logit_scale(tr);
    uint32_t j, best = 0;
    float m, sum = 0.0f;
    for (j = 1; j < tr->classes; j++)
        if (a[j] > a[best])
            best = j;  /* lowest index on ties, as esnn_output_argmax */
    tr->stats.correct += best == label;
    m = (float)a[best] * ls;
    for (j = 0; j < tr->classes; j++) {
        d[j] = esnn_expf((float)a[j] * ls - m);
        sum += d[j];
    }
    for (j = 0; j < tr->classes; j++)
        d[j] = ls * (d[j] / sum - (j == label ? 1.0f : 0.0f));
    return esnn_logf(sum) + m - (float)a[label] * ls;
}

static void pool_bwd(const esnn_tr_layer *L, const float *dy, float *dx)
{
    const esnn_ldesc *l = &L->l;
    const uint32_t h = L->in.dims[1], w = L->in.dims[2];
    const uint32_t ho = L->out.dims[1], wo = L->out.dims[2];
    uint32_t c, oy, ox, ky, kx;
    memset(dx, 0, 4u * L->in.numel);
    for (c = 0; c < L->out.dims[0]; c++)
        for (oy = 0; oy < ho; oy++)
            for (ox = 0; ox < wo; ox++) {
                const float g = dy[(c * ho + oy) * wo + ox];
                for (ky = 0; ky < l->kh; ky++)
                    for (kx = 0; kx < l->kw; kx++)
                        dx[(c * h + oy * l->sh + ky) * w + ox * l->sw + kx] += g;
            }
}

/* d loss / d a of an IF layer into da, which is the currents buffer itself (element e
 * is read as a current before it is overwritten as a gradient); reversible COUPLE:
 * subtract the spike counts from the target half, which reconstructs the input. */
static void if_bwd(esnn_trainer *tr, uint32_t i, const esnn_tr_layer *L, const float *dy,
                   float *da)
{
    const uint32_t nout = L->dst.numel, T = tr->T;
    const int stored = tr->cfg.mode == ESNN_TRAIN_STORED;
    const int rebuild = L->l.op == ESNN_OP_COUPLE && !stored;
    int32_t *cur = esnn_tr_i32(tr, tr->cur_off);
    uint8_t *y = tr->arena + L->out.arena_offset + L->half;
    int32_t *u = NULL;  /* read only here (esnn_tr_trajectory's check mode) */
    uint8_t *s = NULL;
    uint32_t e;
    if (tr->s_off[i] != ESNN_TR_NONE) {
        u = esnn_tr_i32(tr, tr->s_off[i]);
        s = tr->arena + tr->s_off[i] + 4u * T * nout;
    }
    if (!stored)
        esnn_tr_currents(tr, L, cur);
    for (e = 0; e < nout; e++) {
        const uint8_t k = esnn_tr_shift(tr, L, e);
        float S, g;
        if (stored) {
            S = esnn_tr_surrogate_sum(tr, 0, k, u + e, nout);
        } else {
            const int32_t a = cur[e];
            S = esnn_tr_surrogate_sum(tr, a, k, NULL, 0u);
            if (ESNN_TRAIN_VERIFY && u) {  /* verify: replayed vs stored membranes */
                tr->stats.verify_checks += T;
                tr->stats.verify_mismatches += esnn_tr_trajectory(a, k, T, u + e, s + e, nout, 1);
            }
            if (rebuild)
                y[e] = (uint8_t)(y[e] - esnn_if_count(a, k, (int32_t)T));
        }
        g = dy[L->half + e] * S;
        memcpy(da + e, &g, sizeof g);
    }
    if (ESNN_TRAIN_VERIFY && rebuild && tr->x_off[i] != ESNN_TR_NONE) {
        /* verify: the reconstructed input */
        const uint8_t *x = tr->arena + tr->x_off[i];
        const uint8_t *yy = tr->arena + L->out.arena_offset;
        tr->stats.verify_checks += L->in.numel;
        for (e = 0; e < L->in.numel; e++)
            tr->stats.verify_mismatches += x[e] != yy[e];
    }
}

void esnn_tr_backward(esnn_trainer *tr, const esnn_hdr *h, uint32_t label)
{
    float *dy = esnn_tr_f32(tr, tr->d0_off), *dx = esnn_tr_f32(tr, tr->d1_off), *t;
    float *da_buf = esnn_tr_f32(tr, tr->da_off);
    esnn_tr_layer L;
    esnn_tr_params p;
    uint32_t i, c, e;
    tr->stats.last_loss = loss_grad(tr, h, label, dy);
    tr->stats.loss_sum += tr->stats.last_loss;
    for (i = h->num_layers; i-- > tr->first_bwd;) {
        const int need_dx = i > tr->first_bwd;
        const float *da = dy;
        const int8_t *w;
        const uint8_t *x;
        float *gx;
        esnn_tr_layer_get(tr, h, i, &L);
        if (L.l.op == ESNN_OP_SUMPOOL2D) {
            if (need_dx) {
                pool_bwd(&L, dy, dx);
                t = dy, dy = dx, dx = t;
            }
            continue;
        }
        if (L.spiking) {
            if_bwd(tr, i, &L, dy, da_buf);
            da = da_buf;
        }
        esnn_tr_params_get(tr, i, &L.l, h->num_layers, &p);
        if (p.gb)
            for (c = 0; c < L.chans; c++) {
                float sum = 0.0f;
                for (e = 0; e < L.plane; e++)
                    sum += da[c * L.plane + e];
                p.gb[c] += (float)tr->T * sum;
            }
        if (!p.gw && !need_dx)
            continue;
        w = (const int8_t *)(tr->blob + L.l.off[ESNN_SEC_W]);
        x = tr->arena + L.src.arena_offset;
        /* COUPLE: d x_s = d y_s + W^T da, in place; d x_t = d y_t */
        gx = !need_dx ? NULL : (L.l.op == ESNN_OP_COUPLE ? dy + L.src_half : dx);
        if (L.conv)
            esnn_tr_conv_bwd(&L.l, w, &L.src, &L.dst, da, x, L.analog ? (float)tr->T : 1.0f,
                             p.gw, gx, L.l.op == ESNN_OP_COUPLE);
        else
            esnn_tr_dense_bwd(w, L.chans, L.src.numel, da, x, L.analog ? (float)tr->T : 1.0f,
                              p.gw, gx, L.l.op == ESNN_OP_COUPLE);
        if (need_dx && L.l.op != ESNN_OP_COUPLE)
            t = dy, dy = dx, dx = t;
    }
}
