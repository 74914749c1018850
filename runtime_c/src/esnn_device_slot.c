/* esnn_device_slot.c - the two-slot flash layout (docs/protocol.md section 5): slot
 * headers, the full validity check (its result kept per slot for HELLO), generations
 * in serial-number arithmetic, the commit-point write and slot selection. */
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
    h->generation = esnn_rd_u32(p + 4);
    h->length = esnn_rd_u32(p + 8);
    h->crc32 = esnn_rd_u32(p + 12);
    h->intact = (uint8_t)(esnn_rd_u32(p) == SLOT_MAGIC_U32 &&
                          esnn_crc32(0, p, 28) == esnn_rd_u32(p + 28));
}

/* A header that is not intact: all zero (never written, or invalidated by an upload or
 * a commit), all 0xFF (erased NOR) or anything else (corrupted). */
static uint8_t blank_state(const uint8_t *h)
{
    uint32_t i = 1;
    while (i < ESNN_SLOT_HEADER_BYTES && h[i] == h[0])
        i++;
    if (i < ESNN_SLOT_HEADER_BYTES || (h[0] != 0u && h[0] != 0xFFu))
        return ESNN_SLOT_BAD_HEADER;
    return h[0] ? ESNN_SLOT_ERASED : ESNN_SLOT_EMPTY;
}

esnn_status esnn_slot_check(esnn_device *d, uint32_t slot, esnn_model *m, esnn_diag *diag)
{
    esnn_slot_hdr h;
    esnn_model tmp;
    const uint8_t *img = esnn_slot_image(d, slot);
    uint8_t state = ESNN_SLOT_BAD_HEADER;
    esnn_status s = ESNN_ERR_MAGIC;
    esnn_slot_read(d, slot, &h);
    if (!h.intact) {
        state = blank_state(img - ESNN_SLOT_HEADER_BYTES);
    } else if (h.generation == 0u) {
        /* never written by a device: a bad header */
    } else if (h.length == 0u || h.length > esnn_slot_bytes(d)) {
        s = ESNN_ERR_TRUNCATED;
    } else if (esnn_crc32(0, img, h.length) != h.crc32) {
        state = ESNN_SLOT_BAD_CRC;
        s = ESNN_ERR_CRC;
    } else {
        s = esnn_init(m ? m : &tmp, img, h.length, d->board.arena, d->board.arena_bytes, diag);
        state = s == ESNN_OK ? ESNN_SLOT_VALID : ESNN_SLOT_BAD_MODEL;
    }
    d->slot_check[slot] = state;  /* what HELLO reports for this slot */
    d->slot_status[slot] = (int16_t)s;
    return s;
}

int esnn_slot_write_header(esnn_device *d, uint32_t slot, uint32_t generation,
                           uint32_t length, uint32_t crc)
{
    uint8_t h[ESNN_SLOT_HEADER_BYTES];
    memset(h, 0, sizeof h);
    esnn_wr_u32(h, SLOT_MAGIC_U32);
    esnn_wr_u32(h + 4, generation);
    esnn_wr_u32(h + 8, length);
    esnn_wr_u32(h + 12, crc);
    esnn_wr_u32(h + 28, esnn_crc32(0, h, 28));
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
    gen = esnn_slot_next_generation(d);  /* never 0 or 0xFFFFFFFF: cannot fail */
    if (esnn_slot_write_header(d, slot, gen, len, crc) != 0 ||
        esnn_slot_check(d, slot, &m, NULL) != ESNN_OK) {
        (void)esnn_slot_invalidate(d, slot);
        return ESNN_PS_FLASH_ERROR;
    }
    d->model = m;
    d->active = (uint8_t)slot;
    d->arena_q_valid = 0;
    memset(p, 0, 8);
    p[0] = (uint8_t)slot;
    esnn_wr_u32(p + 4, gen);
    *out_len = 8u;
    return ESNN_PS_OK;
}

int esnn_slot_invalidate(esnn_device *d, uint32_t slot)
{
    static const uint8_t zero[ESNN_SLOT_HEADER_BYTES] = {0};
    esnn_slot_hdr h;
    d->slot_check[slot] = ESNN_SLOT_EMPTY;
    d->slot_status[slot] = (int16_t)ESNN_ERR_MAGIC;
    esnn_slot_read(d, slot, &h);
    if (!h.intact && d->board.flash[esnn_slot_offset(d, slot)] == 0u)
        return 0;  /* already invalid: spare the flash a write */
    return esnn_flash_write(d, esnn_slot_offset(d, slot), zero, sizeof zero);
}

/* Generations compare in serial-number arithmetic (RFC 1982): a is newer than b when
 * a - b, modulo 2^32, is in 1 .. 2^31 - 1. Two slots are never more than a few
 * generations apart, so the comparison is exact across the wrap. */
static int newer(uint32_t a, uint32_t b)
{
    return a - b - 1u < 0x7FFFFFFFu;
}

uint32_t esnn_slot_next_generation(const esnn_device *d)
{
    uint32_t s, g = 0;  /* 0: no intact header */
    esnn_slot_hdr h;
    for (s = 0; s < 2u; s++) {
        esnn_slot_read(d, s, &h);
        if (h.intact && h.generation != 0u && (g == 0u || newer(h.generation, g)))
            g = h.generation;
    }
    g++;
    /* 0 is never valid and 0xFFFFFFFF is what erased NOR reads as: skip both */
    return g + 1u < 2u ? 1u : g;
}

void esnn_slot_select(esnn_device *d)
{
    uint32_t s, best = ESNN_NO_SLOT, best_gen = 0;
    esnn_slot_hdr h;
    for (s = 0; s < 2u; s++) {
        if (esnn_slot_check(d, s, NULL, NULL) != ESNN_OK)
            continue;
        esnn_slot_read(d, s, &h);
        if (best == ESNN_NO_SLOT || newer(h.generation, best_gen)) {
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
