/* test_device.h - what the device test families share (test_device_support.c): the
 * protocol's codes as the tests spell them, a device on a RAM flash with a tx capture
 * buffer, requests and uploads through proto_client.h (an independent client), the
 * blobs under test, and the family entry points test_device.c runs in order. */
#ifndef ESNN_TEST_DEVICE_H
#define ESNN_TEST_DEVICE_H

#include "edgesnn.h"
#include "proto_client.h"
#include "esnn_device_internal.h"  /* esnn_cobs_encode/decode */

extern int g_pass, g_fail;
#include "test_support.h"

#define EXPECT_PS(resp, want, what)                                                 \
    do {                                                                            \
        pc_resp rr_ = (resp); /* evaluated once: it may be a request */             \
        CHECK(rr_.ok && rr_.status == (want), "%s: ok %d status %d, want %d", what, \
              rr_.ok, (int)rr_.status, (int)(want));                                \
    } while (0)

enum { HELLO = 0x01, STATS = 0x02, RESET = 0x03, BEGIN = 0x10, CHUNK = 0x11, COMMIT = 0x12,
       ABORT = 0x13, INFER = 0x20, READ_SLOT = 0x30, FT_BEGIN = 0x40, FT_SAMPLE = 0x41,
       FT_COMMIT = 0x42, FT_ABORT = 0x43 };
enum { PS_OK = 0, PS_UNKNOWN_CMD, PS_BAD_LENGTH, PS_BAD_ARG, PS_NO_SESSION, PS_TOO_LARGE,
       PS_INCOMPLETE, PS_CRC_MISMATCH, PS_INVALID_MODEL, PS_NO_MODEL, PS_RUNTIME_ERROR,
       PS_FLASH_ERROR, PS_BUSY, PS_ARENA_TOO_SMALL, PS_NOT_OWNER };
enum { ST_INVOCATIONS, ST_ARENA_USED, ST_ARENA_BYTES, ST_FRAMES_OK, ST_FRAMES_BAD,
       ST_OVERSIZED, ST_LAST_TICKS, ST_COMMITTED, ST_REJECTED, ST_BOOTS, ST_FT_COMMITTED,
       ST_FT_SAMPLES, ST_STACK_PEAK, ST_STACK_BYTES, ST_ARENA_PEAK, ST_COUNT };

#define SLOT_IMAGE 8192u
#define FLASH_BYTES (2u * (ESNN_SLOT_HEADER_BYTES + SLOT_IMAGE))
#define ARENA_BYTES 131072u

/* ---------------------------------------------------------------- fixture */

typedef struct {
    esnn_device dev;
    esnn_board board;
    pc_flash flash;
    pc_tx tx;
    uint16_t seq;
    uint32_t tick;
} fixture;

typedef struct {
    uint8_t active, tick_kind, session, features;
    uint32_t ram, arena, slot_bytes;
    uint8_t valid[2];
    uint32_t gen[2], len[2], crc[2];
    char name[40], version[20];
} hello_t;

extern uint8_t g_flash_mem[FLASH_BYTES];
extern uint8_t *g_arena;
extern const uint8_t *g_blob;   /* the blob from argv ("A") */
extern uint8_t *g_blob_b;       /* a second valid blob: A with another default_steps */
extern uint8_t *g_blob_c;       /* a third: yet another default_steps */
extern uint32_t g_len;

/* ---- test_device_support.c ---- */
void boot(fixture *f, uint8_t *flash_mem, uint32_t arena_bytes);
fixture *new_fixture(uint8_t *flash_mem, uint32_t arena_bytes);
uint32_t send_raw(fixture *f, const uint8_t *bytes, uint32_t n, pc_resp *r);
pc_resp req_seq(fixture *f, uint8_t cmd, uint16_t seq, const uint8_t *p, uint32_t n);
pc_resp req(fixture *f, uint8_t cmd, const uint8_t *p, uint32_t n);
uint32_t stat_of(fixture *f, int i);
pc_resp begin(fixture *f, uint32_t size, uint32_t crc);
pc_resp chunk(fixture *f, uint32_t off, const uint8_t *data, uint32_t n);
pc_resp upload(fixture *f, const uint8_t *img, uint32_t n);
void two_models(uint8_t *flash_mem);
hello_t hello(fixture *f);
const uint8_t *slot_image(const uint8_t *flash, int s);
uint8_t *variant(const uint8_t *blob, uint32_t n, uint32_t steps);
uint32_t input_numel(const uint8_t *blob, uint32_t n);
fixture *with_model(void);

/* ---- the families ---- */
/* test_device_protocol.c */
void test_cobs(void);
void test_empty_flash(void);
void test_upload_commit(void);
void test_infer_matches_runtime(void);
void test_duplicates(void);
void test_resume_and_offsets(void);
void test_refusals(void);
void test_read_slot(void);
void test_lengths_and_frames(void);
void test_reset_and_boot(void);
void test_power_cut(void);
void test_flash_errors(void);
void test_stats_peaks(void);
/* test_device_finetune.c */
void test_finetune_equals_direct(void);
void test_finetune_refusals(void);
void test_finetune_power_cut(void);

#endif
