/* fuzz_protocol.c - a deterministic fuzzer of the device side of the serial protocol.
 *
 *   fuzz_protocol BLOB [FRAMES] [SEED]      (FRAMES default 200000)
 *
 * Boots a device with BLOB committed, then feeds FRAMES inputs: random bytes, oversized
 * garbage, well-formed requests with random cmd/seq/fields (random UPLOAD_* sequences
 * with wrong CRCs and sizes, INFER/READ_SLOT with random fields, FINETUNE_* sessions
 * with valid and invalid configurations, samples at right and wrong indices, random
 * labels and lengths, commits and aborts, RESETs), truncated frames, bad CRCs and
 * bit-flipped frames. After every input it checks that the active slot and its flash
 * bytes are unchanged (the fuzzer never supplies a correct image + CRC; a genuine
 * FINETUNE_COMMIT, which is legitimate, becomes the new reference), that no flash write
 * touched the active slot and that every byte sent back parses as a response frame;
 * every 1000 inputs and at the end a real INFER must give the reference outputs (after
 * a FINETUNE_ABORT, as a host would send). Build with the sanitizers (make fuzz-protocol). */
#include "edgesnn.h"
#include "proto_client.h"

#define SLOT_IMAGE 16384u
#define FLASH_BYTES (2u * (ESNN_SLOT_HEADER_BYTES + SLOT_IMAGE))
#define HALF (FLASH_BYTES / 2u)
#define ARENA_BYTES (256u * 1024u)

static long g_pass, g_fail;
#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            g_pass++;                                                     \
        } else {                                                          \
            g_fail++;                                                     \
            printf("FAIL frame %lu: %s: ", g_frame, #cond);               \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
            if (g_fail > 20) {                                            \
                printf("%ld passed, %ld failed\n", g_pass, g_fail);       \
                exit(1);                                                  \
            }                                                             \
        }                                                                 \
    } while (0)

static unsigned long g_frame;
static uint64_t g_rng;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}
static uint32_t rn(uint32_t n) { return n ? rnd() % n : 0; }

static uint8_t g_flash[FLASH_BYTES];
static uint8_t g_snap[HALF];
static uint8_t *g_arena;
static esnn_device g_dev;
static esnn_board g_board;
static pc_flash g_fl;
static pc_tx g_tx;
static long g_bad_writes;

/* Every flash write must stay out of the active slot. */
static int flash_write(void *ctx, uint32_t off, const uint8_t *data, uint32_t len)
{
    if (g_dev.active <= 1u) {
        uint32_t lo = g_dev.active * HALF, hi = lo + HALF;
        if (off < hi && off + len > lo)
            g_bad_writes++;
    }
    return pc_flash_write(ctx, off, data, len);
}

static void boot(void)
{
    CHECK(esnn_device_init(&g_dev, &g_board) == ESNN_OK, "init");
}

/* Parse every frame the device sent; returns the last one in *last. */
static uint32_t check_tx(pc_resp *last)
{
    uint32_t at = 0, frames = 0;
    memset(last, 0, sizeof *last);
    while (at < g_tx.len) {
        pc_resp r;
        pc_parse(g_tx.buf + at, g_tx.len - at, &r);
        CHECK(r.ok && r.status >= 0 && r.status <= 13, "malformed response at %u", at);
        if (!r.ok)
            break;
        *last = r;
        at += r.raw_len;
        frames++;
    }
    return frames;
}

static void send(const uint8_t *bytes, uint32_t n)
{
    g_tx.len = 0;
    esnn_device_rx(&g_dev, bytes, n);
}

static pc_resp request(uint8_t cmd, uint16_t seq, const uint8_t *p, uint32_t n)
{
    static uint8_t frame[2200];
    pc_resp r;
    uint32_t len = pc_frame(0xA5, cmd, seq, p, n, frame);
    send(frame, len);
    check_tx(&r);
    return r;
}

/* Reference outputs of a fixed input, computed with the runtime directly. */
static uint8_t g_input[1024];
static uint32_t g_nin, g_ref_len;
static uint8_t g_ref[1024];
static uint16_t g_seq = 1;

