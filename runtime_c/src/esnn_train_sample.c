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
    int32_t t = -1;
    uint32_t e = 0, a = 0;
    if (!tr || !input)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    s = usable(tr, diag);
    if (s != ESNN_OK)
        return s;
    esnn_read_header(tr->blob, &h);
    esnn_read_tensor(tr->blob, &h, h.input_tensor, &in);
    if (input_len != in.numel) {
        s = ESNN_ERR_INPUT_SIZE;
        t = h.input_tensor;
        e = in.numel;
        a = input_len;
    } else if (label >= tr->classes) {
        s = ESNN_ERR_LABEL;
        t = h.output_tensor;
        e = tr->classes - 1u;
        a = label;
    } else {
        esnn_tr_forward(tr, &h, input);
        esnn_tr_backward(tr, &h, label);
        tr->stats.samples++;
        tr->pending++;
        if (tr->pending >= tr->cfg.batch)
            return esnn_tr_update(tr, &h, diag);
        return esnn_ok(diag);
    }
    return esnn_fail(diag, s, -1, t, e, a);
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
