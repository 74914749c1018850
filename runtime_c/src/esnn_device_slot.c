/* esnn_device_slot.c - the two-slot flash layout (docs/protocol.md section 5): slot
 * headers, the full validity check, the commit-point write and slot selection. */
#include "esnn_device_internal.h"

/* "ESLT" as a little-endian u32 (compared and written without memcmp/memcpy) */
#define SLOT_MAGIC_U32 0x544C5345u

uint32_t esnn_slot_offset(const esnn_device *d, uint32_t slot)
{
    return slot * (d->board.flash_bytes / 2u);
}

uint32_t esnn_slot_bytes(const esnn_device *d)
{
    return d->board.flash_bytes / 2u - ESNN_SLOT_HEADER_BYTES;
}

const uint8_t *esnn_slot_image(const esnn_device *d, uint32_t slot)
{
    return d->board.flash + esnn_slot_offset(d, slot) + ESNN_SLOT_HEADER_BYTES;
}

int esnn_flash_write(esnn_device *d, uint32_t offset, const uint8_t *data, uint32_t len)
{
    if (offset > d->board.flash_bytes || len > d->board.flash_bytes - offset)
        return -1;
    if (len == 0u)
        return 0;
    if (d->board.flash_write)
        return d->board.flash_write(d->board.flash_ctx, offset, data, len) ? -1 : 0;
    /* data is never inside the flash array (the receive buffer, a header on the stack,
     * a constant or the trainer's arena), so a plain copy is enough */
    memcpy(d->board.flash + offset, data, len);
    return 0;
}

void esnn_slot_read(const esnn_device *d, uint32_t slot, esnn_slot_hdr *h)
{
    const uint8_t *p = d->board.flash + esnn_slot_offset(d, slot);
    h->generation = esnn_dget32(p + 4);
    h->length = esnn_dget32(p + 8);
    h->crc32 = esnn_dget32(p + 12);
    h->intact = (uint8_t)(esnn_dget32(p) == SLOT_MAGIC_U32 &&
                          esnn_crc32(0, p, 28) == esnn_dget32(p + 28));
}

esnn_status esnn_slot_check(esnn_device *d, uint32_t slot, esnn_model *m, esnn_diag *diag)
{
    esnn_slot_hdr h;
    esnn_model tmp;
    const uint8_t *img = esnn_slot_image(d, slot);
    esnn_slot_read(d, slot, &h);
    if (!h.intact || h.generation == 0u)
        return ESNN_ERR_MAGIC;
    if (h.length == 0u || h.length > esnn_slot_bytes(d))
        return ESNN_ERR_TRUNCATED;
    if (esnn_crc32(0, img, h.length) != h.crc32)
        return ESNN_ERR_CRC;
    return esnn_init(m ? m : &tmp, img, h.length, d->board.arena, d->board.arena_bytes, diag);
}

int esnn_slot_write_header(esnn_device *d, uint32_t slot, uint32_t generation,
                           uint32_t length, uint32_t crc)
{
    uint8_t h[ESNN_SLOT_HEADER_BYTES];
    memset(h, 0, sizeof h);
    esnn_dput32(h, SLOT_MAGIC_U32);
    esnn_dput32(h + 4, generation);
    esnn_dput32(h + 8, length);
    esnn_dput32(h + 12, crc);
    esnn_dput32(h + 28, esnn_crc32(0, h, 28));
    return esnn_flash_write(d, esnn_slot_offset(d, slot), h, sizeof h);
}

/* The commit point of an image written and verified (CRC) in `slot`, shared by
 * UPLOAD_COMMIT and FINETUNE_COMMIT: esnn_init must accept it (else INVALID_MODEL, with
 * its diag as the payload), then the header with the next generation is written and the
 * slot checked exactly as a boot would (else the slot is invalidated: FLASH_ERROR). On
 * success the model is the active one and the payload starts with u8 slot, 3 zero
 * bytes, u32 generation. esnn_init only reads the arena, so a fine-tuning session
 * survives a refusal. */
int esnn_slot_commit(esnn_device *d, uint32_t slot, uint32_t len, uint32_t crc,
                     uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    esnn_diag diag;
    esnn_model m;
    uint32_t gen;
    esnn_status s = esnn_init(&m, esnn_slot_image(d, slot), len, d->board.arena,
                              d->board.arena_bytes, &diag);
    if (s != ESNN_OK) {
        *out_len = esnn_put_diag(d, (int32_t)s, diag.expected, diag.actual);
        return ESNN_PS_INVALID_MODEL;
    }
    gen = esnn_slot_max_generation(d) + 1u;
    if (esnn_slot_write_header(d, slot, gen, len, crc) != 0 ||
        esnn_slot_check(d, slot, &m, NULL) != ESNN_OK) {
        (void)esnn_slot_invalidate(d, slot);
        return ESNN_PS_FLASH_ERROR;
    }
    d->model = m;
    d->active = (uint8_t)slot;
    d->slot_ok[slot] = 1;
    d->arena_q_valid = 0;
    memset(p, 0, 8);
    p[0] = (uint8_t)slot;
    esnn_dput32(p + 4, gen);
    *out_len = 8u;
    return ESNN_PS_OK;
}

int esnn_slot_invalidate(esnn_device *d, uint32_t slot)
{
    static const uint8_t zero[ESNN_SLOT_HEADER_BYTES] = {0};
    esnn_slot_hdr h;
    d->slot_ok[slot] = 0;
    esnn_slot_read(d, slot, &h);
    if (!h.intact && d->board.flash[esnn_slot_offset(d, slot)] == 0u)
        return 0;  /* already invalid: spare the flash a write */
    return esnn_flash_write(d, esnn_slot_offset(d, slot), zero, sizeof zero);
}

uint32_t esnn_slot_max_generation(const esnn_device *d)
{
    uint32_t s, g = 0;
    esnn_slot_hdr h;
    for (s = 0; s < 2u; s++) {
        esnn_slot_read(d, s, &h);
        if (h.intact && h.generation > g)
            g = h.generation;
    }
    return g;
}

void esnn_slot_select(esnn_device *d)
{
    uint32_t s, best = ESNN_NO_SLOT, best_gen = 0;
    esnn_slot_hdr h;
    for (s = 0; s < 2u; s++) {
        d->slot_ok[s] = (uint8_t)(esnn_slot_check(d, s, NULL, NULL) == ESNN_OK);
        if (!d->slot_ok[s])
            continue;
        esnn_slot_read(d, s, &h);
        if (best == ESNN_NO_SLOT || h.generation > best_gen) {
            best = s;
            best_gen = h.generation;
        }
    }
    memset(&d->model, 0, sizeof d->model);
    d->active = ESNN_NO_SLOT;
    d->arena_q_valid = 0;
    if (best != ESNN_NO_SLOT && esnn_slot_check(d, best, &d->model, NULL) == ESNN_OK)
        d->active = (uint8_t)best;
}
