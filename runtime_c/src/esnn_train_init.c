/* esnn_train_init.c - bind a blob, a configuration and an arena to a trainer. */
#include "esnn_train_internal.h"

static void init_masters(esnn_trainer *tr, const esnn_hdr *h)
{
    esnn_ldesc l;
    esnn_tr_params p;
    uint32_t i, j;
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(tr->blob, h, i, &l);
        esnn_tr_params_get(tr, i, &l, h->num_layers, &p);
        for (j = 0; j < p.nw; j++)
            p.mw[j] = (float)(int8_t)tr->blob[l.off[ESNN_SEC_W] + j];
        for (j = 0; j < p.nb; j++)
            p.mb[j] = (float)esnn_rd_i32(tr->blob + l.off[ESNN_SEC_B] + 4u * j);
        if (p.nw + p.nb) {  /* gradients and momenta start at zero */
            memset(p.gw ? (void *)p.gw : (void *)p.gb, 0, 4u * (p.nw + p.nb));
            if (p.vw || p.vb)
                memset(p.vw ? (void *)p.vw : (void *)p.vb, 0, 4u * (p.nw + p.nb));
        }
    }
}

esnn_status esnn_train_init(esnn_trainer *tr, const uint8_t *blob, uint32_t len,
                            const esnn_train_config *cfg, uint8_t *arena, uint32_t arena_len,
                            esnn_diag *diag)
{
    esnn_hdr h;
    uint64_t p, s;
    esnn_status st;
    if (!tr)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    memset(tr, 0, sizeof *tr);  /* a failed init leaves a trainer that refuses to run */
    if (!blob || !cfg || !arena)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    st = esnn_tr_check(blob, len, cfg, &h, diag);
    if (st != ESNN_OK)
        return st;
    if ((uintptr_t)arena % ESNN_ARENA_ALIGN)
        return esnn_fail(diag, ESNN_ERR_ALIGN, -1, -1, ESNN_ARENA_ALIGN,
                         (uint32_t)((uintptr_t)arena % ESNN_ARENA_ALIGN));
    tr->cfg = *cfg;
    if (!tr->cfg.batch)
        tr->cfg.batch = 1;
    st = esnn_tr_layout(tr, blob, &h, &tr->cfg, &p, &s, diag);
    if (st != ESNN_OK)
        return st;
    if (p + s > arena_len)
        return esnn_fail(diag, ESNN_ERR_ARENA_TOO_SMALL, -1, -1, (uint32_t)(p + s), arena_len);
    tr->arena = arena;
    tr->arena_len = arena_len;
    tr->stats.persistent_bytes = (uint32_t)p;
    tr->stats.scratch_bytes = (uint32_t)s;
    tr->stats.arena_bytes = (uint32_t)(p + s);
    /* paint the whole need, so the high-water marks are measured, not assumed */
    memset(arena, ESNN_TR_CANARY, (size_t)(p + s));
    memcpy(arena, blob, h.total_length);
    tr->blob = arena;
    tr->blob_len = h.total_length;
    init_masters(tr, &h);
    tr->ready = 1;
    return esnn_ok(diag);
}
