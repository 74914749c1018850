/*
 * esnn_device_internal.h - private declarations of the device side of the serial
 * protocol (docs/protocol.md). Nothing here is API.
 */
#ifndef ESNN_DEVICE_INTERNAL_H
#define ESNN_DEVICE_INTERNAL_H

#include <stddef.h>
#include <string.h>
#include "esnn_internal.h"  /* and the build options (esnn_config.h) */

#define ESNN_KIND_REQUEST 0xA5u
#define ESNN_KIND_RESPONSE 0x5Au
#define ESNN_FRAME_OVERHEAD 12u     /* 8-byte header + 4-byte CRC */
#define ESNN_CHUNK_MAX (ESNN_PROTO_MAX_PAYLOAD - 4u)

enum {
    ESNN_CMD_HELLO = 0x01, ESNN_CMD_STATS = 0x02, ESNN_CMD_RESET = 0x03,
    ESNN_CMD_UPLOAD_BEGIN = 0x10, ESNN_CMD_UPLOAD_CHUNK = 0x11,
    ESNN_CMD_UPLOAD_COMMIT = 0x12, ESNN_CMD_UPLOAD_ABORT = 0x13,
    ESNN_CMD_INFER = 0x20, ESNN_CMD_READ_SLOT = 0x30,
    ESNN_CMD_FT_BEGIN = 0x40, ESNN_CMD_FT_SAMPLE = 0x41, ESNN_CMD_FT_COMMIT = 0x42,
    ESNN_CMD_FT_ABORT = 0x43
};

enum {
    ESNN_PS_OK = 0, ESNN_PS_UNKNOWN_CMD = 1, ESNN_PS_BAD_LENGTH = 2, ESNN_PS_BAD_ARG = 3,
    ESNN_PS_NO_SESSION = 4, ESNN_PS_TOO_LARGE = 5, ESNN_PS_INCOMPLETE = 6,
    ESNN_PS_CRC_MISMATCH = 7, ESNN_PS_INVALID_MODEL = 8, ESNN_PS_NO_MODEL = 9,
    ESNN_PS_RUNTIME_ERROR = 10, ESNN_PS_FLASH_ERROR = 11, ESNN_PS_BUSY = 12,
    ESNN_PS_ARENA_TOO_SMALL = 13, ESNN_PS_NOT_OWNER = 14
};

/* What is open, in HELLO (offset 22) and in a BUSY answer's payload. */
enum { ESNN_SESSION_NONE = 0, ESNN_SESSION_UPLOAD = 1, ESNN_SESSION_FINETUNE = 2 };
/* HELLO offset 23: what this firmware can do beyond version 1's base commands. */
#define ESNN_FEATURE_FINETUNE 0x01u
#define ESNN_FEATURE_VERIFY 0x02u  /* FINETUNE_BEGIN accepts verify = 1 */
#define ESNN_FEATURE_OWNER 0x04u   /* FINETUNE_* carry the owner's token; the idle rule */
#define ESNN_FEATURES (ESNN_DEVICE_FINETUNE ? ESNN_FEATURE_FINETUNE | ESNN_FEATURE_OWNER | \
                       (ESNN_TRAIN_VERIFY ? ESNN_FEATURE_VERIFY : 0u) : 0u)

/* STATS counter indices (protocol order). */
enum {
    ESNN_ST_INVOCATIONS = 0, ESNN_ST_ARENA_USED, ESNN_ST_ARENA_BYTES, ESNN_ST_FRAMES_OK,
    ESNN_ST_FRAMES_BAD, ESNN_ST_OVERSIZED, ESNN_ST_LAST_TICKS, ESNN_ST_COMMITTED,
    ESNN_ST_REJECTED, ESNN_ST_BOOTS, ESNN_ST_FT_COMMITTED, ESNN_ST_FT_SAMPLES
};
/* STATS answers ESNN_DEVICE_COUNTERS kept counters, then these, measured on request. */
#define ESNN_STATS_FIELDS (ESNN_DEVICE_COUNTERS + 3u)  /* + stack_peak, stack_bytes, arena_peak */

/* A decoded request: points into d->rx (decoded in place). */
typedef struct {
    uint8_t cmd;
    uint16_t seq;
    const uint8_t *payload;
    uint32_t len;
} esnn_req;

/* Decoded slot header (section 5). */
typedef struct {
    uint32_t generation, length, crc32;
    uint8_t intact;  /* magic and header CRC good */
} esnn_slot_hdr;

/* esnn_device_words.c: n 32-bit words to / from n little-endian u32 fields */
void esnn_dput_words(uint8_t *p, const void *words, uint32_t n);
void esnn_dget_words(void *words, const uint8_t *p, uint32_t n);

