/* esnn_device_cmd_finetune.c - FINETUNE_BEGIN / SAMPLE / COMMIT / ABORT (docs/protocol.md
 * section 3): fine-tuning of the active model with the board's arena. The result goes to
 * the inactive slot with the upload's discipline: the slot header is invalidated first,
 * the image written and verified, and only then the header is written (the single
 * commit point), so a reset or a power cut at any moment leaves the old model active. */
#include "esnn_device_internal.h"

#define FT_CONFIG_BYTES 24u  /* the fields of esnn_train_config, little-endian */
#define FT_SAMPLE_HDR 8u     /* u32 index, u16 label, u8 flags, u8 reserved */
#define FT_FLAG_FLUSH 0x01u  /* apply a partial mini-batch after this sample */

typedef char esnn_float_is_32_bits[sizeof(float) == 4u ? 1 : -1];

static float get_f32(const uint8_t *p)
{
    const uint32_t u = esnn_dget32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    esnn_dput32(p, u);
}

static uint32_t ticks_now(const esnn_device *d)
{
    return d->board.ticks ? d->board.ticks(d->board.ticks_ctx) : 0u;
}

/* RUNTIME_ERROR payload of a training failure: i32 status, u32 expected, u32 actual
 * (esnn_diag's numbers, as for INFER), then i32 layer (-1: none). */
