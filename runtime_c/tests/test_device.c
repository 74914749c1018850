/* test_device.c - unit tests of the device side of the serial protocol
 * (docs/protocol.md) with a RAM flash and a tx capture buffer.
 *
 *   test_device BLOB     BLOB: a valid .esnn (e.g. ../edgesnn/models/digits.esnn)
 *
 * Ends with "N passed, M failed"; exits non-zero on any failure. */
#include "edgesnn.h"
#include "proto_client.h"
#include "esnn_device_internal.h"  /* esnn_cobs_encode/decode */

static int g_pass, g_fail;
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
       PS_FLASH_ERROR, PS_BUSY, PS_ARENA_TOO_SMALL };
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

static uint8_t g_flash_mem[FLASH_BYTES];
static uint8_t *g_arena;
static const uint8_t *g_blob;   /* the blob from argv ("A") */
static uint8_t *g_blob_b;       /* a second valid blob: A with another default_steps */
static uint8_t *g_blob_c;       /* a third: yet another default_steps */
static uint32_t g_len;

static uint32_t fake_ticks(void *ctx)
{
    fixture *f = (fixture *)ctx;
    return f->tick += 1000u;
}

static void boot(fixture *f, uint8_t *flash_mem, uint32_t arena_bytes)
{
    memset(&f->board, 0, sizeof f->board);
    f->flash.mem = flash_mem;
    f->flash.bytes = FLASH_BYTES;
    f->flash.budget = -1;
    f->flash.dead = 0;
    f->board.name = "unit-test-board";
    f->board.ram_bytes = 123456u;
    f->board.flash = flash_mem;
    f->board.flash_bytes = FLASH_BYTES;
    f->board.flash_write = pc_flash_write;
    f->board.flash_ctx = &f->flash;
    f->board.arena = g_arena;
    f->board.arena_bytes = arena_bytes;
    f->board.tx = pc_tx_sink;
    f->board.tx_ctx = &f->tx;
    f->board.ticks = fake_ticks;
    f->board.ticks_ctx = f;
    f->board.tick_kind = ESNN_TICKS_CYCLES;
    f->tx.len = 0;
    CHECK(esnn_device_init(&f->dev, &f->board) == ESNN_OK, "init");
}

/* Fresh device (cold: zeroed state) on the given flash. */
static fixture *new_fixture(uint8_t *flash_mem, uint32_t arena_bytes)
{
    fixture *f = (fixture *)calloc(1, sizeof *f);
    boot(f, flash_mem, arena_bytes);
    return f;
}

/* Send raw bytes; parse the single response, if any. Returns the number of tx calls. */
static uint32_t send_raw(fixture *f, const uint8_t *bytes, uint32_t n, pc_resp *r)
{
    uint32_t calls = f->tx.calls;
    f->tx.len = 0;
    esnn_device_rx(&f->dev, bytes, n);
    pc_parse(f->tx.buf, f->tx.len, r);
    return f->tx.calls - calls;
}

/* Send a request with an explicit seq. */
static pc_resp req_seq(fixture *f, uint8_t cmd, uint16_t seq, const uint8_t *p, uint32_t n)
{
    uint8_t frame[2200];
    pc_resp r;
    uint32_t len = pc_frame(0xA5, cmd, seq, p, n, frame);
    send_raw(f, frame, len, &r);
    CHECK(r.ok && r.cmd == cmd && r.seq == seq && r.raw_len == f->tx.len,
          "response to cmd 0x%02x seq %u: ok %d cmd 0x%02x seq %u", cmd, seq, r.ok, r.cmd, r.seq);
    return r;
}

static pc_resp req(fixture *f, uint8_t cmd, const uint8_t *p, uint32_t n)
{
    return req_seq(f, cmd, ++f->seq, p, n);
}

static uint32_t stat(fixture *f, int i)
{
    pc_resp r = req(f, STATS, NULL, 0);
    return r.len == 4 * ST_COUNT ? pc_get32(r.payload + 4 * i) : 0xDEADBEEFu;
}

static pc_resp begin(fixture *f, uint32_t size, uint32_t crc)
{
    uint8_t p[8];
    pc_put32(p, size);
    pc_put32(p + 4, crc);
    return req(f, BEGIN, p, 8);
}

static pc_resp chunk(fixture *f, uint32_t off, const uint8_t *data, uint32_t n)
{
    uint8_t p[1024];
    pc_put32(p, off);
    memcpy(p + 4, data, n);
    return req(f, CHUNK, p, 4 + n);
}

/* BEGIN + 1020-byte chunks + COMMIT; returns the COMMIT response. */
static pc_resp upload(fixture *f, const uint8_t *img, uint32_t n)
{
    uint32_t off = 0;
    pc_resp r = begin(f, n, esnn_crc32(0, img, n));
    if (r.status != PS_OK)
        return r;
    off = pc_get32(r.payload);
    while (off < n) {
        uint32_t k = n - off < 1020u ? n - off : 1020u;
        r = chunk(f, off, img + off, k);
        if (r.status != PS_OK)
            return r;
        off = pc_get32(r.payload);
    }
    return req(f, COMMIT, NULL, 0);
}

/* The power-cut tests' starting flash (FLASH_BYTES): model B (generation 1) in slot 0,
 * model A (generation 2, active) in slot 1. */
static void two_models(uint8_t *flash_mem)
{
    fixture *f;
    memset(flash_mem, 0, FLASH_BYTES);
    f = new_fixture(flash_mem, ARENA_BYTES);
    EXPECT_PS(upload(f, g_blob_b, g_len), PS_OK, "B");
    EXPECT_PS(upload(f, g_blob, g_len), PS_OK, "A");
    free(f);
}

typedef struct {
    uint8_t active, tick_kind, session, features;
    uint32_t ram, arena, slot_bytes;
    uint8_t valid[2];
    uint32_t gen[2], len[2], crc[2];
    char name[40], version[20];
} hello_t;

static hello_t hello(fixture *f)
{
    hello_t h;
    pc_resp r = req(f, HELLO, NULL, 0);
    uint32_t s, n;
    memset(&h, 0, sizeof h);
    EXPECT_PS(r, PS_OK, "HELLO");
    if (r.len < 58)
        return h;
    CHECK(pc_get16(r.payload) == 1, "protocol version");
    CHECK(pc_get16(r.payload + 2) == ESNN_VERSION_MAJOR, "format major");
    CHECK(pc_get16(r.payload + 4) == ESNN_VERSION_MINOR, "format minor");
    CHECK(pc_get16(r.payload + 6) == 1024, "max_payload");
    h.ram = pc_get32(r.payload + 8);
    h.arena = pc_get32(r.payload + 12);
    h.slot_bytes = pc_get32(r.payload + 16);
    h.active = r.payload[20];
    h.tick_kind = r.payload[21];
    h.session = r.payload[22];
    h.features = r.payload[23];
    for (s = 0; s < 2; s++) {
        const uint8_t *e = r.payload + 24 + 16 * s;
        h.valid[s] = e[0];
        h.gen[s] = pc_get32(e + 4);
        h.len[s] = pc_get32(e + 8);
        h.crc[s] = pc_get32(e + 12);
    }
    n = r.payload[56];
    if (n <= 32 && 57 + n < r.len) {
        memcpy(h.name, r.payload + 57, n);
        s = r.payload[57 + n];
        if (s <= 16 && 58 + n + s == r.len)
            memcpy(h.version, r.payload + 58 + n, s);
    }
    CHECK(58 + n + strlen(h.version) == r.len, "HELLO length %u", r.len);
    return h;
}

static const uint8_t *slot_image(const uint8_t *flash, int s)
{
    return flash + (uint32_t)s * (FLASH_BYTES / 2u) + ESNN_SLOT_HEADER_BYTES;
}

/* A second valid blob: same network, another default T (the CRC is fixed up). */
static uint8_t *variant(const uint8_t *blob, uint32_t n, uint32_t steps)
{
    uint8_t *b = (uint8_t *)malloc(n);
    memcpy(b, blob, n);
    pc_put16(b + 24, steps);
    pc_put32(b + 12, esnn_crc32(0, b + 16, pc_get32(b + 8) - 16));
    return b;
}

static uint32_t input_numel(const uint8_t *blob, uint32_t n)
{
    esnn_info info;
    return esnn_validate(blob, n, &info, NULL) == ESNN_OK ? info.input_numel : 0;
}

/* ---------------------------------------------------------------- tests */