/* The reference outputs of the model in `img` for g_input. */
static void set_reference(const uint8_t *img, uint32_t len)
{
    esnn_model m;
    esnn_tensor out;
    uint32_t i, am;
    esnn_init(&m, img, len, g_arena, ARENA_BYTES, NULL);
    esnn_invoke(&m, g_input, g_nin, ESNN_MODE_ONESTEP, 0, NULL);
    esnn_output(&m, &out);
    esnn_output_argmax(&m, &am);
    g_ref[0] = out.dtype;
    g_ref[1] = 0;
    pc_put16(g_ref + 2, out.numel);
    pc_put32(g_ref + 4, am);
    g_ref_len = 12 + out.numel * (out.dtype == ESNN_DTYPE_I32 ? 4u : 1u);
    for (i = 0; i < out.numel; i++) {
        if (out.dtype == ESNN_DTYPE_I32)
            pc_put32(g_ref + 12 + 4 * i, (uint32_t)((const int32_t *)out.data)[i]);
        else
            g_ref[12 + i] = ((const uint8_t *)out.data)[i];
    }
}

static void check_infer(const char *when)
{
    uint8_t p[1024];
    pc_resp r;
    p[0] = 0; p[1] = 0; p[2] = 0; p[3] = 0;
    memcpy(p + 4, g_input, g_nin);
    esnn_device_rx(&g_dev, (const uint8_t *)"", 1);  /* flush a half frame, as hosts do */
    g_seq = (uint16_t)(g_dev.last_seq + 1u);         /* a new request, never a cached one */
    r = request(0x43, g_seq++, NULL, 0);             /* end a fine-tuning session */
    CHECK(r.ok && r.status == 0, "%s: FINETUNE_ABORT status %d", when, r.status);
    r = request(0x20, g_seq, p, 4 + g_nin);
    CHECK(r.ok && r.status == 0 && r.len == g_ref_len && memcmp(r.payload, g_ref, 4) == 0 &&
              memcmp(r.payload + 12, g_ref + 12, r.len - 12) == 0,
          "%s: INFER status %d len %u", when, r.status, r.len);
}

