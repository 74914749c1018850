/* esnn_train_stats.c - counters, measured high-water marks, gradient access. */
#include "esnn_train_internal.h"

/* Bytes from `from` to the last byte in [from, to) that no longer holds the paint. */
static uint32_t high_water(const uint8_t *arena, uint32_t from, uint32_t to)
{
    uint32_t e = to;
    while (e > from && arena[e - 1u] == ESNN_TR_CANARY)
        e--;
    return e - from;
}

esnn_status esnn_train_get_stats(const esnn_trainer *tr, esnn_train_stats *st)
{
    if (!tr || !st)
        return ESNN_ERR_NULL;
    if (!tr->ready)
        return ESNN_ERR_STATE;
    *st = tr->stats;
    st->persistent_peak = high_water(tr->arena, 0u, tr->scratch_off);
    st->scratch_peak = high_water(tr->arena, tr->scratch_off, tr->stats.arena_bytes);
    return ESNN_OK;
}

esnn_status esnn_train_grad(const esnn_trainer *tr, uint32_t layer, const float **gw, uint32_t *nw,
                            const float **gb, uint32_t *nb)
{
    esnn_hdr h;
    esnn_ldesc l;
    esnn_tr_params p;
    if (!tr || !gw || !nw || !gb || !nb)
        return ESNN_ERR_NULL;
    if (!tr->ready)
        return ESNN_ERR_STATE;
    esnn_read_header(tr->blob, &h);
    if (layer >= h.num_layers)
        return ESNN_ERR_GRAPH;
    esnn_read_layer(tr->blob, &h, layer, &l);
    esnn_tr_params_get(tr, layer, &l, h.num_layers, &p);
    *gw = p.gw;
    *nw = p.nw;
    *gb = p.gb;
    *nb = p.nb;
    return ESNN_OK;
}