static void test_cobs(void)
{
    static uint8_t in[1200], enc[1300], enc2[1300], dec[1300];
    uint32_t len, t;
    int ok = 1;
    for (t = 0; t < 3000 && ok; t++) {
        uint32_t i, n, m;
        len = t < 1100 ? t : (uint32_t)rand() % 1100;
        for (i = 0; i < len; i++)
            in[i] = (uint8_t)(t % 3 == 0 ? (rand() % 4 == 0 ? 0 : rand()) : 1 + rand() % 255);
        n = pc_cobs_encode(in, len, enc);
        memset(enc2, 0xEE, sizeof enc2);
        {
            m = esnn_cobs_encode(in, len, enc2);
            ok = ok && m == n && memcmp(enc, enc2, n) == 0 && m <= len + len / 254 + 1;
            for (i = 0; i < m; i++)
                ok = ok && enc2[i] != 0;
            ok = ok && esnn_cobs_decode(enc2, m, dec) == (int32_t)len && memcmp(dec, in, len) == 0;
            /* in place */
            ok = ok && esnn_cobs_decode(enc2, m, enc2) == (int32_t)len &&
                 memcmp(enc2, in, len) == 0;
        }
    }
    CHECK(ok, "COBS round trip / agreement failed at length %u", len);
    {
        static const uint8_t bad1[] = {0x05, 1, 2};
        static const uint8_t good_tail[] = {0x03, 1, 2, 0x01};
        CHECK(esnn_cobs_decode(bad1, 3, dec) == -1, "overrunning code accepted");
        CHECK(esnn_cobs_decode(good_tail, 4, dec) == 3 && dec[2] == 0, "trailing zero");
        CHECK(esnn_cobs_decode(bad1, 0, dec) == -1, "empty accepted");
    }
}

static void test_empty_flash(void)
{
    fixture *f;
    hello_t h;
    pc_resp r;
    uint8_t p[8] = {0};
    memset(g_flash_mem, 0, sizeof g_flash_mem);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    h = hello(f);
    CHECK(h.active == 0xFF, "active %u", h.active);
    CHECK(!h.valid[0] && !h.valid[1], "slots valid on empty flash");
    CHECK(h.slot_bytes == SLOT_IMAGE, "slot_bytes %u", h.slot_bytes);
    CHECK(h.arena == ARENA_BYTES && h.ram == 123456u && h.tick_kind == 2, "board fields");
    CHECK(h.session == 0 && h.features == 3, "session %u features %u", h.session, h.features);
    CHECK(strcmp(h.name, "unit-test-board") == 0, "name '%s'", h.name);
    CHECK(strcmp(h.version, ESNN_RUNTIME_VERSION) == 0, "version '%s'", h.version);
    r = req(f, INFER, p, 4);
    EXPECT_PS(r, PS_NO_MODEL, "INFER without model");
    r = req(f, READ_SLOT, (pc_put16(p + 2, 16), p), 8);
    EXPECT_PS(r, PS_NO_MODEL, "READ_SLOT without model");
    CHECK(stat(f, ST_BOOTS) == 1, "boots");
    free(f);
}

static void test_upload_commit(void)
{
    fixture *f;
    hello_t h;
    pc_resp r;
    memset(g_flash_mem, 0, sizeof g_flash_mem);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    r = upload(f, g_blob, g_len);
    EXPECT_PS(r, PS_OK, "first upload");
    CHECK(r.len == 8 && r.payload[0] == 0 && pc_get32(r.payload + 4) == 1, "commit slot/gen");
    h = hello(f);
    CHECK(h.active == 0 && h.valid[0] && !h.valid[1], "active after first commit");
    CHECK(h.gen[0] == 1 && h.len[0] == g_len && h.crc[0] == esnn_crc32(0, g_blob, g_len),
          "slot 0 header fields");
    CHECK(memcmp(slot_image(g_flash_mem, 0), g_blob, g_len) == 0, "slot 0 image");
    r = upload(f, g_blob_b, g_len);
    EXPECT_PS(r, PS_OK, "second upload");
    CHECK(r.payload[0] == 1 && pc_get32(r.payload + 4) == 2, "second commit slot/gen");
    h = hello(f);
    CHECK(h.active == 1 && h.valid[0] && h.valid[1] && h.gen[1] == 2, "active switched");
    r = upload(f, g_blob_c, g_len);
    EXPECT_PS(r, PS_OK, "third upload");
    CHECK(r.payload[0] == 0 && pc_get32(r.payload + 4) == 3, "third commit slot/gen");
    CHECK(memcmp(slot_image(g_flash_mem, 1), g_blob_b, g_len) == 0, "previous slot intact");
    CHECK(stat(f, ST_COMMITTED) == 3, "uploads_committed");
    /* a reboot picks the highest generation */
    boot(f, g_flash_mem, ARENA_BYTES);
    h = hello(f);
    CHECK(h.active == 0 && h.gen[0] == 3 && h.gen[1] == 2, "boot picks gen 3");
    free(f);
}

/* Commit blob A into a fresh flash; returns the fixture. */
static fixture *with_model(void)
{
    fixture *f;
    pc_resp r;
    memset(g_flash_mem, 0, sizeof g_flash_mem);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    r = upload(f, g_blob, g_len);
    EXPECT_PS(r, PS_OK, "upload A");
    return f;
}

static void test_infer_matches_runtime(void)
{
    fixture *f = with_model();
    uint32_t nin = input_numel(g_blob, g_len), i, k;
    uint8_t p[1024];
    esnn_model m;
    uint8_t *arena = g_arena + ARENA_BYTES;  /* second half of the test arena */
    int mode;
    CHECK(nin > 0 && nin + 4 <= 1024, "input numel %u", nin);
    CHECK(esnn_init(&m, g_blob, g_len, arena, ARENA_BYTES, NULL) == ESNN_OK, "direct init");
    for (k = 0; k < 24; k++) {
        esnn_tensor out;
        uint32_t am, steps = k % 3 == 2 ? 1 + k % 7 : 0, bytes;
        pc_resp r;
        mode = (int)(k % 2);
        p[0] = (uint8_t)mode;
        p[1] = (uint8_t)steps;
        p[2] = p[3] = 0;
        for (i = 0; i < nin; i++)
            p[4 + i] = (uint8_t)(k == 0 ? 0 : (k == 1 ? 255 : rand()));
        r = req(f, INFER, p, 4 + nin);
        EXPECT_PS(r, PS_OK, "INFER");
        CHECK(esnn_invoke(&m, p + 4, nin, (esnn_mode)mode, steps, NULL) == ESNN_OK, "direct");
        CHECK(esnn_output(&m, &out) == ESNN_OK && esnn_output_argmax(&m, &am) == ESNN_OK, "out");
        bytes = out.numel * (out.dtype == ESNN_DTYPE_I32 ? 4u : 1u);
        CHECK(r.len == 12 + bytes && r.payload[0] == out.dtype && pc_get16(r.payload + 2) ==
              out.numel && pc_get32(r.payload + 4) == am, "INFER header k=%u", k);
        if (out.dtype == ESNN_DTYPE_U8) {
            CHECK(memcmp(r.payload + 12, out.data, bytes) == 0, "U8 outputs k=%u", k);
        } else {
            int same = 1;
            for (i = 0; i < out.numel; i++)
                same = same && (int32_t)pc_get32(r.payload + 12 + 4 * i) ==
                                   ((const int32_t *)out.data)[i];
            CHECK(same, "I32 outputs k=%u", k);
        }
        CHECK(pc_get32(r.payload + 8) == 1000u, "ticks %u", pc_get32(r.payload + 8));
    }
    CHECK(stat(f, ST_INVOCATIONS) == 24, "invocations");
    CHECK(stat(f, ST_LAST_TICKS) == 1000u, "last_ticks");
    {
        uint32_t need;
        esnn_arena_bytes(g_blob, g_len, ESNN_MODE_TSTEP, 1 + 23 % 7, &need, NULL);
        CHECK(stat(f, ST_ARENA_USED) == need, "arena_used %u want %u", stat(f, ST_ARENA_USED),
              need);
        CHECK(stat(f, ST_ARENA_BYTES) == ARENA_BYTES, "arena_bytes");
    }
    /* runtime errors carry esnn_diag's numbers */
    {
        pc_resp r;
        p[0] = 0;
        p[1] = 0;
        r = req(f, INFER, p, 4 + nin - 1);
        EXPECT_PS(r, PS_RUNTIME_ERROR, "short input");
        CHECK(r.len == 12 && (int32_t)pc_get32(r.payload) == ESNN_ERR_INPUT_SIZE &&
              pc_get32(r.payload + 4) == nin && pc_get32(r.payload + 8) == nin - 1, "diag");
        p[0] = 1;
        p[1] = 64;
        r = req(f, INFER, p, 4 + nin);
        EXPECT_PS(r, PS_RUNTIME_ERROR, "steps 64");
        CHECK((int32_t)pc_get32(r.payload) == ESNN_ERR_STEPS, "steps status");
        p[0] = 2;
        r = req(f, INFER, p, 4 + nin);
        EXPECT_PS(r, PS_BAD_ARG, "mode 2");
        r = req(f, INFER, p, 3);
        EXPECT_PS(r, PS_BAD_LENGTH, "INFER 3 bytes");
    }
    /* a T-step call needing more arena than the board has */
    {
        fixture *g;
        uint32_t one, tstep;
        pc_resp r;
        esnn_arena_bytes(g_blob, g_len, ESNN_MODE_ONESTEP, 0, &one, NULL);
        esnn_arena_bytes(g_blob, g_len, ESNN_MODE_TSTEP, 0, &tstep, NULL);
        if (tstep > one) {
            g = new_fixture(g_flash_mem, one);
            p[0] = 1;
            p[1] = 0;
            r = req(g, INFER, p, 4 + nin);
            EXPECT_PS(r, PS_RUNTIME_ERROR, "T-step arena");
            CHECK((int32_t)pc_get32(r.payload) == ESNN_ERR_ARENA_TOO_SMALL &&
                  pc_get32(r.payload + 4) == tstep && pc_get32(r.payload + 8) == one, "diag");
            p[0] = 0;
            r = req(g, INFER, p, 4 + nin);
            EXPECT_PS(r, PS_OK, "one-step with the exact arena");
            free(g);
        }
    }
    free(f);
}