int main(int argc, char **argv)
{
    static uint8_t blob[SLOT_IMAGE], p[1100], body[1200], enc[1400], in[4000];
    unsigned long frames = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000ul;
    unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 1ul;
    uint32_t len, off, next_guess = 0, sess_size = 0, ft_next = 0;
    unsigned long commits = 0, resets = 0, episodes = 0, ft_commits = 0, ft_trained = 0;
    uint8_t active;
    void *raw;
    FILE *fp;
    pc_resp r;
    esnn_info info;
    if (argc < 2) {
        fprintf(stderr, "usage: %s BLOB [FRAMES] [SEED]\n", argv[0]);
        return 2;
    }
    fp = fopen(argv[1], "rb");
    if (!fp) {
        perror(argv[1]);
        return 2;
    }
    len = (uint32_t)fread(blob, 1, sizeof blob, fp);
    fclose(fp);
    if (esnn_validate(blob, len, &info, NULL) != ESNN_OK || len > SLOT_IMAGE ||
        info.input_numel > 1020) {
        fprintf(stderr, "%s: not a usable blob\n", argv[1]);
        return 2;
    }
    g_rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed * 0x2545F4914F6CDD1Dull);
    raw = malloc(ARENA_BYTES + 16);
    g_arena = (uint8_t *)raw + (16 - (uintptr_t)raw % 16) % 16;
    g_fl.mem = g_flash;
    g_fl.bytes = FLASH_BYTES;
    g_fl.budget = -1;
    g_board.name = "fuzz";
    g_board.ram_bytes = 1u << 20;
    g_board.flash = g_flash;
    g_board.flash_bytes = FLASH_BYTES;
    g_board.flash_write = flash_write;
    g_board.flash_ctx = &g_fl;
    g_board.arena = g_arena;
    g_board.arena_bytes = ARENA_BYTES;
    g_board.tx = pc_tx_sink;
    g_board.tx_ctx = &g_tx;
    boot();

    /* commit the blob */
    pc_put32(p, len);
    pc_put32(p + 4, esnn_crc32(0, blob, len));
    r = request(0x10, g_seq++, p, 8);
    for (off = 0; off < len; off += 1020) {
        uint32_t k = len - off < 1020 ? len - off : 1020;
        pc_put32(p, off);
        memcpy(p + 4, blob + off, k);
        r = request(0x11, g_seq++, p, 4 + k);
    }
    r = request(0x12, g_seq++, NULL, 0);
    if (!(r.ok && r.status == 0)) {
        fprintf(stderr, "could not commit the blob (status %d)\n", r.status);
        return 1;
    }
    {
        uint32_t i;
        for (i = 0; i < info.input_numel; i++)
            g_input[i] = (uint8_t)rnd();
        g_nin = info.input_numel;
        set_reference(blob, len);
    }
    check_infer("start");
    active = g_dev.active;
    memcpy(g_snap, g_flash + active * HALF, HALF);

    for (g_frame = 0; g_frame < frames; g_frame++) {
        uint32_t kind = rn(10), n = 0, plen = 0, i, cmd, seq;
        const uint32_t ft_committed0 = g_dev.stats[10];  /* finetunes_committed */
        if (kind == 2 && rn(100) == 0) {       /* a whole upload, CRC right, model wrong */
            static uint8_t img[SLOT_IMAGE];
            uint32_t size, flips, st;
            if (rn(2)) {                       /* the blob, mutated (never bytes 6..7: */
                size = len;                    /* version_minor is free, so still valid) */
                memcpy(img, blob, len);
                flips = 1 + rn(4);
                while (flips--) {
                    uint32_t at = rn(len);
                    if (at != 6 && at != 7)
                        img[at] ^= (uint8_t)(1u + rn(255));
                }
                if (memcmp(img, blob, len) == 0)
                    img[0] ^= 1;
            } else {
                size = 1 + rn(SLOT_IMAGE);
                for (i = 0; i < size; i++)
                    img[i] = (uint8_t)rnd();
            }
            esnn_device_rx(&g_dev, (const uint8_t *)"", 1);
            r = request(0x43, (uint16_t)(g_dev.last_seq + 1u), NULL, 0);  /* as a host does */
            pc_put32(p, size);
            pc_put32(p + 4, esnn_crc32(0, img, size));
            r = request(0x10, (uint16_t)(g_dev.last_seq + 1u), p, 8);
            for (off = 0; r.ok && r.status == 0 && off < size;) {
                uint32_t k = 1 + rn(1020);
                k = k > size - off ? size - off : k;
                pc_put32(p, off);
                memcpy(p + 4, img + off, k);
                r = request(0x11, (uint16_t)(g_dev.last_seq + 1u), p, 4 + k);
                if (r.ok && r.status == 0)
                    off = pc_get32(r.payload);
            }
            r = request(0x12, (uint16_t)(g_dev.last_seq + 1u), NULL, 0);
            st = r.status;
            CHECK(r.ok && (st == 7 || st == 8), "bad image committed? status %u", st);
            g_tx.len = 0;
            episodes++;
        } else if (kind == 0) {                /* random bytes, zeros included */
            n = 1 + rn(80);
            for (i = 0; i < n; i++)
                in[i] = (uint8_t)(rn(6) == 0 ? 0 : rnd());
            send(in, n);
        } else if (kind == 1) {                /* oversized garbage without delimiters */
            n = ESNN_PROTO_MAX_ENCODED - 8 + rn(2500);
            for (i = 0; i < n; i++)
                in[i] = (uint8_t)(1 + rn(255));
            if (rn(2))
                in[n++] = 0;
            send(in, n);
        } else {                               /* a request, maybe damaged */
            static const uint8_t cmds[] = {0x01, 0x02, 0x03, 0x10, 0x11, 0x11, 0x11, 0x12,
                                           0x13, 0x20, 0x20, 0x30, 0x30, 0x40, 0x41, 0x41,
                                           0x42, 0x43};
            cmd = rn(20) == 0 ? rnd() & 0xFF : cmds[rn(sizeof cmds)];
            seq = rn(4) == 0 ? g_dev.last_seq : rnd() & 0xFFFF;  /* dedup hits too */
            switch (cmd) {
            case 0x10:                         /* BEGIN: wrong CRCs, odd sizes */
                plen = 8;
                sess_size = rn(3) == 0 ? len : (rn(4) == 0 ? SLOT_IMAGE + rn(5) - 2 : rn(4096));
                pc_put32(p, sess_size);
                pc_put32(p + 4, rn(2) ? rnd() : esnn_crc32(0, blob, len) ^ (1u + rn(255)));
                next_guess = 0;
                break;
            case 0x11:                         /* CHUNK at the next offset (mostly) */
                plen = 5 + rn(1020);
                off = rn(4) ? next_guess : (rn(2) ? rnd() : rn(sess_size + 2048));
                if (off == next_guess && off < sess_size && rn(4))
                    plen = 4 + 1 + rn(sess_size - off < 1020 ? sess_size - off : 1020);
                pc_put32(p, off);
                for (i = 4; i < plen; i++)
                    p[i] = rn(3) ? blob[(off + i - 4) % len] : (uint8_t)rnd();
                if (rn(8) == 0)                /* the real bytes, but the CRC is wrong */
                    for (i = 4; i < plen; i++)
                        p[i] = blob[(off + i - 4) % len];
                break;
            case 0x20:                         /* INFER with random fields */
                plen = rn(4) ? 4 + g_nin : rn(1025);
                for (i = 0; i < plen; i++)
                    p[i] = (uint8_t)rnd();
                if (plen >= 2 && rn(2)) {
                    p[0] = (uint8_t)rn(3);
                    p[1] = (uint8_t)rn(70);
                }
                break;
            case 0x30:                         /* READ_SLOT */
                plen = rn(8) ? 8 : rn(20);
                for (i = 0; i < plen; i++)
                    p[i] = (uint8_t)rnd();
                if (plen == 8 && rn(2)) {
                    p[0] = (uint8_t)rn(3);
                    pc_put16(p + 2, rn(1100));
                    pc_put32(p + 4, rn(len + 100));
                }
                break;
            case 0x40:                         /* FINETUNE_BEGIN: mostly plausible configs */
                plen = rn(6) ? 24 : rn(40);
                for (i = 0; i < plen; i++)
                    p[i] = (uint8_t)rnd();
                if (plen == 24 && rn(4)) {
                    static const float lrs[] = {0.05f, 0.002f, 1.0f, 1e6f, -1.0f};
                    static const float moms[] = {0.0f, 0.9f, 0.99f, 1.0f};
                    static const float scales[] = {0.0f, 0.001f, 1.0f, 3e38f};
                    float v;
                    uint32_t u;
                    p[0] = (uint8_t)rn(rn(8) ? 2 : 4);        /* mode */
                    p[1] = (uint8_t)rn(rn(8) ? 3 : 5);        /* trainable */
                    p[2] = (uint8_t)rn(rn(8) ? 2 : 4);        /* surrogate */
                    p[3] = (uint8_t)(rn(16) == 0);             /* verify */
                    pc_put16(p + 4, rn(4) ? 1 + rn(6) : rn(70)); /* steps: short runs */
                    pc_put16(p + 6, rn(4));                    /* batch */
                    v = lrs[rn(5)];
                    memcpy(&u, &v, 4);
                    pc_put32(p + 8, u);
                    v = moms[rn(4)];
                    memcpy(&u, &v, 4);
                    pc_put32(p + 12, u);
                    v = rn(2) ? 0.0f : 8.0f;
                    memcpy(&u, &v, 4);
                    pc_put32(p + 16, u);
                    v = scales[rn(4)];
                    memcpy(&u, &v, 4);
                    pc_put32(p + 20, u);
                }
                break;
            case 0x41:                         /* FINETUNE_SAMPLE: mostly the next index */
                plen = rn(5) ? 8 + g_nin : rn(1025);
                for (i = 0; i < plen; i++)
                    p[i] = (uint8_t)rnd();
                if (plen >= 8 && rn(5)) {
                    pc_put32(p, rn(4) ? ft_next : (rn(2) ? rnd() : ft_next + rn(3) - 1));
                    pc_put16(p + 4, rn(8) ? rn(10) : rnd() & 0xFFFF);
                    p[6] = (uint8_t)(rn(8) ? rn(2) : rnd());
                    p[7] = (uint8_t)(rn(8) ? 0 : rnd());
                }
                break;
            case 0x03:                         /* RESET: not too often */
                plen = rn(8) == 0 ? 0 : 1 + rn(3);
                break;
            default:
                plen = rn(4) ? 0 : rn(1025);
                for (i = 0; i < plen; i++)
                    p[i] = (uint8_t)rnd();
                break;
            }
            /* body; kinds 2..5 well-formed, 6 truncated, 7 bad CRC, 8 bit flips,
             * 9 wrong kind / payload_len */
            body[0] = 0xA5;
            body[1] = (uint8_t)cmd;
            pc_put16(body + 2, seq);
            pc_put16(body + 4, 0);
            pc_put16(body + 6, plen);
            memcpy(body + 8, p, plen);
            if (kind == 9) {
                if (rn(2))
                    body[0] = (uint8_t)rnd();
                else
                    pc_put16(body + 6, plen + 1 + rn(100));
            }
            pc_put32(body + 8 + plen, esnn_crc32(0, body, 8 + plen));
            if (kind == 7)
                body[rn(12 + plen)] ^= (uint8_t)(1u << rn(8));
            n = pc_cobs_encode(body, 12 + plen, enc);
            if (kind == 6)
                n = rn(n);
            if (kind == 8) {
                uint32_t flips = 1 + rn(3);
                while (flips--)
                    enc[rn(n)] ^= (uint8_t)(1u << rn(8));
            }
            enc[n++] = 0;
            if (rn(16) == 0) {                 /* delivered in two pieces */
                uint32_t cut = rn(n);
                send(enc, cut);
                esnn_device_rx(&g_dev, enc + cut, n - cut);
            } else {
                send(enc, n);
            }
        }
        /* responses */
        {
            pc_resp last;
            uint32_t nf = check_tx(&last);
            CHECK(nf <= 2, "%u responses to one input", nf);
            if (nf && last.cmd == 0x11 && last.status == 0 && last.len == 4)
                next_guess = pc_get32(last.payload);
            if (nf && last.cmd == 0x12 && last.status == 0) {
                commits++;  /* a genuine commit (astronomically unlikely): new reference */
                active = g_dev.active;
                memcpy(g_snap, g_flash + active * HALF, HALF);
            }
            if (nf && last.cmd == 0x40 && last.status == 0)
                ft_next = 0;
            if (nf && last.cmd == 0x41 && last.status == 0 && last.len == 28) {
                ft_trained += pc_get32(last.payload) > ft_next;
                ft_next = pc_get32(last.payload);
            }
            if (g_dev.stats[10] != ft_committed0) {
                /* a fine-tuned model (a legitimate commit): the new reference */
                uint32_t n_img = pc_get32(last.payload + 8);
                ft_commits++;
                CHECK(nf && last.cmd == 0x42 && last.status == 0 && last.len == 68,
                      "a commit without its answer");
                CHECK(g_dev.active == 1u - active && last.payload[0] == g_dev.active,
                      "FINETUNE_COMMIT went to slot %u", last.payload[0]);
                active = g_dev.active;
                memcpy(g_snap, g_flash + active * HALF, HALF);
                set_reference(g_flash + active * HALF + ESNN_SLOT_HEADER_BYTES, n_img);
            }
        }
        if (esnn_device_reset_requested(&g_dev)) {
            resets++;
            boot();
        }
        CHECK(g_dev.active == active, "active slot changed to %u", g_dev.active);
        CHECK(memcmp(g_snap, g_flash + active * HALF, HALF) == 0, "active slot bytes changed");
        CHECK(g_bad_writes == 0, "%ld flash writes into the active slot", g_bad_writes);
        if (g_frame % 1000 == 999)
            check_infer("periodic");
    }
    check_infer("end");
    {
        pc_resp s = request(0x02, (uint16_t)(g_dev.last_seq + 1u), NULL, 0);
        CHECK(s.ok && s.status == 0 && s.len == 60, "STATS");
        printf("fuzz_protocol: %lu inputs (seed %lu): frames_ok %u frames_bad %u oversized %u "
               "uploads_rejected %u, resets %lu, whole bad uploads %lu, commits %lu, "
               "fine-tuned samples %lu, fine-tuning commits %lu\n",
               frames, seed, pc_get32(s.payload + 12), pc_get32(s.payload + 16),
               pc_get32(s.payload + 20), pc_get32(s.payload + 32), resets, episodes, commits,
               ft_trained, ft_commits);
    }
    free(raw);
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
