/* esnn_run_layer.c - the layer dispatch: decode layer i and its tensors, run its
 * kernel (esnn_invoke.c and esnn_run_causal.c call it once per layer and step). */
#include "esnn_internal.h"

void esnn_run_layer(const esnn_run *r, const esnn_hdr *h, uint32_t i)
{
    esnn_ldesc l;
    esnn_tdesc in0, in1, out;
    esnn_read_layer(r->blob, h, i, &l);
    esnn_read_tensor(r->blob, h, l.in0, &in0);
    esnn_read_tensor(r->blob, h, l.out, &out);
    switch (l.op) {
    case ESNN_OP_DENSE:
        esnn_dense(r, &l, &in0, &out, l.in0 == h->input_tensor);
        break;
    case ESNN_OP_CONV2D:
        esnn_conv2d(r, &l, &in0, &out, l.in0 == h->input_tensor);
        break;
    case ESNN_OP_SUMPOOL2D:
        esnn_sumpool2d(r, &l, &in0, &out);
        break;
    case ESNN_OP_COUPLE:
        esnn_couple(r, &l, &in0, &out);
        break;
    default: /* ESNN_OP_ADD; validation admits no other op */
        esnn_read_tensor(r->blob, h, l.in1, &in1);
        esnn_add(r, &l, &in0, &in1, &out);
        break;
    }
}