static void test_duplicates(void)
{
    fixture *f = with_model();
    uint8_t frame[2200], first[2200], p[1024];
    uint32_t n, first_len, nin = input_numel(g_blob, g_len), writes;
    pc_resp r;
    r = begin(f, g_len, esnn_crc32(0, g_blob_b, g_len));
    EXPECT_PS(r, PS_OK, "BEGIN");
    pc_put32(p, 0);
    memcpy(p + 4, g_blob_b, 1020);
    n = pc_frame(0xA5, CHUNK, 500, p, 1024, frame);
    send_raw(f, frame, n, &r);
    EXPECT_PS(r, PS_OK, "CHUNK");
    CHECK(pc_get32(r.payload) == 1020, "next 1020");
    first_len = f->tx.len;
    memcpy(first, f->tx.buf, first_len);
    writes = f->flash.writes;
    CHECK(send_raw(f, frame, n, &r) == 1, "duplicate answered");
    CHECK(f->tx.len == first_len && memcmp(first, f->tx.buf, first_len) == 0,
          "cached bytes resent");
    CHECK(f->flash.writes == writes, "duplicate wrote flash");
    /* the same seq with another cmd is a new request */
    n = pc_frame(0xA5, BEGIN, 500, (pc_put32(p, g_len), pc_put32(p + 4, esnn_crc32(0, g_blob_b,
                 g_len)), p), 8, frame);
    send_raw(f, frame, n, &r);
    EXPECT_PS(r, PS_OK, "BEGIN seq 500");
    CHECK(pc_get32(r.payload) == 1020, "resume after the chunk: %u", pc_get32(r.payload));
    /* INFER duplicate: executed once */
    p[0] = p[1] = p[2] = p[3] = 0;
    memset(p + 4, 77, nin);
    n = pc_frame(0xA5, INFER, 501, p, 4 + nin, frame);
    send_raw(f, frame, n, &r);
    EXPECT_PS(r, PS_OK, "INFER");
    send_raw(f, frame, n, &r);
    send_raw(f, frame, n, &r);
    EXPECT_PS(r, PS_OK, "INFER dup");
    CHECK(stat(f, ST_INVOCATIONS) == 1, "duplicated INFER executed again");
    /* after a reset, nothing is cached: the same seq executes */
    r = req_seq(f, RESET, 7, NULL, 0);
    EXPECT_PS(r, PS_OK, "RESET");
    CHECK(esnn_device_reset_requested(&f->dev), "reset requested");
    boot(f, g_flash_mem, ARENA_BYTES);
    CHECK(!esnn_device_reset_requested(&f->dev), "reset cleared");
    n = pc_frame(0xA5, INFER, 501, p, 4 + nin, frame);
    send_raw(f, frame, n, &r);
    EXPECT_PS(r, PS_OK, "INFER after reset");
    CHECK(stat(f, ST_INVOCATIONS) == 2, "counters survive a reset, INFER re-executed");
    CHECK(stat(f, ST_BOOTS) == 2, "boots counted");
    free(f);
}

static void test_resume_and_offsets(void)
{
    fixture *f = with_model();
    uint32_t crc = esnn_crc32(0, g_blob_b, g_len);
    static uint8_t before[FLASH_BYTES];
    pc_resp r;
    r = begin(f, g_len, crc);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 0, "BEGIN next 0");
    r = chunk(f, 0, g_blob_b, 1000);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 1000, "chunk");
    r = begin(f, g_len, crc);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 1000, "resume offset %u",
          pc_get32(r.payload));
    memcpy(before, g_flash_mem, FLASH_BYTES);
    r = chunk(f, 500, g_blob_b + 500, 100);  /* already have it */
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 1000, "old offset");
    r = chunk(f, 1200, g_blob_b + 1200, 100);  /* a gap */
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 1000, "gap offset");
    CHECK(memcmp(before, g_flash_mem, FLASH_BYTES) == 0, "wrong offset wrote flash");
    r = chunk(f, g_len - 10, g_blob_b, 11);
    EXPECT_PS(r, PS_BAD_ARG, "beyond size");
    r = chunk(f, 0xFFFFFFF0u, g_blob_b, 100);
    EXPECT_PS(r, PS_BAD_ARG, "offset overflow");
    r = req(f, CHUNK, (const uint8_t *)"\0\0\0\0", 4);
    EXPECT_PS(r, PS_BAD_LENGTH, "empty chunk");
    CHECK(memcmp(before, g_flash_mem, FLASH_BYTES) == 0, "refused chunk wrote flash");
    r = req(f, COMMIT, NULL, 0);
    EXPECT_PS(r, PS_INCOMPLETE, "incomplete");
    CHECK(r.len == 4 && pc_get32(r.payload) == 1000, "incomplete next");
    /* a different image restarts at 0 */
    r = begin(f, g_len, crc ^ 1u);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 0, "new session");
    r = begin(f, g_len - 1, crc ^ 1u);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 0, "new session (size)");
    r = req(f, ABORT, NULL, 0);
    EXPECT_PS(r, PS_OK, "ABORT");
    r = req(f, ABORT, NULL, 0);
    EXPECT_PS(r, PS_OK, "ABORT without session");
    r = chunk(f, 0, g_blob_b, 10);
    EXPECT_PS(r, PS_NO_SESSION, "CHUNK after ABORT");
    CHECK(hello(f).active == 0, "still active");
    free(f);
}

/* Uploading `img` (announcing `crc`) must fail with `want`, leaving A active and intact. */
static void refused(fixture *f, const uint8_t *img, uint32_t n, uint32_t crc, int want,
                    const char *what)
{
    static uint8_t before[ESNN_SLOT_HEADER_BYTES + SLOT_IMAGE];
    uint32_t off = 0, rejected = stat(f, ST_REJECTED);
    hello_t h0 = hello(f), h1;
    pc_resp r;
    int a = h0.active;
    memcpy(before, g_flash_mem + (uint32_t)a * (FLASH_BYTES / 2), sizeof before);
    r = begin(f, n, crc);
    EXPECT_PS(r, PS_OK, what);
    while (off < n) {
        uint32_t k = n - off < 1020u ? n - off : 1020u;
        r = chunk(f, off, img + off, k);
        off = pc_get32(r.payload);
    }
    r = req(f, COMMIT, NULL, 0);
    EXPECT_PS(r, want, what);
    if (want == PS_INVALID_MODEL)
        CHECK(r.len == 12, "%s: diag payload", what);
    h1 = hello(f);
    CHECK(h1.active == a && h1.gen[a] == h0.gen[a] && !h1.valid[1 - a], "%s: active changed",
          what);
    CHECK(memcmp(before, g_flash_mem + (uint32_t)a * (FLASH_BYTES / 2), sizeof before) == 0,
          "%s: active slot modified", what);
    CHECK(stat(f, ST_REJECTED) == rejected + 1, "%s: uploads_rejected", what);
    r = req(f, COMMIT, NULL, 0);
    EXPECT_PS(r, PS_NO_SESSION, "session dropped");
    boot(f, g_flash_mem, f->board.arena_bytes);
    CHECK(hello(f).active == a, "%s: reboot changed the model", what);
}

