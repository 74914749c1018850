/* test_device_protocol.c - the protocol without fine-tuning: COBS, an empty flash,
 * uploads and commits, INFER against the runtime, duplicates and resumes, refusals,
 * READ_SLOT, lengths and frames, RESET and boot, power cuts, flash errors, STATS peaks. */
#include "test_device.h"

/* ---------------------------------------------------------------- tests */

void test_cobs(void)
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

void test_empty_flash(void)
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
    CHECK(h.session == 0 && h.features == 7, "session %u features %u", h.session, h.features);
    CHECK(strcmp(h.name, "unit-test-board") == 0, "name '%s'", h.name);
    CHECK(strcmp(h.version, ESNN_RUNTIME_VERSION) == 0, "version '%s'", h.version);
    r = req(f, INFER, p, 4);
    EXPECT_PS(r, PS_NO_MODEL, "INFER without model");
    r = req(f, READ_SLOT, (pc_put16(p + 2, 16), p), 8);
    EXPECT_PS(r, PS_NO_MODEL, "READ_SLOT without model");
    CHECK(stat_of(f, ST_BOOTS) == 1, "boots");
    free(f);
}

void test_upload_commit(void)
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
    CHECK(stat_of(f, ST_COMMITTED) == 3, "uploads_committed");
    /* a reboot picks the highest generation */
    boot(f, g_flash_mem, ARENA_BYTES);
    h = hello(f);
    CHECK(h.active == 0 && h.gen[0] == 3 && h.gen[1] == 2, "boot picks gen 3");
    free(f);
}

void test_infer_matches_runtime(void)
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
    CHECK(stat_of(f, ST_INVOCATIONS) == 24, "invocations");
    CHECK(stat_of(f, ST_LAST_TICKS) == 1000u, "last_ticks");
    {
        uint32_t need;
        esnn_arena_bytes(g_blob, g_len, ESNN_MODE_TSTEP, 1 + 23 % 7, &need, NULL);
        CHECK(stat_of(f, ST_ARENA_USED) == need, "arena_used %u want %u", stat_of(f, ST_ARENA_USED),
              need);
        CHECK(stat_of(f, ST_ARENA_BYTES) == ARENA_BYTES, "arena_bytes");
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

void test_duplicates(void)
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
    CHECK(stat_of(f, ST_INVOCATIONS) == 1, "duplicated INFER executed again");
    /* after a reset, nothing is cached: the same seq executes */
    r = req_seq(f, RESET, 7, NULL, 0);
    EXPECT_PS(r, PS_OK, "RESET");
    CHECK(esnn_device_reset_requested(&f->dev), "reset requested");
    boot(f, g_flash_mem, ARENA_BYTES);
    CHECK(!esnn_device_reset_requested(&f->dev), "reset cleared");
    n = pc_frame(0xA5, INFER, 501, p, 4 + nin, frame);
    send_raw(f, frame, n, &r);
    EXPECT_PS(r, PS_OK, "INFER after reset");
    CHECK(stat_of(f, ST_INVOCATIONS) == 2, "counters survive a reset, INFER re-executed");
    CHECK(stat_of(f, ST_BOOTS) == 2, "boots counted");
    free(f);
}

void test_resume_and_offsets(void)
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
    uint32_t off = 0, rejected = stat_of(f, ST_REJECTED);
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
    CHECK(stat_of(f, ST_REJECTED) == rejected + 1, "%s: uploads_rejected", what);
    r = req(f, COMMIT, NULL, 0);
    EXPECT_PS(r, PS_NO_SESSION, "session dropped");
    boot(f, g_flash_mem, f->board.arena_bytes);
    CHECK(hello(f).active == a, "%s: reboot changed the model", what);
}

void test_refusals(void)
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

void test_read_slot(void)
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

void test_lengths_and_frames(void)
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
    ok0 = stat_of(f, ST_FRAMES_OK);
    bad0 = stat_of(f, ST_FRAMES_BAD);
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
    CHECK(stat_of(f, ST_FRAMES_BAD) == bad0 + 5, "frames_bad %u", stat_of(f, ST_FRAMES_BAD) - bad0);
    /* empty frames: ignored, not counted */
    bad0 = stat_of(f, ST_FRAMES_BAD);
    CHECK(send_raw(f, (const uint8_t *)"\0\0\0", 3, &r) == 0, "empty frames answered");
    CHECK(stat_of(f, ST_FRAMES_BAD) == bad0, "empty frames counted");
    /* oversized garbage, then a good frame in the same buffer */
    for (i = 0; i < 2000; i++)
        junk[i] = (uint8_t)(1 + i % 255);
    junk[2000] = 0;
    n = pc_frame(0xA5, HELLO, 902, NULL, 0, junk + 2001);
    CHECK(send_raw(f, junk, 2001 + n, &r) == 1, "frame after oversize");
    CHECK(r.ok && r.seq == 902, "frame after oversize");
    CHECK(stat_of(f, ST_OVERSIZED) == 1, "oversized %u", stat_of(f, ST_OVERSIZED));
    /* exactly MAX_ENCODED garbage bytes is not oversized (it is a bad frame) */
    memset(junk, 0x55, ESNN_PROTO_MAX_ENCODED);
    junk[ESNN_PROTO_MAX_ENCODED] = 0;
    send_raw(f, junk, ESNN_PROTO_MAX_ENCODED + 1, &r);
    CHECK(stat_of(f, ST_OVERSIZED) == 1, "1048 bytes counted oversized");
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

void test_reset_and_boot(void)
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
void test_power_cut(void)
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

void test_flash_errors(void)
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

static void peaks_fake(void *ctx, uint32_t *out)
{
    (void)ctx;
    out[0] = 111u;
    out[1] = 222u;
    out[2] = 333u;
}

void test_stats_peaks(void)
{
    fixture *f = with_model();
    CHECK(stat_of(f, ST_STACK_PEAK) == 0 && stat_of(f, ST_ARENA_PEAK) == 0, "no peaks callback");
    f->dev.board.peaks = peaks_fake;  /* what a board with painted memory reports */
    CHECK(stat_of(f, ST_STACK_PEAK) == 111u && stat_of(f, ST_STACK_BYTES) == 222u &&
          stat_of(f, ST_ARENA_PEAK) == 333u, "peaks from the board");
    free(f);
}
