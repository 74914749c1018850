/* esnn_train_sample.c - one labelled sample, and the update of a partial batch. */
#include "esnn_train_internal.h"

static esnn_status usable(const esnn_trainer *tr, esnn_diag *d)
{
    if (!tr->ready || tr->failed)
        return esnn_fail(d, ESNN_ERR_STATE, -1, -1, 1, 0);
    return ESNN_OK;
}

esnn_status esnn_train_sample(esnn_trainer *tr, const uint8_t *input, uint32_t input_len,
                              uint32_t label, esnn_diag *diag)
{
    esnn_hdr h;
    esnn_tdesc in;
    esnn_status s;
    if (!tr || !input)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    s = usable(tr, diag);
    if (s != ESNN_OK)
        return s;
    esnn_read_header(tr->blob, &h);
    esnn_read_tensor(tr->blob, &h, h.input_tensor, &in);
    if (input_len != in.numel)
        return esnn_fail(diag, ESNN_ERR_INPUT_SIZE, -1, h.input_tensor, in.numel, input_len);
    if (label >= tr->classes)
        return esnn_fail(diag, ESNN_ERR_LABEL, -1, h.output_tensor, tr->classes - 1u, label);
    esnn_tr_forward(tr, &h, input);
    esnn_tr_backward(tr, &h, label);
    tr->stats.samples++;
    tr->pending++;
    if (tr->pending >= tr->cfg.batch)
        return esnn_tr_update(tr, &h, diag);
    return esnn_ok(diag);
}

esnn_status esnn_train_flush(esnn_trainer *tr, esnn_diag *diag)
{
    esnn_hdr h;
    esnn_status s;
    if (!tr)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    s = usable(tr, diag);
    if (s != ESNN_OK)
        return s;
    esnn_read_header(tr->blob, &h);
    s = esnn_tr_update(tr, &h, diag);
    return s != ESNN_OK ? s : esnn_ok(diag);
}
