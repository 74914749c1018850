/* esnn_device_cmd_finetune.c - FINETUNE_BEGIN / SAMPLE / COMMIT / ABORT (docs/protocol.md
 * section 3): fine-tuning of the active model with the board's arena. The result goes to
 * the inactive slot with the upload's discipline: the slot header is invalidated first,
 * the image written and verified, and only then the header is written (the single
 * commit point), so a reset or a power cut at any moment leaves the old model active. */
#include "esnn_device_internal.h"
#include "esnn_train_internal.h"

#define FT_CONFIG_BYTES 24u  /* the fields of esnn_train_config, little-endian */
#define FT_SAMPLE_HDR 8u     /* u32 index, u16 label, u8 flags, u8 reserved */
#define FT_FLAG_FLUSH 0x01u  /* apply a partial mini-batch after this sample */
#define FT_FLAG_TOKEN 0x02u  /* the owner's u32 token follows the header */

typedef char esnn_float_is_32_bits[sizeof(float) == 4u ? 1 : -1];
/* COMMIT sends esnn_train_stats word by word: 11 u32 counters then 2 floats, no padding */
typedef char esnn_stats_are_13_words[sizeof(esnn_train_stats) == 52u ? 1 : -1];
/* BEGIN reads the 4 floats lr, momentum, slope, logit_scale as consecutive words */
typedef char esnn_config_floats_are_words[offsetof(esnn_train_config, logit_scale) ==
                                          offsetof(esnn_train_config, lr) + 12u ? 1 : -1];

#if ESNN_DEVICE_FINETUNE  /* without it esnn_device has no trainer (esnn_config.h) */

/* RUNTIME_ERROR payload of a training failure: i32 status, u32 expected, u32 actual
 * (esnn_diag's numbers, as for INFER), then i32 layer (-1: none). */
static int train_error(esnn_device *d, esnn_status s, const esnn_diag *diag, uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    *out_len = esnn_put_diag(d, (int32_t)s, diag->expected, diag->actual);
    esnn_wr_u32(p + 12, (uint32_t)diag->layer);
    *out_len += 4u;
    return ESNN_PS_RUNTIME_ERROR;
}

/* A session whose trainer failed (diverged): every later SAMPLE/COMMIT repeats it. */
static int failed(esnn_device *d, uint32_t *out_len)
{
    esnn_diag diag;
    memset(&diag, 0, sizeof diag);
    diag.layer = -1;
    return train_error(d, (esnn_status)d->ft_error, &diag, out_len);
}

/* Only the session's owner goes on (docs/protocol.md section 6): NO_SESSION without a
 * session, NOT_OWNER (with BUSY's payload) for another token. The owner's request
 * restarts the idle clock. */
static int owner(esnn_device *d, uint32_t token, uint32_t *out_len)
{
    if (!d->ft_open)
        return ESNN_PS_NO_SESSION;
    if (token != d->ft_token) {
        (void)esnn_busy(d, out_len);
        return ESNN_PS_NOT_OWNER;
    }
    d->ft_last_ms = esnn_now_ms(d);
    return ESNN_PS_OK;
}

/* The token of a COMMIT or ABORT: none (0, a version-1 host) or a u32. */
static int token_of(const esnn_req *r, uint32_t *token)
{
    *token = r->len == 4u ? esnn_rd_u32(r->payload) : 0u;
    return r->len == 0u || r->len == 4u;
}

