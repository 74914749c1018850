/* esnn_validate.c - whole-blob validation: header, tensors, layers, graph and
 * overflow passes in that order, then the esnn_info summary. Each pass may assume
 * the previous ones succeeded (e.g. the graph pass trusts tensor indices). */
#include "esnn_internal.h"

/* The esnn_info summary. MACs of one one-step inference: weights x output positions
 * (for COUPLE, the positions of one half: its weights drive the target half). */
static void fill_info(const uint8_t *blob, const esnn_hdr *h, esnn_info *info)
{
    esnn_tdesc t;
    esnn_ldesc l;
    uint32_t i;
    memset(info, 0, sizeof *info);  /* persistent_bytes: inference keeps no state */
    info->version_major = h->version_major;
    info->version_minor = h->version_minor;
    info->num_layers = h->num_layers;
    info->num_tensors = h->num_tensors;
    info->default_steps = h->default_steps;
    info->total_length = h->total_length;
    info->scratch_bytes = h->scratch_bytes;
    info->flags = (uint8_t)h->flags;
    /* one-step needs IF-only neurons and one static input frame (esnn_plan.c) */
    info->onestep_ok = (uint8_t)!(h->flags & ESNN_HDR_SEQUENCE);
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        if (l.neuron == ESNN_NEURON_LIF || l.neuron == ESNN_NEURON_LI)
            info->onestep_ok = 0;
        if (l.op != ESNN_OP_SUMPOOL2D && l.op != ESNN_OP_ADD) {
            esnn_read_tensor(blob, h, l.out, &t);
            info->macs += (uint64_t)l.len[ESNN_SEC_W] * ((uint32_t)t.dims[1] * t.dims[2]);
        }
    }
    esnn_read_tensor(blob, h, h->input_tensor, &t);
    info->input_numel = t.numel;
    info->input_rank = t.rank;
    memcpy(info->input_dims, t.dims, sizeof t.dims);
    esnn_read_tensor(blob, h, h->output_tensor, &t);
    info->output_numel = t.numel;
    info->output_dtype = t.dtype;
    info->output_rank = t.rank;
    memcpy(info->output_dims, t.dims, sizeof t.dims);
}

static esnn_status validate_layers(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    esnn_ldesc l;
    uint32_t i;
    esnn_status s = ESNN_OK;
    for (i = 0; i < h->num_layers && s == ESNN_OK; i++) {
        esnn_read_layer(blob, h, i, &l);
        s = esnn_validate_layer(blob, h, i, &l, d);
    }
    return s;
}

esnn_status esnn_validate_blob(const uint8_t *blob, uint32_t len, esnn_hdr *h, esnn_info *info,
                               esnn_diag *d)
{
    esnn_status s;
    if (!blob)
        return esnn_fail(d, ESNN_ERR_NULL, -1, -1, 0, 0);
    s = esnn_validate_header(blob, len, h, d);
    if (s == ESNN_OK)
        s = esnn_validate_tensors(blob, h, d);
    if (s == ESNN_OK)
        s = validate_layers(blob, h, d);
    if (s == ESNN_OK)
        s = esnn_validate_graph(blob, h, d);
    if (s == ESNN_OK)
        s = esnn_validate_overflow(blob, h, d);
    if (s != ESNN_OK)
        return s;
    if (info)
        fill_info(blob, h, info);
    return esnn_ok(d);
}

esnn_status esnn_validate(const uint8_t *blob, uint32_t len, esnn_info *info, esnn_diag *diag)
{
    esnn_hdr h;
    return esnn_validate_blob(blob, len, &h, info, diag);
}