static void test_refusals(void)
{
    fixture *f = with_model();
    uint8_t *bad = (uint8_t *)malloc(g_len);
    pc_resp r;
    r = req(f, CHUNK, (const uint8_t *)"\0\0\0\0x", 5);
    EXPECT_PS(r, PS_NO_SESSION, "CHUNK without BEGIN");
    r = req(f, COMMIT, NULL, 0);
    EXPECT_PS(r, PS_NO_SESSION, "COMMIT without BEGIN");
    r = begin(f, SLOT_IMAGE + 1, 0);
    EXPECT_PS(r, PS_TOO_LARGE, "too large");
    r = begin(f, 0, 0);
    EXPECT_PS(r, PS_TOO_LARGE, "size 0");
    r = begin(f, SLOT_IMAGE, 0);
    EXPECT_PS(r, PS_OK, "exactly a slot");
    refused(f, g_blob_b, g_len, esnn_crc32(0, g_blob_b, g_len) ^ 0x10u, PS_CRC_MISMATCH, "crc");
    /* valid outer CRC, invalid blob: version 2 */
    memcpy(bad, g_blob, g_len);
    pc_put16(bad + 4, 2);
    refused(f, bad, g_len, esnn_crc32(0, bad, g_len), PS_INVALID_MODEL, "version");
    /* blob with a flipped data byte: its own CRC fails */
    memcpy(bad, g_blob, g_len);
    bad[g_len / 2] ^= 0x40;
    refused(f, bad, g_len, esnn_crc32(0, bad, g_len), PS_INVALID_MODEL, "inner crc");
    /* truncated blob */
    refused(f, g_blob, g_len - 1, esnn_crc32(0, g_blob, g_len - 1), PS_INVALID_MODEL, "short");
    free(bad);
    free(f);
    /* a board whose arena is too small for the model */
    {
        uint32_t one;
        fixture *g;
        esnn_arena_bytes(g_blob, g_len, ESNN_MODE_ONESTEP, 0, &one, NULL);
        f = with_model();
        g = new_fixture(g_flash_mem, one - 16);
        CHECK(hello(g).active == 0xFF, "boot refuses a model that does not fit");
        r = upload(g, g_blob, g_len);
        EXPECT_PS(r, PS_INVALID_MODEL, "arena too small");
        CHECK((int32_t)pc_get32(r.payload) == ESNN_ERR_ARENA_TOO_SMALL &&
              pc_get32(r.payload + 4) == one && pc_get32(r.payload + 8) == one - 16, "diag");
        free(g);
        free(f);
    }
}

static void test_read_slot(void)
{
    fixture *f = with_model();
    uint8_t p[8];
    static uint8_t back[SLOT_IMAGE];
    uint32_t off = 0;
    pc_resp r;
    while (off < g_len) {
        uint32_t k = g_len - off < 1024u ? g_len - off : 1024u;
        p[0] = 0;
        p[1] = 0;
        pc_put16(p + 2, k);
        pc_put32(p + 4, off);
        r = req(f, READ_SLOT, p, 8);
        EXPECT_PS(r, PS_OK, "READ_SLOT");
        CHECK(r.len == k, "READ_SLOT length");
        memcpy(back + off, r.payload, k);
        off += k;
    }
    CHECK(memcmp(back, g_blob, g_len) == 0, "READ_SLOT image");
    pc_put16(p + 2, 2);
    pc_put32(p + 4, g_len - 1);
    EXPECT_PS(req(f, READ_SLOT, p, 8), PS_BAD_ARG, "past the end");
    pc_put16(p + 2, 0);
    pc_put32(p + 4, 0);
    EXPECT_PS(req(f, READ_SLOT, p, 8), PS_BAD_ARG, "length 0");
    pc_put16(p + 2, 1025);
    EXPECT_PS(req(f, READ_SLOT, p, 8), PS_BAD_ARG, "length 1025");
    p[0] = 2;
    pc_put16(p + 2, 1);
    EXPECT_PS(req(f, READ_SLOT, p, 8), PS_BAD_ARG, "slot 2");
    p[0] = 1;
    EXPECT_PS(req(f, READ_SLOT, p, 8), PS_NO_MODEL, "invalid slot 1");
    EXPECT_PS(req(f, READ_SLOT, p, 7), PS_BAD_LENGTH, "READ_SLOT 7 bytes");
    free(f);
}

static void test_lengths_and_frames(void)
{
    fixture *f = with_model();
    uint8_t frame[4000], body[64], junk[3000];
    uint32_t n, bad0, ok0, i;
    pc_resp r;
    EXPECT_PS(req(f, HELLO, body, 1), PS_BAD_LENGTH, "HELLO 1");
    EXPECT_PS(req(f, STATS, body, 2), PS_BAD_LENGTH, "STATS 2");
    EXPECT_PS(req(f, RESET, body, 1), PS_BAD_LENGTH, "RESET 1");
    CHECK(!esnn_device_reset_requested(&f->dev), "bad RESET reset");
    EXPECT_PS(req(f, BEGIN, body, 7), PS_BAD_LENGTH, "BEGIN 7");
    EXPECT_PS(req(f, COMMIT, body, 1), PS_BAD_LENGTH, "COMMIT 1");
    EXPECT_PS(req(f, ABORT, body, 1), PS_BAD_LENGTH, "ABORT 1");
    EXPECT_PS(req(f, 0x77, NULL, 0), PS_UNKNOWN_CMD, "unknown cmd");
    {
        static uint8_t big[1024];
        EXPECT_PS(req(f, BEGIN, big, 1024), PS_BAD_LENGTH, "BEGIN 1024");
    }
    ok0 = stat(f, ST_FRAMES_OK);
    bad0 = stat(f, ST_FRAMES_BAD);
    /* bad CRC */
    n = pc_frame(0xA5, HELLO, 900, NULL, 0, frame);
    memcpy(junk, frame, n);
    {
        uint8_t b[12];
        pc_put32(b, 0);  /* build a body with a wrong CRC by hand */
        b[0] = 0xA5; b[1] = HELLO; pc_put16(b + 2, 901); pc_put16(b + 4, 0); pc_put16(b + 6, 0);
        pc_put32(b + 8, esnn_crc32(0, b, 8) ^ 1u);
        n = pc_cobs_encode(b, 12, frame);
        frame[n++] = 0;
        CHECK(send_raw(f, frame, n, &r) == 0, "bad CRC answered");
        /* response kind in a request */
        b[0] = 0x5A;
        pc_put32(b + 8, esnn_crc32(0, b, 8));
        n = pc_cobs_encode(b, 12, frame);
        frame[n++] = 0;
        CHECK(send_raw(f, frame, n, &r) == 0, "wrong kind answered");
        /* payload_len mismatch */
        b[0] = 0xA5;
        pc_put16(b + 6, 1);
        pc_put32(b + 8, esnn_crc32(0, b, 8));
        n = pc_cobs_encode(b, 12, frame);
        frame[n++] = 0;
        CHECK(send_raw(f, frame, n, &r) == 0, "length mismatch answered");
        /* short body, broken COBS */
        n = pc_cobs_encode(b, 11, frame);
        frame[n++] = 0;
        CHECK(send_raw(f, frame, n, &r) == 0, "short body answered");
        frame[0] = 0x30; frame[1] = 1; frame[2] = 0;
        CHECK(send_raw(f, frame, 3, &r) == 0, "broken COBS answered");
    }
    CHECK(stat(f, ST_FRAMES_BAD) == bad0 + 5, "frames_bad %u", stat(f, ST_FRAMES_BAD) - bad0);
    /* empty frames: ignored, not counted */
    bad0 = stat(f, ST_FRAMES_BAD);
    CHECK(send_raw(f, (const uint8_t *)"\0\0\0", 3, &r) == 0, "empty frames answered");
    CHECK(stat(f, ST_FRAMES_BAD) == bad0, "empty frames counted");
    /* oversized garbage, then a good frame in the same buffer */
    for (i = 0; i < 2000; i++)
        junk[i] = (uint8_t)(1 + i % 255);
    junk[2000] = 0;
    n = pc_frame(0xA5, HELLO, 902, NULL, 0, junk + 2001);
    CHECK(send_raw(f, junk, 2001 + n, &r) == 1, "frame after oversize");
    CHECK(r.ok && r.seq == 902, "frame after oversize");
    CHECK(stat(f, ST_OVERSIZED) == 1, "oversized %u", stat(f, ST_OVERSIZED));
    /* exactly MAX_ENCODED garbage bytes is not oversized (it is a bad frame) */
    memset(junk, 0x55, ESNN_PROTO_MAX_ENCODED);
    junk[ESNN_PROTO_MAX_ENCODED] = 0;
    send_raw(f, junk, ESNN_PROTO_MAX_ENCODED + 1, &r);
    CHECK(stat(f, ST_OVERSIZED) == 1, "1048 bytes counted oversized");
    /* a lone 0x00 flushes a half frame */
    n = pc_frame(0xA5, HELLO, 903, NULL, 0, frame);
    esnn_device_rx(&f->dev, frame, n / 2);
    f->tx.len = 0;
    esnn_device_rx(&f->dev, (const uint8_t *)"", 1);
    n = pc_frame(0xA5, HELLO, 904, NULL, 0, frame);
    send_raw(f, frame, n, &r);
    CHECK(r.ok && r.seq == 904, "after flush");
    /* byte-by-byte delivery */
    n = pc_frame(0xA5, STATS, 905, NULL, 0, frame);
    f->tx.len = 0;
    for (i = 0; i < n; i++)
        esnn_device_rx(&f->dev, frame + i, 1);
    pc_parse(f->tx.buf, f->tx.len, &r);
    CHECK(r.ok && r.seq == 905 && r.cmd == STATS, "byte by byte");
    CHECK(pc_get32(r.payload + 4 * ST_FRAMES_OK) > ok0, "frames_ok");
    /* the largest payload in and out */
    {
        static uint8_t p[1024];
        n = pc_frame(0xA5, CHUNK, 906, p, 1024, frame);
        CHECK(n <= ESNN_PROTO_MAX_ENCODED + 1, "max frame size %u", n);
        send_raw(f, frame, n, &r);
        EXPECT_PS(r, PS_NO_SESSION, "max frame accepted");
    }
    free(f);
}

