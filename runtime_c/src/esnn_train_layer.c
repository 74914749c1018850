/* esnn_train_layer.c - a layer as the trainer sees it, its currents computed by the
 * inference kernels, and the arena blocks the trainer owns. */
#include "esnn_train_internal.h"

/* Arena blocks are 16-byte aligned (esnn_train_plan.c), so float and int32 views of
 * them are aligned. */
float *esnn_tr_f32(const esnn_trainer *tr, uint32_t off)
{
    return (float *)(void *)(tr->arena + off);
}

int32_t *esnn_tr_i32(const esnn_trainer *tr, uint32_t off)
{
    return (int32_t *)(void *)(tr->arena + off);
}

static void half_of(const esnn_tdesc *full, uint32_t offset, esnn_tdesc *h)
{
    *h = *full;
    h->dims[0] = (uint16_t)(full->dims[0] / 2u);
    h->numel = full->numel / 2u;
    h->bytes = h->numel;
    h->arena_offset = full->arena_offset + offset;
}

void esnn_tr_layer_get(const esnn_trainer *tr, const esnn_hdr *h, uint32_t i, esnn_tr_layer *L)
{
    esnn_read_layer(tr->blob, h, i, &L->l);
    esnn_read_tensor(tr->blob, h, L->l.in0, &L->in);
    esnn_read_tensor(tr->blob, h, L->l.out, &L->out);
    L->in.arena_offset = tr->t_off[L->l.in0];
    L->out.arena_offset = tr->t_off[L->l.out];
    L->analog = L->l.in0 == h->input_tensor;
    L->spiking = L->l.neuron == ESNN_NEURON_IF;
    L->conv = L->l.op == ESNN_OP_CONV2D || (L->l.op == ESNN_OP_COUPLE && L->out.rank == 3u);
    L->half = L->src_half = 0;
    if (L->l.op == ESNN_OP_COUPLE) {
        const uint32_t hb = L->out.numel / 2u;
        L->half = (L->l.flags & ESNN_LF_TARGET_HI) ? hb : 0u;
        L->src_half = hb - L->half;
        half_of(&L->out, L->src_half, &L->src);
        half_of(&L->out, L->half, &L->dst);
    } else {
        L->src = L->in;
        L->dst = L->out;
    }
    L->chans = esnn_layer_channels(&L->dst);
    L->plane = L->chans ? L->dst.numel / L->chans : 0u;
}

/* The total currents a of the layer's dst elements into cur, by the inference kernels
 * themselves (neuron NONE: they store a as is), so training sees exactly the inference
 * arithmetic. */
void esnn_tr_run(const esnn_trainer *tr, esnn_run *r)
{
    memset(r, 0, sizeof *r);
    r->blob = tr->blob;
    r->blob_len = tr->blob_len;
    r->arena = tr->arena;
    r->T = tr->T;
    r->scale = 1u;
}

void esnn_tr_currents(const esnn_trainer *tr, const esnn_tr_layer *L, int32_t *cur)
{
    esnn_run r;
    esnn_ldesc l = L->l;
    esnn_tdesc o = L->dst;
    esnn_tr_run(tr, &r);
    l.neuron = ESNN_NEURON_NONE;
    l.op = L->conv ? ESNN_OP_CONV2D : ESNN_OP_DENSE;
    l.flags = 0;
    o.dtype = ESNN_DTYPE_I32;
    o.arena_offset = (uint32_t)((uint8_t *)cur - tr->arena);
    if (L->conv)
        esnn_conv2d(&r, &l, &L->src, &o, L->analog);
    else
        esnn_dense(&r, &l, &L->src, &o, L->analog);
}

/* logits = readout current * this: cfg.logit_scale, or 1 / (64 T) when it is 0 */
float esnn_tr_logit_scale(const esnn_trainer *tr)
{
    return esnn_fgt(tr->cfg.logit_scale, 0.0f) ? tr->cfg.logit_scale : 1.0f / (64.0f * (float)tr->T);
}

uint8_t esnn_tr_shift(const esnn_trainer *tr, const esnn_tr_layer *L, uint32_t e)
{
    return tr->blob[L->l.off[ESNN_SEC_S] + e / L->plane];
}

void esnn_tr_params_get(const esnn_trainer *tr, uint32_t i, const esnn_ldesc *l,
                        uint32_t nlayers, esnn_tr_params *p)
{
    float *f;
    memset(p, 0, sizeof *p);
    if (tr->p_off[i] == ESNN_TR_NONE)
        return;
    p->nw = esnn_tr_trains_w(&tr->cfg, i, l, nlayers) ? l->len[ESNN_SEC_W] : 0u;
    p->nb = esnn_tr_trains_b(&tr->cfg, i, l, nlayers) ? l->len[ESNN_SEC_B] / 4u : 0u;
    f = esnn_tr_f32(tr, tr->p_off[i]);
    p->mw = p->nw ? f : NULL;
    p->mb = p->nb ? f + p->nw : NULL;
    f += p->nw + p->nb;
    p->gw = p->nw ? f : NULL;
    p->gb = p->nb ? f + p->nw : NULL;
    if (esnn_fgt(tr->cfg.momentum, 0.0f)) {
        f += p->nw + p->nb;
        p->vw = p->nw ? f : NULL;
        p->vb = p->nb ? f + p->nw : NULL;
    }
}
