/* test_device_support.c - the device tests' fixture (test_device.h): a device on a
 * RAM flash with a tx capture buffer, requests and uploads through proto_client.h, and
 * the blobs under test. */
#include "test_device.h"

int g_pass, g_fail;

uint8_t g_flash_mem[FLASH_BYTES];
uint8_t *g_arena;
const uint8_t *g_blob;   /* the blob from argv ("A") */
uint8_t *g_blob_b;       /* a second valid blob: A with another default_steps */
uint8_t *g_blob_c;       /* a third: yet another default_steps */
uint32_t g_len;

static uint32_t fake_ticks(void *ctx)
{
    fixture *f = (fixture *)ctx;
    return f->tick += 1000u;
}

void boot(fixture *f, uint8_t *flash_mem, uint32_t arena_bytes)
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
fixture *new_fixture(uint8_t *flash_mem, uint32_t arena_bytes)
{
    fixture *f = (fixture *)calloc(1, sizeof *f);
    boot(f, flash_mem, arena_bytes);
    return f;
}

/* Send raw bytes; parse the single response, if any. Returns the number of tx calls. */
uint32_t send_raw(fixture *f, const uint8_t *bytes, uint32_t n, pc_resp *r)
{
    uint32_t calls = f->tx.calls;
    f->tx.len = 0;
    esnn_device_rx(&f->dev, bytes, n);
    pc_parse(f->tx.buf, f->tx.len, r);
    return f->tx.calls - calls;
}

/* Send a request with an explicit seq. */
pc_resp req_seq(fixture *f, uint8_t cmd, uint16_t seq, const uint8_t *p, uint32_t n)
{
    uint8_t frame[2200];
    pc_resp r;
    uint32_t len = pc_frame(0xA5, cmd, seq, p, n, frame);
    send_raw(f, frame, len, &r);
    CHECK(r.ok && r.cmd == cmd && r.seq == seq && r.raw_len == f->tx.len,
          "response to cmd 0x%02x seq %u: ok %d cmd 0x%02x seq %u", cmd, seq, r.ok, r.cmd, r.seq);
    return r;
}

pc_resp req(fixture *f, uint8_t cmd, const uint8_t *p, uint32_t n)
{
    return req_seq(f, cmd, ++f->seq, p, n);
}

uint32_t stat_of(fixture *f, int i)
{
    pc_resp r = req(f, STATS, NULL, 0);
    return r.len == 4 * ST_COUNT ? pc_get32(r.payload + 4 * i) : 0xDEADBEEFu;
}

pc_resp begin(fixture *f, uint32_t size, uint32_t crc)
{
    uint8_t p[8];
    pc_put32(p, size);
    pc_put32(p + 4, crc);
    return req(f, BEGIN, p, 8);
}

pc_resp chunk(fixture *f, uint32_t off, const uint8_t *data, uint32_t n)
{
    uint8_t p[1024];
    pc_put32(p, off);
    memcpy(p + 4, data, n);
    return req(f, CHUNK, p, 4 + n);
}

/* BEGIN + 1020-byte chunks + COMMIT; returns the COMMIT response. */
pc_resp upload(fixture *f, const uint8_t *img, uint32_t n)
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
void two_models(uint8_t *flash_mem)
{
    fixture *f;
    memset(flash_mem, 0, FLASH_BYTES);
    f = new_fixture(flash_mem, ARENA_BYTES);
    EXPECT_PS(upload(f, g_blob_b, g_len), PS_OK, "B");
    EXPECT_PS(upload(f, g_blob, g_len), PS_OK, "A");
    free(f);
}

hello_t hello(fixture *f)
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
        /* then u32 idle limit, u32 idle time (the session idle rule) */
        if (s <= 16 && 58 + n + s + 8 == r.len)
            memcpy(h.version, r.payload + 58 + n, s);
    }
    CHECK(58 + n + strlen(h.version) + 8 == r.len, "HELLO length %u", r.len);
    return h;
}

const uint8_t *slot_image(const uint8_t *flash, int s)
{
    return flash + (uint32_t)s * (FLASH_BYTES / 2u) + ESNN_SLOT_HEADER_BYTES;
}

/* A second valid blob: same network, another default T (the CRC is fixed up). */
uint8_t *variant(const uint8_t *blob, uint32_t n, uint32_t steps)
{
    uint8_t *b = (uint8_t *)malloc(n);
    memcpy(b, blob, n);
    pc_put16(b + 24, steps);
    pc_put32(b + 12, esnn_crc32(0, b + 16, pc_get32(b + 8) - 16));
    return b;
}

uint32_t input_numel(const uint8_t *blob, uint32_t n)
{
    esnn_info info;
    return esnn_validate(blob, n, &info, NULL) == ESNN_OK ? info.input_numel : 0;
}

/* Commit blob A into a fresh flash; returns the fixture. */
fixture *with_model(void)
{
    fixture *f;
    pc_resp r;
    memset(g_flash_mem, 0, sizeof g_flash_mem);
    f = new_fixture(g_flash_mem, ARENA_BYTES);
    r = upload(f, g_blob, g_len);
    EXPECT_PS(r, PS_OK, "upload A");
    return f;
}