static int train_error(esnn_device *d, esnn_status s, const esnn_diag *diag, uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    *out_len = esnn_put_diag(d, (int32_t)s, diag->expected, diag->actual);
    esnn_dput32(p + 12, (uint32_t)diag->layer);
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

void esnn_ft_close(esnn_device *d)
{
    d->ft_open = 0;
    d->ft_base = ESNN_NO_SLOT;
    d->ft_error = 0;
    memset(&d->trainer, 0, sizeof d->trainer);
}

int esnn_cmd_ft_begin(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    const uint8_t *q = r->payload;
    uint8_t *p = esnn_resp_payload(d);
    esnn_train_config cfg;
    esnn_train_stats need;
    esnn_diag diag;
    esnn_status s;
    if (r->len != FT_CONFIG_BYTES)
        return ESNN_PS_BAD_LENGTH;
    if (d->session_open)
        return esnn_busy(d, out_len);
    if (d->active == ESNN_NO_SLOT || !d->model.ready)
        return ESNN_PS_NO_MODEL;
    esnn_ft_close(d);  /* a BEGIN always starts afresh */
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = q[0];
    cfg.trainable = q[1];
    cfg.surrogate = q[2];
    cfg.verify = q[3];
    cfg.steps = (uint16_t)esnn_dget16(q + 4);
    cfg.batch = (uint16_t)esnn_dget16(q + 6);
    cfg.lr = get_f32(q + 8);
    cfg.momentum = get_f32(q + 12);
    cfg.slope = get_f32(q + 16);
    cfg.logit_scale = get_f32(q + 20);
    memset(&need, 0, sizeof need);
    memset(&diag, 0, sizeof diag);
    s = esnn_train_arena_bytes(d->model.blob, d->model.blob_len, &cfg, &need, &diag);
    if (s != ESNN_OK)
        return train_error(d, s, &diag, out_len);
    esnn_dput32(p, need.arena_bytes);
    esnn_dput32(p + 4, need.persistent_bytes);
    esnn_dput32(p + 8, need.scratch_bytes);
    esnn_dput32(p + 12, d->board.arena_bytes);
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
    esnn_dput16(p + 16, d->trainer.T);
    esnn_dput16(p + 18, d->trainer.classes);
    *out_len = 20u;
    return ESNN_PS_OK;
}

/* SAMPLE's answer: the session's counters after the request. */
static int sample_answer(esnn_device *d, uint32_t ticks, uint32_t *out_len)
{
    const esnn_train_stats *st = &d->trainer.stats;
    uint8_t *p = esnn_resp_payload(d);
    esnn_dput32(p, st->samples);
    esnn_dput32(p + 4, st->correct);
    esnn_dput32(p + 8, st->updates);
    esnn_dput32(p + 12, st->saturated);
    put_f32(p + 16, st->loss_sum);
    put_f32(p + 20, st->last_loss);
    esnn_dput32(p + 24, ticks);
    *out_len = 28u;
    return ESNN_PS_OK;
}

int esnn_cmd_ft_sample(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    esnn_diag diag;
    esnn_status s;
    uint32_t index, label, t0, t1;
    uint8_t flags;
    if (r->len < FT_SAMPLE_HDR)
        return ESNN_PS_BAD_LENGTH;
    if (!d->ft_open)
        return ESNN_PS_NO_SESSION;
    index = esnn_dget32(r->payload);
    label = esnn_dget16(r->payload + 4);
    flags = r->payload[6];
    if ((flags & (uint8_t)~FT_FLAG_FLUSH) != 0u || r->payload[7] != 0u)
        return ESNN_PS_BAD_ARG;
    if (d->ft_error)
        return failed(d, out_len);
    if (index < d->trainer.stats.samples)  /* trained already: a late duplicate */
        return sample_answer(d, 0u, out_len);
    if (index > d->trainer.stats.samples) {  /* a gap: the host resumes from here */
        esnn_dput32(esnn_resp_payload(d), d->trainer.stats.samples);
        *out_len = 4u;
        return ESNN_PS_BAD_ARG;
    }
    memset(&diag, 0, sizeof diag);
    t0 = ticks_now(d);
    s = esnn_train_sample(&d->trainer, r->payload + FT_SAMPLE_HDR, r->len - FT_SAMPLE_HDR, label,
                          &diag);
    if (s == ESNN_OK && (flags & FT_FLAG_FLUSH))
        s = esnn_train_flush(&d->trainer, &diag);
    t1 = ticks_now(d);
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
    esnn_model m;
    esnn_status s;
    const uint8_t *img;
    uint32_t len, crc, slot, gen, at, i;
    uint8_t *p = esnn_resp_payload(d);
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    if (!d->ft_open)
        return ESNN_PS_NO_SESSION;
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
    /* esnn_init only reads the arena: the trainer (and a retry) survive a refusal */
    s = esnn_init(&m, esnn_slot_image(d, slot), len, d->board.arena, d->board.arena_bytes, &diag);
    if (s != ESNN_OK) {
        (void)esnn_slot_invalidate(d, slot);
        *out_len = esnn_put_diag(d, (int32_t)s, diag.expected, diag.actual);
        return ESNN_PS_INVALID_MODEL;
    }
    gen = esnn_slot_max_generation(d) + 1u;
    /* the commit point; then check the slot exactly as a boot would */
    if (esnn_slot_write_header(d, slot, gen, len, crc) != 0 ||
        esnn_slot_check(d, slot, &m, NULL) != ESNN_OK) {
        (void)esnn_slot_invalidate(d, slot);
        return ESNN_PS_FLASH_ERROR;
    }
    d->model = m;
    d->active = (uint8_t)slot;
    d->slot_ok[slot] = 1;
    d->arena_q_valid = 0;
    d->stats[ESNN_ST_FT_COMMITTED]++;
    esnn_ft_close(d);
    memset(p, 0, 16);
    p[0] = (uint8_t)slot;
    esnn_dput32(p + 4, gen);
    esnn_dput32(p + 8, len);
    esnn_dput32(p + 12, crc);
    {
        const uint32_t v[11] = {st.arena_bytes, st.persistent_bytes, st.scratch_bytes,
                                st.persistent_peak, st.scratch_peak, st.samples, st.updates,
                                st.correct, st.saturated, st.verify_checks,
                                st.verify_mismatches};
        for (i = 0; i < 11u; i++)
            esnn_dput32(p + 16u + 4u * i, v[i]);
    }
    put_f32(p + 60, st.loss_sum);
    put_f32(p + 64, st.last_loss);
    *out_len = 68u;
    return ESNN_PS_OK;
}

int esnn_cmd_ft_abort(esnn_device *d, const esnn_req *r, uint32_t *out_len)
{
    *out_len = 0;
    if (r->len != 0u)
        return ESNN_PS_BAD_LENGTH;
    esnn_ft_close(d);  /* nothing was written: the flash is as before BEGIN */
    return ESNN_PS_OK;
}