static void test_reset_and_boot(void)
{
    fixture *f = with_model();
    pc_resp r;
    uint8_t frame[64];
    uint32_t n;
    EXPECT_PS(upload(f, g_blob_b, g_len), PS_OK, "B");
    /* RESET drops the session and ignores bytes until the reboot */
    EXPECT_PS(begin(f, g_len, 1), PS_OK, "BEGIN");
    r = req(f, RESET, NULL, 0);
    EXPECT_PS(r, PS_OK, "RESET");
    CHECK(esnn_device_reset_requested(&f->dev), "reset_requested");
    n = pc_frame(0xA5, HELLO, 1000, NULL, 0, frame);
    CHECK(send_raw(f, frame, n, &r) == 0, "answered while rebooting");
    boot(f, g_flash_mem, ARENA_BYTES);
    { hello_t hh = hello(f); CHECK(hh.active == 1, "B stays active: %u valid %u %u gen %u %u", hh.active, hh.valid[0], hh.valid[1], hh.gen[0], hh.gen[1]); }
    EXPECT_PS(req(f, COMMIT, NULL, 0), PS_NO_SESSION, "session gone after RESET");
    /* slot 0 was invalidated by the BEGIN: only B remains */
    CHECK(!hello(f).valid[0], "slot 0 invalidated by BEGIN");
    /* rot the active image: a boot falls back to the older valid slot */
    EXPECT_PS(upload(f, g_blob_c, g_len), PS_OK, "C into slot 0");
    CHECK(hello(f).active == 0, "C active");
    g_flash_mem[ESNN_SLOT_HEADER_BYTES + 100] ^= 1;
    boot(f, g_flash_mem, ARENA_BYTES);
    CHECK(hello(f).active == 1 && !hello(f).valid[0], "fallback to B after rot");
    /* a rotten header */
    g_flash_mem[FLASH_BYTES / 2 + 5] ^= 1;
    boot(f, g_flash_mem, ARENA_BYTES);
    CHECK(hello(f).active == 0xFF, "no valid slot");
    free(f);
}

/* Power cuts: flash snapshots after each chunk, and a sweep of cuts at every byte of
 * an upload's flash writes (header invalidation, image, the commit-point header). */
static void test_power_cut(void)
{
    static uint8_t base[FLASH_BYTES], work[FLASH_BYTES], snap[FLASH_BYTES];
    fixture *f;
    hello_t h;
    long b, total;
    uint32_t off, crc = esnn_crc32(0, g_blob_c, g_len), n_new = 0, n_old = 0;
    int bad = 0;
    pc_resp r;
    two_models(base);
    /* snapshots after each chunk */
    memcpy(work, base, sizeof work);
    f = new_fixture(work, ARENA_BYTES);
    r = begin(f, g_len, crc);
    for (off = 0; off <= g_len; off += 1020) {
        fixture *g;
        memcpy(snap, work, sizeof snap);
        g = new_fixture(snap, ARENA_BYTES);
        h = hello(g);
        CHECK(h.active == 1 && memcmp(slot_image(snap, 1), g_blob, g_len) == 0,
              "snapshot at %u: active %u", off, h.active);
        free(g);
        if (off < g_len)
            chunk(f, off, g_blob_c + off, g_len - off < 1020 ? g_len - off : 1020);
    }
    free(f);
    /* the byte sweep */
    memcpy(work, base, sizeof work);
    f = new_fixture(work, ARENA_BYTES);
    f->flash.written = 0;
    upload(f, g_blob_c, g_len);
    total = (long)f->flash.written;
    free(f);
    CHECK(total == 32 + (long)g_len + 32, "bytes an upload writes: %ld", total);
    for (b = 0; b <= total; b++) {
        fixture *g;
        memcpy(work, base, sizeof work);
        f = new_fixture(work, ARENA_BYTES);
        f->flash.budget = b;
        r = upload(f, g_blob_c, g_len);
        g = new_fixture(work, ARENA_BYTES);  /* power back on */
        h = hello(g);
        if (r.status == PS_OK) {
            n_new++;
            bad += !(h.active == 0 && h.gen[0] == 3 &&
                     memcmp(slot_image(work, 0), g_blob_c, g_len) == 0);
        } else {
            n_old++;
            bad += !(h.active == 1 && h.gen[1] == 2 &&
                     memcmp(slot_image(work, 1), g_blob, g_len) == 0);
            if (b < total)
                bad += r.status != PS_FLASH_ERROR;
        }
        if (bad) {
            CHECK(0, "power cut after %ld bytes: status %d active %u", b, r.status, h.active);
            free(g);
            free(f);
            break;
        }
        free(g);
        free(f);
    }
    CHECK(!bad && n_new == 1 && n_old == (uint32_t)total, "cuts: %u new, %u old", n_new, n_old);
    /* a torn header with garbage (not a prefix): never chosen */
    for (b = 0; b < 200; b++) {
        fixture *g;
        uint32_t i;
        memcpy(work, base, sizeof work);
        f = new_fixture(work, ARENA_BYTES);
        EXPECT_PS(upload(f, g_blob_c, g_len), PS_OK, "C");
        free(f);
        for (i = (uint32_t)(b % 32); i < 32; i++)
            work[i] = (uint8_t)rand();
        g = new_fixture(work, ARENA_BYTES);
        h = hello(g);
        CHECK(h.active == 1 || (h.active == 0 && memcmp(slot_image(work, 0), g_blob_c, g_len) ==
                                                     0),
              "torn header %ld: active %u", b, h.active);
        free(g);
    }
}

static void test_flash_errors(void)
{
    fixture *f = with_model();
    pc_resp r;
    f->flash.dead = 1;
    r = begin(f, g_len, esnn_crc32(0, g_blob_b, g_len));
    /* slot 1 is blank, so BEGIN needs no write; the first chunk fails */
    EXPECT_PS(r, PS_OK, "BEGIN on a blank slot");
    r = chunk(f, 0, g_blob_b, 100);
    EXPECT_PS(r, PS_FLASH_ERROR, "CHUNK on dead flash");
    f->flash.dead = 0;
    r = chunk(f, 0, g_blob_b, 100);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 100, "retry after a flash error");
    CHECK(hello(f).active == 0, "still active");
    free(f);
}

/* ---------------------------------------------------------------- fine-tuning */

/* FINETUNE_BEGIN's payload: the fields of esnn_train_config, little-endian. */
static void ft_pack(const esnn_train_config *c, uint8_t *p)
{
    uint32_t u;
    p[0] = c->mode;
    p[1] = c->trainable;
    p[2] = c->surrogate;
    p[3] = c->verify;
    pc_put16(p + 4, c->steps);
    pc_put16(p + 6, c->batch);
    memcpy(&u, &c->lr, 4);
    pc_put32(p + 8, u);
    memcpy(&u, &c->momentum, 4);
    pc_put32(p + 12, u);
    memcpy(&u, &c->slope, 4);
    pc_put32(p + 16, u);
    memcpy(&u, &c->logit_scale, 4);
    pc_put32(p + 20, u);
}

static esnn_train_config ft_cfg(uint8_t trainable, uint8_t mode, uint16_t batch, float lr)
{
    esnn_train_config c;
    memset(&c, 0, sizeof c);
    c.trainable = trainable;
    c.mode = mode;
    c.batch = batch;
    c.lr = lr;
    c.momentum = 0.9f;
    c.logit_scale = 1.0f / (16.0f * 64.0f);
    return c;
}

static pc_resp ft_begin(fixture *f, const esnn_train_config *c)
{
    uint8_t p[24];
    ft_pack(c, p);
    return req(f, FT_BEGIN, p, 24);
}