/* ---- esnn_device_cobs_encode.c / esnn_device_cobs_decode.c ---- */
/* Encode len bytes (no delimiter is appended); out must hold len + len/254 + 1
 * bytes. Returns the encoded length. */
uint32_t esnn_cobs_encode(const uint8_t *in, uint32_t len, uint8_t *out);
/* Decode len bytes (no 0x00 inside); out may equal in (in-place). Returns the
 * decoded length, or -1 if the input is not valid COBS. */
int32_t esnn_cobs_decode(const uint8_t *in, uint32_t len, uint8_t *out);

/* ---- esnn_device_slot.c ---- */
uint32_t esnn_slot_bytes(const esnn_device *d);          /* image capacity of a slot */
uint32_t esnn_slot_offset(const esnn_device *d, uint32_t slot); /* header offset */
const uint8_t *esnn_slot_image(const esnn_device *d, uint32_t slot);
void esnn_slot_read(const esnn_device *d, uint32_t slot, esnn_slot_hdr *h);
/* Full boot check: intact header, image CRC, esnn_init with the board's arena; the
 * result is kept in d->slot_check[slot] / d->slot_status[slot] (HELLO reports it).
 * On success *m is bound to the image (m may be NULL). */
esnn_status esnn_slot_check(esnn_device *d, uint32_t slot, esnn_model *m, esnn_diag *diag);
/* Write the committed header (the commit point). 0 = ok. */
int esnn_slot_write_header(esnn_device *d, uint32_t slot, uint32_t generation,
                           uint32_t length, uint32_t crc);
int esnn_slot_invalidate(esnn_device *d, uint32_t slot);
/* Commit an image written and verified in `slot` (esnn_device_slot.c): a protocol
 * status, the payload written. */
int esnn_slot_commit(esnn_device *d, uint32_t slot, uint32_t len, uint32_t crc,
                     uint32_t *out_len);
/* The generation of the next commit: the newest intact header's (serial-number
 * arithmetic) + 1, skipping 0 and 0xFFFFFFFF; 1 on a blank flash. */
uint32_t esnn_slot_next_generation(const esnn_device *d);
int esnn_flash_write(esnn_device *d, uint32_t offset, const uint8_t *data, uint32_t len);
/* Choose and bind the active slot (the newest valid generation); every slot's check
 * result is kept in slot_check / slot_status. */
void esnn_slot_select(esnn_device *d);

/* ---- esnn_device_dispatch.c ---- */
void esnn_device_dispatch(esnn_device *d, const esnn_req *r);
/* Payload area of the response being built. */
static inline uint8_t *esnn_resp_payload(esnn_device *d)
{
    return d->body + 8u;
}
/* Write an esnn_diag-style error payload (i32 status, u32 expected, u32 actual);
 * returns its length (12). */
uint32_t esnn_put_diag(esnn_device *d, int32_t status, uint32_t expected, uint32_t actual);
/* BUSY: payload u8 = the open session's kind (ESNN_SESSION_*). */
int esnn_busy(esnn_device *d, uint32_t *out_len);
/* The board's millisecond clock now (0 without one). */
static inline uint32_t esnn_now_ms(const esnn_device *d)
{
    return d->board.clock_ms ? d->board.clock_ms(d->board.clock_ctx) : 0u;
}
/* u32 idle limit (ms; 0: sessions never go stale), u32 idle time of the open fine-tuning
 * session (ms; 0 without one) at p: HELLO's tail and a fine-tuning BUSY's payload. */
void esnn_put_idle(const esnn_device *d, uint8_t *p);
/* A fine-tuning session is open, after a stale one was ended (the idle rule,
 * docs/protocol.md section 6): HELLO and the commands it would refuse call this. */
#if ESNN_DEVICE_FINETUNE
int esnn_ft_busy(esnn_device *d);
#else
#define esnn_ft_busy(d) ((void)(d), 0)
#endif
/* The kind of session open now (ESNN_SESSION_*). */
uint8_t esnn_session_kind(const esnn_device *d);
/* The board's tick counter now (0 without one): INFER and FINETUNE_SAMPLE time their
 * work with it. */
static inline uint32_t esnn_ticks(const esnn_device *d)
{
    return d->board.ticks ? d->board.ticks(d->board.ticks_ctx) : 0u;
}

/* Command handlers: fill esnn_resp_payload(d), set *out_len, return a status. */
int esnn_cmd_hello(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_stats(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_reset(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_upload_begin(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_upload_chunk(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_upload_commit(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_upload_abort(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_infer(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_read_slot(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_ft_begin(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_ft_sample(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_ft_commit(esnn_device *d, const esnn_req *r, uint32_t *out_len);
int esnn_cmd_ft_abort(esnn_device *d, const esnn_req *r, uint32_t *out_len);
/* Close the fine-tuning session (the trainer's arena is the board's again). */
void esnn_ft_close(esnn_device *d);

#endif
