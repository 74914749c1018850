/* esnn_device_cmd_infer.c - INFER: run the active model, read in place from flash. */
#include "esnn_device_internal.h"

#define ESNN_INFER_HDR 12u  /* dtype, reserved, numel, argmax, ticks */

/* Arena bytes the call needed; cached per (mode, steps) because the query validates
 * the whole blob again. */
static uint32_t arena_used(esnn_device *d, uint8_t mode, uint32_t steps)
{
    uint32_t bytes = 0;
    if (!d->arena_q_valid || d->arena_q_mode != mode || d->arena_q_steps != steps) {
        if (esnn_arena_bytes(d->model.blob, d->model.blob_len, (esnn_mode)mode, steps, &bytes,
                             NULL) != ESNN_OK)
            return 0;
        d->arena_q_valid = 1;
        d->arena_q_mode = mode;
        d->arena_q_steps = steps;
        d->arena_q_bytes = bytes;
    }
    return d->arena_q_bytes;
}

int esnn_cmd_infer(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    esnn_diag diag;
    esnn_tensor out;
    esnn_status s;
    uint32_t t0, t1, argmax = 0, bytes, esize;
    uint8_t mode, steps;
    uint8_t *p = esnn_resp_payload(d);
    if (r->len < 4u)
        return ESNN_PS_BAD_LENGTH;
    if (esnn_ft_busy(d))  /* the trainer owns the arena (a stale session is ended) */
        return esnn_busy(d, out_len);
    if (d->active == ESNN_NO_SLOT || !d->model.ready)
        return ESNN_PS_NO_MODEL;
    mode = r->payload[0];
    steps = r->payload[1];
    if (mode > (uint8_t)ESNN_MODE_TSTEP || r->payload[2] || r->payload[3])
        return ESNN_PS_BAD_ARG;  /* the reserved u16 must be 0, as in FINETUNE_SAMPLE */
    memset(&diag, 0, sizeof diag);
    t0 = esnn_ticks(d);
    s = esnn_invoke(&d->model, r->payload + 4, r->len - 4u, (esnn_mode)mode, steps, &diag);
    t1 = esnn_ticks(d);
    if (s == ESNN_OK)
        s = esnn_output(&d->model, &out);
    if (s == ESNN_OK)
        s = esnn_output_argmax(&d->model, &argmax);
    if (s != ESNN_OK) {
        *out_len = esnn_put_diag(d, (int32_t)s, diag.expected, diag.actual);
        return ESNN_PS_RUNTIME_ERROR;
    }
    d->stats[ESNN_ST_INVOCATIONS]++;
    d->stats[ESNN_ST_LAST_TICKS] = t1 - t0;
    d->stats[ESNN_ST_ARENA_USED] = arena_used(d, mode, steps);
    esize = out.dtype == ESNN_DTYPE_I32 ? 4u : 1u;
    bytes = out.numel * esize;
    if (out.numel > ESNN_PROTO_MAX_PAYLOAD || bytes > ESNN_PROTO_MAX_PAYLOAD - ESNN_INFER_HDR) {
        *out_len = esnn_put_diag(d, (int32_t)ESNN_ERR_LIMITS,
                                 ESNN_PROTO_MAX_PAYLOAD - ESNN_INFER_HDR, bytes);
        return ESNN_PS_RUNTIME_ERROR;
    }
    p[0] = out.dtype;
    p[1] = 0;
    esnn_wr_u16(p + 2, out.numel);
    esnn_wr_u32(p + 4, argmax);
    esnn_wr_u32(p + 8, t1 - t0);
    if (esize == 1u) {
        memcpy(p + ESNN_INFER_HDR, out.data, bytes);
    } else {  /* I32 totals sit in the arena in host order; the wire is little-endian */
        esnn_dput_words(p + ESNN_INFER_HDR, out.data, out.numel);
    }
    *out_len = ESNN_INFER_HDR + bytes;
    return ESNN_PS_OK;
}