static float f32_of(const uint8_t *p)
{
    uint32_t u = pc_get32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* Deterministic training samples: inputs and labels. */
#define FT_N 12u
static uint8_t g_ft_x[FT_N][1024];
static uint32_t g_ft_y[FT_N];

static void ft_data(uint32_t nin)
{
    uint32_t i, j;
    for (i = 0; i < FT_N; i++) {
        for (j = 0; j < nin; j++)
            g_ft_x[i][j] = (uint8_t)((i * 37u + j * 11u + (j * j) % 7u) % 256u);
        g_ft_y[i] = (i * 7u) % 10u;
    }
}

static pc_resp ft_sample(fixture *f, uint32_t index, uint32_t label, uint8_t flags,
                         const uint8_t *x, uint32_t n)
{
    uint8_t p[1024];
    pc_put32(p, index);
    pc_put16(p + 4, label);
    p[6] = flags;
    p[7] = 0;
    memcpy(p + 8, x, n);
    return req(f, FT_SAMPLE, p, 8 + n);
}

/* The same run with the C engine directly: samples in order, a flush after each index
 * in `flush_at` (an epoch end), then the result. Returns its stats; *out gets a copy. */
static esnn_train_stats ft_direct(const esnn_train_config *c, uint32_t n, uint32_t flush_mask,
                                  uint8_t *out, uint32_t *out_len)
{
    static esnn_trainer tr;
    esnn_train_stats st;
    const uint8_t *res;
    uint8_t *arena = g_arena + ARENA_BYTES;  /* second half of the test arena */
    uint32_t i, nin = input_numel(g_blob, g_len);
    memset(&st, 0, sizeof st);
    CHECK(esnn_train_init(&tr, g_blob, g_len, c, arena, ARENA_BYTES, NULL) == ESNN_OK,
          "direct train init");
    for (i = 0; i < n; i++) {
        CHECK(esnn_train_sample(&tr, g_ft_x[i], nin, g_ft_y[i], NULL) == ESNN_OK, "direct sample");
        if (flush_mask & (1u << i))
            CHECK(esnn_train_flush(&tr, NULL) == ESNN_OK, "direct flush");
    }
    CHECK(esnn_train_flush(&tr, NULL) == ESNN_OK, "direct final flush");
    {
        esnn_diag dg;
        esnn_status rs = esnn_train_result(&tr, &res, out_len, &dg);
        CHECK(rs == ESNN_OK, "direct result: %d layer %d tensor %d %u %u", rs, dg.layer,
              dg.tensor, dg.expected, dg.actual);
        if (rs != ESNN_OK)
            return st;
    }
    memcpy(out, res, *out_len);
    esnn_train_get_stats(&tr, &st);
    return st;
}

/* Fine-tune over the protocol (A active in slot 0), commit, compare everything with the
 * direct run: the committed image byte for byte, the counters, the memory figures. */
static void ft_equals_direct(uint8_t trainable, uint8_t mode, uint16_t batch, float lr)
{
    static uint8_t want[SLOT_IMAGE], before[FLASH_BYTES];
    const uint32_t flush_mask = (1u << 4) | (1u << (FT_N - 1u)); /* two "epochs": 5 + 7 */
    fixture *f = with_model();
    esnn_train_config c = ft_cfg(trainable, mode, batch, lr);
    esnn_train_stats need, st;
    uint32_t nin = input_numel(g_blob, g_len), want_len = 0, i, n;
    uint8_t p[1024], frame[2200];
    hello_t h;
    pc_resp r;
    char what[64];
    sprintf(what, "trainable %u mode %u batch %u", trainable, mode, batch);
    st = ft_direct(&c, FT_N, flush_mask, want, &want_len);
    CHECK(esnn_train_arena_bytes(g_blob, g_len, &c, &need, NULL) == ESNN_OK, "need");
    memcpy(before, g_flash_mem, FLASH_BYTES);

    r = ft_begin(f, &c);
    EXPECT_PS(r, PS_OK, what);
    CHECK(r.len == 20 && pc_get32(r.payload) == need.arena_bytes &&
          pc_get32(r.payload + 4) == need.persistent_bytes &&
          pc_get32(r.payload + 8) == need.scratch_bytes && pc_get32(r.payload + 12) == ARENA_BYTES,
          "%s: BEGIN answer", what);
    CHECK(pc_get16(r.payload + 16) == pc_get16(g_blob + 24) && pc_get16(r.payload + 18) == 10,
          "%s: T %u classes %u", what, pc_get16(r.payload + 16), pc_get16(r.payload + 18));
    h = hello(f);
    CHECK(h.session == 2 && h.features == 3 && h.active == 0, "%s: HELLO in a session", what);
    /* inference and uploads wait for the session; reading a slot does not */
    memset(p, 0, 4 + nin);
    r = req(f, INFER, p, 4 + nin);
    CHECK(r.status == PS_BUSY && r.len == 1 && r.payload[0] == 2, "%s: INFER busy", what);
    r = begin(f, g_len, esnn_crc32(0, g_blob_b, g_len));
    CHECK(r.status == PS_BUSY && r.len == 1 && r.payload[0] == 2, "%s: UPLOAD busy", what);
    p[0] = 0;
    p[1] = 0;
    pc_put16(p + 2, 64);
    pc_put32(p + 4, 0);
    r = req(f, READ_SLOT, p, 8);
    CHECK(r.status == PS_OK && memcmp(r.payload, g_blob, 64) == 0, "%s: READ_SLOT", what);

    for (i = 0; i < FT_N; i++) {
        uint8_t flags = (flush_mask >> i) & 1u;
        uint32_t samples0 = stat(f, ST_FT_SAMPLES);
        pc_put32(p, i);
        pc_put16(p + 4, g_ft_y[i]);
        p[6] = flags;
        p[7] = 0;
        memcpy(p + 8, g_ft_x[i], nin);
        n = pc_frame(0xA5, FT_SAMPLE, (uint16_t)(2000 + i), p, 8 + nin, frame);
        send_raw(f, frame, n, &r);
        EXPECT_PS(r, PS_OK, what);
        CHECK(r.len == 28 && pc_get32(r.payload) == i + 1, "%s: samples after %u", what, i);
        CHECK(pc_get32(r.payload + 24) == 1000u, "%s: ticks", what);
        if (i == 3) {  /* a retransmission (same seq): the cached answer, nothing trained */
            pc_resp again;
            send_raw(f, frame, n, &again);
            CHECK(again.ok && again.len == r.len && memcmp(again.payload, r.payload, r.len) == 0,
                  "%s: retransmission answered from the cache", what);
            /* the same index with a new seq: a late duplicate, nothing trained */
            again = ft_sample(f, i, g_ft_y[i], flags, g_ft_x[i], nin);
            CHECK(again.status == PS_OK && pc_get32(again.payload) == i + 1 &&
                  pc_get32(again.payload + 24) == 0, "%s: duplicate index", what);
            again = ft_sample(f, 0, g_ft_y[0], 0, g_ft_x[0], nin);
            CHECK(again.status == PS_OK && pc_get32(again.payload) == i + 1, "%s: old index", what);
            /* a gap: refused with the next index */
            again = ft_sample(f, i + 2, g_ft_y[i], 0, g_ft_x[i], nin);
            CHECK(again.status == PS_BAD_ARG && again.len == 4 && pc_get32(again.payload) == i + 1,
                  "%s: gap", what);
            CHECK(stat(f, ST_FT_SAMPLES) == samples0 + 1, "%s: trained once", what);
        }
    }
    CHECK(pc_get32(r.payload + 4) == st.correct && pc_get32(r.payload + 8) == st.updates &&
          pc_get32(r.payload + 12) == st.saturated && f32_of(r.payload + 16) == st.loss_sum &&
          f32_of(r.payload + 20) == st.last_loss,
          "%s: counters %u/%u updates %u/%u loss %g/%g", what, pc_get32(r.payload + 4),
          st.correct, pc_get32(r.payload + 8), st.updates, (double)f32_of(r.payload + 16),
          (double)st.loss_sum);
    CHECK(memcmp(before, g_flash_mem, FLASH_BYTES) == 0, "%s: flash written before COMMIT", what);

    r = req(f, FT_COMMIT, NULL, 0);
    EXPECT_PS(r, PS_OK, what);
    CHECK(r.len == 68 && r.payload[0] == 1 && pc_get32(r.payload + 4) == 2 &&
          pc_get32(r.payload + 8) == want_len &&
          pc_get32(r.payload + 12) == esnn_crc32(0, want, want_len), "%s: COMMIT answer", what);
    CHECK(pc_get32(r.payload + 16) == st.arena_bytes && pc_get32(r.payload + 20) == st.persistent_bytes &&
          pc_get32(r.payload + 24) == st.scratch_bytes && pc_get32(r.payload + 28) == st.persistent_peak &&
          pc_get32(r.payload + 32) == st.scratch_peak && pc_get32(r.payload + 36) == FT_N &&
          pc_get32(r.payload + 40) == st.updates && pc_get32(r.payload + 44) == st.correct &&
          pc_get32(r.payload + 48) == st.saturated && f32_of(r.payload + 60) == st.loss_sum,
          "%s: COMMIT stats (peaks %u/%u)", what, pc_get32(r.payload + 28), pc_get32(r.payload + 32));
    CHECK(st.persistent_peak > 0 && st.scratch_peak > 0, "%s: peaks measured", what);
    CHECK(memcmp(slot_image(g_flash_mem, 1), want, want_len) == 0,
          "%s: committed image differs from the direct run", what);
    CHECK(memcmp(slot_image(g_flash_mem, 0), g_blob, g_len) == 0, "%s: old slot intact", what);
    h = hello(f);
    CHECK(h.active == 1 && h.gen[1] == 2 && h.valid[0] && h.valid[1] && h.session == 0 &&
          h.len[1] == want_len, "%s: HELLO after COMMIT", what);
    CHECK(stat(f, ST_FT_COMMITTED) == 1 && stat(f, ST_COMMITTED) == 1, "%s: counters", what);
    EXPECT_PS(ft_sample(f, FT_N, 0, 0, g_ft_x[0], nin), PS_NO_SESSION, "SAMPLE after COMMIT");
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_NO_SESSION, "COMMIT after COMMIT");
    /* the new model runs: the same outputs as the direct result */
    {
        esnn_model m;
        esnn_tensor out;
        CHECK(esnn_init(&m, want, want_len, g_arena + ARENA_BYTES, ARENA_BYTES, NULL) == ESNN_OK &&
              esnn_invoke(&m, g_ft_x[0], nin, ESNN_MODE_ONESTEP, 0, NULL) == ESNN_OK &&
              esnn_output(&m, &out) == ESNN_OK, "direct invoke");
        p[0] = p[1] = p[2] = p[3] = 0;
        memcpy(p + 4, g_ft_x[0], nin);
        r = req(f, INFER, p, 4 + nin);
        EXPECT_PS(r, PS_OK, "INFER after COMMIT");
        CHECK(out.dtype == ESNN_DTYPE_I32 && r.len == 12 + 4 * out.numel &&
              (int32_t)pc_get32(r.payload + 12) == ((const int32_t *)out.data)[0] &&
              (int32_t)pc_get32(r.payload + 12 + 4 * (out.numel - 1)) ==
                  ((const int32_t *)out.data)[out.numel - 1], "%s: INFER outputs", what);
    }
    /* a reboot keeps the fine-tuned model */
    boot(f, g_flash_mem, ARENA_BYTES);
    h = hello(f);
    CHECK(h.active == 1 && h.gen[1] == 2, "%s: after reboot", what);
    free(f);
}