int esnn_cmd_ft_begin(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    const uint8_t *q = r->payload;
    uint8_t *p = esnn_resp_payload(d);
    esnn_train_config cfg;
    esnn_train_stats need;
    esnn_diag diag;
    esnn_hdr h;
    uint64_t pb, sb;
    esnn_status s;
    uint32_t token;
    if (r->len != FT_CONFIG_BYTES && r->len != FT_CONFIG_BYTES + 4u)
        return ESNN_PS_BAD_LENGTH;
    token = r->len > FT_CONFIG_BYTES ? esnn_rd_u32(q + FT_CONFIG_BYTES) : 0u;
    if (d->session_open)
        return esnn_busy(d, out_len);
    if (d->active == ESNN_NO_SLOT || !d->model.ready)
        return ESNN_PS_NO_MODEL;
    /* another owner's session that is not stale stays; the owner's own starts afresh */
    if (token != d->ft_token && esnn_ft_busy(d))
        return esnn_busy(d, out_len);
    esnn_ft_close(d);
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = q[0];
    cfg.trainable = q[1];
    cfg.surrogate = q[2];
    cfg.verify = q[3];
    cfg.steps = (uint16_t)esnn_rd_u16(q + 4);
    cfg.batch = (uint16_t)esnn_rd_u16(q + 6);
    esnn_dget_words(&cfg.lr, q + 8, 4u);  /* lr, momentum, slope, logit_scale */
    /* what esnn_train_arena_bytes does, without its argument checks (all set here); the
     * layout goes to the (closed) trainer, which esnn_train_init starts afresh */
    s = esnn_tr_check(d->model.blob, d->model.blob_len, &cfg, &h, &diag);
    if (s == ESNN_OK)
        s = esnn_tr_layout(&d->trainer, d->model.blob, &h, &cfg, &pb, &sb, &diag);
    if (s != ESNN_OK)
        return train_error(d, s, &diag, out_len);
    need.arena_bytes = (uint32_t)(pb + sb);
    need.persistent_bytes = (uint32_t)pb;
    need.scratch_bytes = (uint32_t)sb;
    esnn_dput_words(p, &need, 3u);  /* arena_bytes, persistent_bytes, scratch_bytes */
    esnn_wr_u32(p + 12, d->board.arena_bytes);
    if (need.arena_bytes > d->board.arena_bytes) {
        *out_len = 16u;
        return ESNN_PS_ARENA_TOO_SMALL;
    }
    s = esnn_train_init(&d->trainer, d->model.blob, d->model.blob_len, &cfg, d->board.arena,
                        d->board.arena_bytes, &diag);
    if (s != ESNN_OK) {
        esnn_ft_close(d);
        return train_error(d, s, &diag, out_len);
    }
    d->ft_open = 1;
    d->ft_base = d->active;
    d->ft_token = token;
    d->ft_last_ms = esnn_now_ms(d);
    esnn_wr_u16(p + 16, d->trainer.T);
    esnn_wr_u16(p + 18, d->trainer.classes);
    *out_len = 20u;  /* unchanged from version 1: HELLO states the idle limit */
    return ESNN_PS_OK;
}

/* SAMPLE's answer: the session's counters after the request. */
static int sample_answer(esnn_device *d, uint32_t ticks, uint32_t *out_len)
{
    const esnn_train_stats *st = &d->trainer.stats;
    uint32_t v[7];
    v[0] = st->samples;
    v[1] = st->correct;
    v[2] = st->updates;
    v[3] = st->saturated;
    memcpy(v + 4, &st->loss_sum, 4);
    memcpy(v + 5, &st->last_loss, 4);
    v[6] = ticks;
    esnn_dput_words(esnn_resp_payload(d), v, 7u);
    *out_len = 28u;
    return ESNN_PS_OK;
}

int esnn_cmd_ft_sample(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    esnn_diag diag;
    esnn_status s;
    uint32_t index, label, t0, t1, hdr;
    uint8_t flags;
    int ps;
    if (r->len < FT_SAMPLE_HDR)
        return ESNN_PS_BAD_LENGTH;
    if (!d->ft_open)
        return ESNN_PS_NO_SESSION;
    index = esnn_rd_u32(r->payload);
    label = esnn_rd_u16(r->payload + 4);
    flags = r->payload[6];
    if ((flags & (uint8_t)~(FT_FLAG_FLUSH | FT_FLAG_TOKEN)) != 0u || r->payload[7] != 0u)
        return ESNN_PS_BAD_ARG;
    hdr = (flags & FT_FLAG_TOKEN) ? FT_SAMPLE_HDR + 4u : FT_SAMPLE_HDR;
    if (r->len < hdr)
        return ESNN_PS_BAD_LENGTH;
    ps = owner(d, hdr > FT_SAMPLE_HDR ? esnn_rd_u32(r->payload + FT_SAMPLE_HDR) : 0u, out_len);
    if (ps != ESNN_PS_OK)
        return ps;
    if (d->ft_error)
        return failed(d, out_len);
    if (index < d->trainer.stats.samples)  /* trained already: a late duplicate */
        return sample_answer(d, 0u, out_len);
    if (index > d->trainer.stats.samples) {  /* a gap: the host resumes from here */
        esnn_wr_u32(esnn_resp_payload(d), d->trainer.stats.samples);
        *out_len = 4u;
        return ESNN_PS_BAD_ARG;
    }
    memset(&diag, 0, sizeof diag);
    t0 = esnn_ticks(d);
    s = esnn_train_sample(&d->trainer, r->payload + hdr, r->len - hdr, label, &diag);
    if (s == ESNN_OK && (flags & FT_FLAG_FLUSH))
        s = esnn_train_flush(&d->trainer, &diag);
    t1 = esnn_ticks(d);
    if (d->trainer.stats.samples != index)
        d->stats[ESNN_ST_FT_SAMPLES]++;
    if (s != ESNN_OK) {
        if (d->trainer.failed || !d->trainer.ready)
            d->ft_error = (int16_t)s;  /* nothing but ABORT or a new BEGIN helps now */
        return train_error(d, s, &diag, out_len);
    }
    return sample_answer(d, t1 - t0, out_len);
}