static void test_finetune_equals_direct(void)
{
    ft_data(input_numel(g_blob, g_len));
    ft_equals_direct(ESNN_TRAIN_HEAD, ESNN_TRAIN_REVERSIBLE, 1, 0.05f);
    ft_equals_direct(ESNN_TRAIN_HEAD, ESNN_TRAIN_REVERSIBLE, 3, 0.05f);
    ft_equals_direct(ESNN_TRAIN_BIAS, ESNN_TRAIN_REVERSIBLE, 2, 0.002f);
    ft_equals_direct(ESNN_TRAIN_ALL, ESNN_TRAIN_REVERSIBLE, 1, 0.001f);
    ft_equals_direct(ESNN_TRAIN_HEAD, ESNN_TRAIN_STORED, 4, 0.05f);
}

static void test_finetune_refusals(void)
{
    fixture *f;
    static uint8_t before[FLASH_BYTES];
    esnn_train_config c = ft_cfg(ESNN_TRAIN_HEAD, ESNN_TRAIN_REVERSIBLE, 1, 0.05f), bad;
    esnn_train_stats need;
    uint32_t nin = input_numel(g_blob, g_len), i;
    uint8_t p[64];
    pc_resp r;
    ft_data(nin);
    /* no model */
    memset(g_flash_mem, 0, sizeof g_flash_mem);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_begin(f, &c), PS_NO_MODEL, "BEGIN without a model");
    free(f);

    f = with_model();
    memcpy(before, g_flash_mem, FLASH_BYTES);
    /* lengths and commands without a session */
    memset(p, 0, sizeof p);
    EXPECT_PS(req(f, FT_BEGIN, p, 23), PS_BAD_LENGTH, "BEGIN 23");
    EXPECT_PS(req(f, FT_BEGIN, p, 25), PS_BAD_LENGTH, "BEGIN 25");
    EXPECT_PS(req(f, FT_BEGIN, NULL, 0), PS_BAD_LENGTH, "BEGIN 0");
    EXPECT_PS(req(f, FT_SAMPLE, p, 7), PS_BAD_LENGTH, "SAMPLE 7");
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "SAMPLE without BEGIN");
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_NO_SESSION, "COMMIT without BEGIN");
    EXPECT_PS(req(f, FT_COMMIT, p, 1), PS_BAD_LENGTH, "COMMIT 1");
    EXPECT_PS(req(f, FT_ABORT, NULL, 0), PS_OK, "ABORT without a session");
    EXPECT_PS(req(f, FT_ABORT, p, 1), PS_BAD_LENGTH, "ABORT 1");
    /* bad configurations: the engine's status and numbers */
    {
        const float nan = 0.0f / 0.0f;
        struct { int field; float v; int32_t want; } cases[] = {
            {0, 2, ESNN_ERR_CONFIG}, {1, 3, ESNN_ERR_CONFIG}, {2, 2, ESNN_ERR_CONFIG},
            {3, 2, ESNN_ERR_CONFIG}, {4, 1.0f, ESNN_ERR_CONFIG}, {5, -1.0f, ESNN_ERR_CONFIG},
            {6, 64, ESNN_ERR_STEPS}, {7, 0, ESNN_ERR_CONFIG}};
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            bad = c;
            switch (cases[i].field) {
            case 0: bad.mode = (uint8_t)cases[i].v; break;
            case 1: bad.trainable = (uint8_t)cases[i].v; break;
            case 2: bad.surrogate = (uint8_t)cases[i].v; break;
            case 3: bad.verify = (uint8_t)cases[i].v; break;
            case 4: bad.momentum = cases[i].v; break;
            case 5: bad.lr = cases[i].v; break;
            case 6: bad.steps = (uint16_t)cases[i].v; break;
            default: bad.lr = nan; break;
            }
            r = ft_begin(f, &bad);
            CHECK(r.status == PS_RUNTIME_ERROR && r.len == 16 &&
                  (int32_t)pc_get32(r.payload) == cases[i].want,
                  "config case %u: status %d esnn %d", i, r.status, (int32_t)pc_get32(r.payload));
        }
    }
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "no session after refusal");
    /* a session: bad samples are refused without an effect */
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN");
    r = ft_sample(f, 0, 1, 0, g_ft_x[0], nin - 1);
    CHECK(r.status == PS_RUNTIME_ERROR && r.len == 16 &&
          (int32_t)pc_get32(r.payload) == ESNN_ERR_INPUT_SIZE && pc_get32(r.payload + 4) == nin &&
          pc_get32(r.payload + 8) == nin - 1, "short input");
    r = ft_sample(f, 0, 1, 0, g_ft_x[0], nin + 1);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_INPUT_SIZE,
          "long input");
    r = ft_sample(f, 0, 10, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_LABEL &&
          pc_get32(r.payload + 4) == 9 && pc_get32(r.payload + 8) == 10, "label 10");
    r = ft_sample(f, 0, 0xFFFF, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_LABEL,
          "label 65535");
    EXPECT_PS(ft_sample(f, 0, 1, 0x02, g_ft_x[0], nin), PS_BAD_ARG, "unknown flag");
    {
        uint8_t q[1024];
        pc_put32(q, 0);
        pc_put16(q + 4, 1);
        q[6] = 0;
        q[7] = 1;
        memcpy(q + 8, g_ft_x[0], nin);
        EXPECT_PS(req(f, FT_SAMPLE, q, 8 + nin), PS_BAD_ARG, "reserved byte");
    }
    r = ft_sample(f, 0, 1, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_OK && pc_get32(r.payload) == 1, "the first good sample is index 0");
    /* an upload session cannot start; a fine-tuning BEGIN restarts the session */
    r = ft_begin(f, &c);
    EXPECT_PS(r, PS_OK, "BEGIN again");
    r = ft_sample(f, 1, 1, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_BAD_ARG && pc_get32(r.payload) == 0, "restarted at index 0");
    /* ABORT: nothing written, inference back */
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_OK, "sample");
    EXPECT_PS(req(f, FT_ABORT, NULL, 0), PS_OK, "ABORT");
    EXPECT_PS(ft_sample(f, 1, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "SAMPLE after ABORT");
    CHECK(hello(f).session == 0, "HELLO session after ABORT");
    CHECK(memcmp(before, g_flash_mem, FLASH_BYTES) == 0, "an aborted session wrote flash");
    memset(p, 0, 4);
    {
        uint8_t q[1024];
        memset(q, 0, 4);
        memcpy(q + 4, g_ft_x[0], nin);
        EXPECT_PS(req(f, INFER, q, 4 + nin), PS_OK, "INFER after ABORT");
    }
    /* an open upload session: BEGIN is busy until the upload ends */
    EXPECT_PS(begin(f, g_len, esnn_crc32(0, g_blob_b, g_len)), PS_OK, "UPLOAD_BEGIN");
    r = ft_begin(f, &c);
    CHECK(r.status == PS_BUSY && r.len == 1 && r.payload[0] == 1, "BEGIN busy during an upload");
    CHECK(hello(f).session == 1, "HELLO session upload");
    EXPECT_PS(req(f, ABORT, NULL, 0), PS_OK, "UPLOAD_ABORT");
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN after the upload's ABORT");
    /* RESET ends the session; the old model stays */
    EXPECT_PS(ft_sample(f, 0, 3, 0, g_ft_x[1], nin), PS_OK, "sample");
    EXPECT_PS(req(f, RESET, NULL, 0), PS_OK, "RESET");
    boot(f, g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_sample(f, 1, 3, 0, g_ft_x[1], nin), PS_NO_SESSION, "session gone after RESET");
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_NO_SESSION, "COMMIT after RESET");
    CHECK(hello(f).active == 0 && hello(f).session == 0, "A active after RESET");
    free(f);

    /* a board whose arena is too small: the need in the answer */
    CHECK(esnn_train_arena_bytes(g_blob, g_len, &c, &need, NULL) == ESNN_OK, "need");
    f = with_model();
    boot(f, g_flash_mem, need.arena_bytes - 16);
    r = ft_begin(f, &c);
    CHECK(r.status == PS_ARENA_TOO_SMALL && r.len == 16 && pc_get32(r.payload) == need.arena_bytes &&
          pc_get32(r.payload + 4) == need.persistent_bytes &&
          pc_get32(r.payload + 8) == need.scratch_bytes &&
          pc_get32(r.payload + 12) == need.arena_bytes - 16, "ARENA_TOO_SMALL numbers");
    EXPECT_PS(ft_sample(f, 0, 1, 0, g_ft_x[0], nin), PS_NO_SESSION, "no session");
    boot(f, g_flash_mem, need.arena_bytes);
    EXPECT_PS(ft_begin(f, &c), PS_OK, "the exact arena is enough");
    free(f);

    /* a diverging run: the session refuses to go on, nothing is written */
    f = with_model();
    bad = c;
    bad.lr = 1.0f;
    bad.logit_scale = 3.0e38f;
    EXPECT_PS(ft_begin(f, &bad), PS_OK, "BEGIN (diverging)");
    for (i = 0; i < FT_N; i++) {
        r = ft_sample(f, i, g_ft_y[i], 0, g_ft_x[i], nin);
        if (r.status != PS_OK)
            break;
    }
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_DIVERGED,
          "diverged after %u samples: status %d esnn %d", i, r.status, (int32_t)pc_get32(r.payload));
    r = ft_sample(f, i + 1, 0, 0, g_ft_x[0], nin);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_DIVERGED,
          "later samples repeat it");
    r = req(f, FT_COMMIT, NULL, 0);
    CHECK(r.status == PS_RUNTIME_ERROR && (int32_t)pc_get32(r.payload) == ESNN_ERR_DIVERGED,
          "COMMIT refused");
    CHECK(hello(f).active == 0 && !hello(f).valid[1], "nothing committed");
    EXPECT_PS(req(f, FT_ABORT, NULL, 0), PS_OK, "ABORT");
    EXPECT_PS(ft_begin(f, &c), PS_OK, "a new session after the failure");
    free(f);
}