int esnn_cmd_ft_commit(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    esnn_train_stats st;
    esnn_diag diag;
    esnn_status s;
    const uint8_t *img;
    uint32_t len, crc, slot, at, token;
    int ps;
    uint8_t *p = esnn_resp_payload(d);
    if (!token_of(r, &token))
        return ESNN_PS_BAD_LENGTH;
    ps = owner(d, token, out_len);
    if (ps != ESNN_PS_OK)
        return ps;
    if (d->ft_error)
        return failed(d, out_len);
    memset(&diag, 0, sizeof diag);
    s = esnn_train_flush(&d->trainer, &diag);
    if (s == ESNN_OK)
        s = esnn_train_result(&d->trainer, &img, &len, &diag);
    if (s != ESNN_OK) {
        if (d->trainer.failed)
            d->ft_error = (int16_t)s;
        return train_error(d, s, &diag, out_len);
    }
    if (esnn_train_get_stats(&d->trainer, &st) != ESNN_OK)
        memset(&st, 0, sizeof st);
    if (len > esnn_slot_bytes(d))
        return ESNN_PS_TOO_LARGE;
    crc = esnn_crc32(0, img, len);
    /* the active slot is the session's base (nothing else can commit while it is open) */
    slot = 1u - d->ft_base;
    at = esnn_slot_offset(d, slot) + ESNN_SLOT_HEADER_BYTES;
    if (esnn_slot_invalidate(d, slot) != 0 || esnn_flash_write(d, at, img, len) != 0)
        return ESNN_PS_FLASH_ERROR;  /* the session stays open: COMMIT may be retried */
    if (esnn_crc32(0, esnn_slot_image(d, slot), len) != crc) {
        (void)esnn_slot_invalidate(d, slot);
        return ESNN_PS_FLASH_ERROR;
    }
    /* the commit point (payload: slot, generation); the trainer (and a retry) survive
     * a refusal, which leaves no half-valid slot behind */
    ps = esnn_slot_commit(d, slot, len, crc, out_len);
    if (ps == ESNN_PS_INVALID_MODEL)
        (void)esnn_slot_invalidate(d, slot);
    if (ps != ESNN_PS_OK)
        return ps;
    d->stats[ESNN_ST_FT_COMMITTED]++;
    esnn_ft_close(d);
    esnn_wr_u32(p + 8, len);
    esnn_wr_u32(p + 12, crc);
    /* the stats in their struct order: 11 counters, loss_sum, last_loss */
    esnn_dput_words(p + 16, &st, 13u);
    *out_len = 68u;
    return ESNN_PS_OK;
}

/* ABORT without a token ends any session (`edgesnn finetune --abort`: the way to end
 * one a vanished host left); with a token only the session of that owner. */
int esnn_cmd_ft_abort(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    uint32_t token;
    *out_len = 0;
    if (!token_of(r, &token))
        return ESNN_PS_BAD_LENGTH;
    if (r->len && d->ft_open && token != d->ft_token) {
        (void)esnn_busy(d, out_len);
        return ESNN_PS_NOT_OWNER;
    }
    esnn_ft_close(d);  /* nothing was written: the flash is as before BEGIN */
    return ESNN_PS_OK;
}

#endif /* ESNN_DEVICE_FINETUNE */