/* Power cuts during FINETUNE_COMMIT at every byte of its flash writes (header
 * invalidation, image, commit-point header), and the retries after a flash error. */
static void test_finetune_power_cut(void)
{
    static uint8_t base[FLASH_BYTES], want[SLOT_IMAGE], snap[FLASH_BYTES];
    esnn_train_config c = ft_cfg(ESNN_TRAIN_BIAS, ESNN_TRAIN_REVERSIBLE, 2, 0.002f);
    uint32_t nin = input_numel(g_blob, g_len), want_len = 0, i, n_new = 0, n_old = 0;
    long b, total;
    int bad = 0;
    fixture *f, *g;
    pc_resp r;
    ft_data(nin);
    ft_direct(&c, 5, 0, want, &want_len);
    two_models(base);
    /* how many bytes a commit writes */
    memcpy(g_flash_mem, base, sizeof base);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN");
    for (i = 0; i < 5; i++)
        EXPECT_PS(ft_sample(f, i, g_ft_y[i], 0, g_ft_x[i], nin), PS_OK, "sample");
    /* a dead flash: FLASH_ERROR, the session stays open, A stays active */
    f->flash.dead = 1;
    EXPECT_PS(req(f, FT_COMMIT, NULL, 0), PS_FLASH_ERROR, "COMMIT on dead flash");
    CHECK(hello(f).active == 1 && hello(f).session == 2, "after the flash error");
    f->flash.dead = 0;
    f->flash.written = 0;
    r = req(f, FT_COMMIT, NULL, 0);
    EXPECT_PS(r, PS_OK, "COMMIT retried");
    total = (long)f->flash.written;
    CHECK(total == 32 + (long)want_len + 32, "bytes a commit writes: %ld", total);
    CHECK(r.payload[0] == 0 && pc_get32(r.payload + 4) == 3 &&
          memcmp(slot_image(g_flash_mem, 0), want, want_len) == 0, "retried commit's image");
    free(f);
    /* one session, a commit with a power cut after each byte: the flash is restored to
     * the base before every attempt, and a fresh device boots on a copy of what is left */
    memcpy(g_flash_mem, base, sizeof base);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    EXPECT_PS(ft_begin(f, &c), PS_OK, "BEGIN");
    for (i = 0; i < 5; i++)
        EXPECT_PS(ft_sample(f, i, g_ft_y[i], 0, g_ft_x[i], nin), PS_OK, "sample");
    for (b = 0; b <= total && !bad; b++) {
        hello_t h;
        memcpy(g_flash_mem, base, sizeof base);
        f->flash.budget = b;
        f->flash.dead = 0;
        r = req(f, FT_COMMIT, NULL, 0);
        memcpy(snap, g_flash_mem, sizeof snap);
        g = new_fixture(snap, ARENA_BYTES);  /* power back on */
        h = hello(g);
        if (r.status == PS_OK) {
            n_new++;
            bad += !(b == total && h.active == 0 && h.gen[0] == 3 &&
                     memcmp(slot_image(snap, 0), want, want_len) == 0);
        } else {
            n_old++;
            bad += !(r.status == PS_FLASH_ERROR && h.active == 1 && h.gen[1] == 2 &&
                     memcmp(slot_image(snap, 1), g_blob, g_len) == 0);
        }
        if (bad)
            CHECK(0, "power cut after %ld bytes: status %d active %u", b, r.status, h.active);
        free(g);
    }
    CHECK(!bad && n_new == 1 && n_old == (uint32_t)total, "cuts: %u new, %u old", n_new, n_old);
    free(f);
}

static void peaks_fake(void *ctx, uint32_t *out)
{
    (void)ctx;
    out[0] = 111u;
    out[1] = 222u;
    out[2] = 333u;
}

static void test_stats_peaks(void)
{
    fixture *f = with_model();
    CHECK(stat(f, ST_STACK_PEAK) == 0 && stat(f, ST_ARENA_PEAK) == 0, "no peaks callback");
    f->dev.board.peaks = peaks_fake;  /* what a board with painted memory reports */
    CHECK(stat(f, ST_STACK_PEAK) == 111u && stat(f, ST_STACK_BYTES) == 222u &&
          stat(f, ST_ARENA_PEAK) == 333u, "peaks from the board");
    free(f);
}

int main(int argc, char **argv)
{
    FILE *fp;
    static uint8_t buf[SLOT_IMAGE + 1];
    void *raw;
    if (argc < 2) {
        fprintf(stderr, "usage: %s BLOB\n", argv[0]);
        return 2;
    }
    fp = fopen(argv[1], "rb");
    if (!fp) {
        perror(argv[1]);
        return 2;
    }
    g_len = (uint32_t)fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    if (g_len == 0 || g_len > SLOT_IMAGE - 64 || esnn_validate(buf, g_len, NULL, NULL) != ESNN_OK) {
        fprintf(stderr, "%s: not a valid blob of at most %u bytes\n", argv[1], SLOT_IMAGE - 64);
        return 2;
    }
    g_blob = buf;
    {
        uint32_t steps = pc_get16(buf + 24);
        g_blob_b = variant(buf, g_len, steps == 1 ? 2 : steps - 1);
        g_blob_c = variant(buf, g_len, steps >= 62 ? 1 : steps + 1);
    }
    raw = malloc(2 * ARENA_BYTES + 16);
    g_arena = (uint8_t *)raw + (16 - (uintptr_t)raw % 16) % 16;
    srand(1234);

    test_cobs();
    test_empty_flash();
    test_upload_commit();
    test_infer_matches_runtime();
    test_duplicates();
    test_resume_and_offsets();
    test_refusals();
    test_read_slot();
    test_lengths_and_frames();
    test_reset_and_boot();
    test_power_cut();
    test_flash_errors();
    test_finetune_equals_direct();
    test_finetune_refusals();
    test_finetune_power_cut();
    test_stats_peaks();

    free(raw);
    free(g_blob_b);
    free(g_blob_c);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
