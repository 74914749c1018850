/* fuzz_blob.c - mutation fuzzer for the blob loader and the kernels.
 *
 *   fuzz_blob BLOB_FILE [CASES=20000] [SEED=1]
 *
 * Every mutant lives in a heap buffer of exactly its length and every arena is
 * exactly the size the runtime asked for, so AddressSanitizer reports any read or
 * write past either. Most mutants get their CRC recomputed so they reach the deep
 * validation rules and, when still valid, the kernels. A crash or sanitizer report
 * aborts the run; a returned status outside the documented set is a failure.
 */
#include "edgesnn.h"
#include "test_support.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_state;

static uint32_t rnd(void)
{
    g_state = g_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_state >> 33);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Recompute the header CRC over [16, min(total_length, len)) if the header fits. */
static void fix_crc(uint8_t *b, uint32_t len)
{
    uint32_t total;
    if (len < 64)
        return;
    total = get32(b + 8);
    if (total < 16 || total > len)
        total = len;
    put32(b + 12, esnn_crc32(0, b + 16, total - 16));
}

static uint32_t extreme(void)
{
    static const uint32_t v[] = {0u, 1u, 0xFFu, 0xFFFFu, 0x7FFFFFFFu, 0x80000000u,
                                 0xFFFFFFFFu, 0xFFFFFFF0u, 0x10000u, 64u, 63u, 16u};
    return v[rnd() % (sizeof v / sizeof v[0])];
}

/* Offset of a random field: the header, a layer or a tensor table entry. */
static uint32_t random_field(const uint8_t *b, uint32_t len)
{
    uint32_t which = rnd() % 3, base = 0, size = 64, lto = get32(b + 28), tto = get32(b + 32);
    uint32_t nl = (uint32_t)b[16] | ((uint32_t)b[17] << 8), nt = (uint32_t)b[18] | ((uint32_t)b[19] << 8);
    if (which == 1 && nl && (uint64_t)lto + 64u * nl <= len) {
        base = lto + 64u * (rnd() % nl);
    } else if (which == 2 && nt && (uint64_t)tto + 16u * nt <= len) {
        base = tto + 16u * (rnd() % nt);
        size = 16;
    }
    return base + (rnd() % size) / 2u * 2u;  /* even offset: u16/u32 fields */
}

enum { M_FLIP_CRC, M_FLIP_RAW, M_TRUNC, M_EXTEND, M_FIELD, M_KINDS };
static const char *kind_name[M_KINDS] = {"flip+crc", "flip raw", "truncate", "extend",
                                         "field+crc"};

/* Build a mutant of src into a fresh exactly-sized heap buffer. */
static uint8_t *mutate(const uint8_t *src, uint32_t n, uint32_t *out_len, int *kind)
{
    uint32_t len = n, i, flips, off, r = rnd() % 100;
    uint8_t *b;
    *kind = r < 55 ? M_FLIP_CRC : r < 65 ? M_FLIP_RAW : r < 75 ? M_TRUNC : r < 82 ? M_EXTEND
                                                                           : M_FIELD;
    if (*kind == M_TRUNC)
        len = rnd() % n;
    else if (*kind == M_EXTEND)
        len = n + 1 + rnd() % 256;
    b = (uint8_t *)malloc(len ? len : 1);
    memcpy(b, src, len < n ? len : n);
    for (i = n; i < len; i++)
        b[i] = (uint8_t)rnd();
    if (*kind == M_FLIP_CRC || *kind == M_FLIP_RAW) {
        flips = 1 + rnd() % 8;
        for (i = 0; i < flips; i++)
            b[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
        if (*kind == M_FLIP_CRC)
            fix_crc(b, len);
    } else if (*kind == M_FIELD) {
        off = random_field(b, len);
        if (rnd() % 2 && off + 4 <= len)
            put32(b + off, extreme());
        else if (off + 2 <= len) {
            b[off] = (uint8_t)extreme();
            b[off + 1] = (uint8_t)(extreme() >> 8);
        }
        fix_crc(b, len);
    }
    *out_len = len;
    return b;
}

static int documented_invoke_status(esnn_status s)
{
    /* a validated blob can still be refused per call: arena, steps, mode */
    return s == ESNN_OK || s == ESNN_ERR_ARENA_TOO_SMALL || s == ESNN_ERR_STEPS ||
           s == ESNN_ERR_MODE || s == ESNN_ERR_LIMITS;  /* LIMITS: T*scratch >= 4 GiB */
}

static long g_hist[32], g_invoked, g_fail, g_huge;

/* Exercise one valid mutant: init with exactly the need, invoke in both modes. */
static void run_valid(const uint8_t *b, uint32_t len, const esnn_info *info)
{
    static const esnn_mode modes[2] = {ESNN_MODE_ONESTEP, ESNN_MODE_TSTEP};
    uint32_t mi, si, i, need, steps[2] = {1, 0}, idx;
    esnn_model m;
    esnn_tensor t;
    esnn_status s;
    /* a sequence blob takes T frames in T-step mode: room for the largest T */
    uint32_t in_max = info->input_numel * ESNN_MAX_STEPS;
    uint8_t *in = (uint8_t *)malloc(in_max ? in_max : 1);
    for (i = 0; i < in_max; i++)
        in[i] = (uint8_t)rnd();
    for (mi = 0; mi < 2; mi++) {
        for (si = 0; si < 2; si++) {
            uint8_t *arena;
            s = esnn_arena_bytes(b, len, modes[mi], steps[si], &need, NULL);
            if (s != ESNN_OK) {
                if (!documented_invoke_status(s)) {
                    printf("FAIL: arena_bytes of a valid blob returned %d\n", (int)s);
                    g_fail++;
                }
                continue;
            }
            if (need > (64u << 20)) {
                /* a mutated scratch_bytes: do not allocate gigabytes, but check that a
                 * smaller arena is refused with the exact numbers */
                esnn_diag d;
                uint8_t small[64];
                s = esnn_init(&m, b, len, small + (16u - ((uintptr_t)small & 15u)) % 16u, 32, &d);
                if (s != ESNN_ERR_ARENA_TOO_SMALL || d.actual != 32u) {
                    printf("FAIL: small arena for a huge plan gave %d\n", (int)s);
                    g_fail++;
                }
                g_huge++;
                continue;
            }
            arena = (uint8_t *)malloc(need ? need : 1);  /* glibc/ASan: 16-aligned */
            s = esnn_init(&m, b, len, arena, need, NULL);
            if (s == ESNN_OK) {
                uint32_t frames = 1;
                if ((info->flags & ESNN_HDR_SEQUENCE) && modes[mi] == ESNN_MODE_TSTEP)
                    frames = steps[si] ? steps[si] : info->default_steps;
                s = esnn_invoke(&m, in, info->input_numel * frames, modes[mi], steps[si], NULL);
            }
            if (s == ESNN_OK) {
                g_invoked++;
                if (esnn_output(&m, &t) != ESNN_OK || t.numel != info->output_numel ||
                    esnn_output_argmax(&m, &idx) != ESNN_OK || idx >= t.numel) {
                    printf("FAIL: output after a successful invoke\n");
                    g_fail++;
                }
            } else if (!documented_invoke_status(s) && s != ESNN_ERR_ALIGN) {
                printf("FAIL: invoke of a valid blob returned %d (%s)\n", (int)s,
                       esnn_status_str(s));
                g_fail++;
            }
            free(arena);
        }
    }
    free(in);
}

int main(int argc, char **argv)
{
    long cases = argc > 2 ? atol(argv[2]) : 20000, c, kinds[M_KINDS] = {0}, valid = 0;
    uint32_t n = 0, len;
    uint8_t *src, *b;
    esnn_info info;
    esnn_status s;
    int kind, i;
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_blob BLOB_FILE [CASES] [SEED]\n");
        return 2;
    }
    g_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1u;
    src = esnn_test_read_file(argv[1], &n);
    if (!src) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    s = esnn_validate(src, n, &info, NULL);
    if (s != ESNN_OK) {
        printf("FAIL: seed blob is invalid: %d (%s)\n0 passed, 1 failed\n", (int)s,
               esnn_status_str(s));
        return 1;
    }
    run_valid(src, n, &info);
    for (c = 0; c < cases; c++) {
        uint32_t need;
        b = mutate(src, n, &len, &kind);
        kinds[kind]++;
        s = esnn_validate(b, len, &info, NULL);
        if (s > 0 || s < ESNN_ERR_STATE) {
            printf("FAIL: undocumented status %d\n", (int)s);
            g_fail++;
        } else {
            g_hist[-s]++;
        }
        if (esnn_arena_bytes(b, len, ESNN_MODE_TSTEP, 0, &need, NULL) == ESNN_OK && s != ESNN_OK) {
            printf("FAIL: arena_bytes accepted a blob validate refused\n");
            g_fail++;
        }
        if (s == ESNN_OK) {
            valid++;
            run_valid(b, len, &info);
        }
        free(b);
    }
    printf("mutants: %ld (", cases);
    for (i = 0; i < M_KINDS; i++)
        printf("%s%s %ld", i ? ", " : "", kind_name[i], kinds[i]);
    printf(")\nstill valid: %ld, successful invokes: %ld, plans over 64 MiB (not run): %ld\n"
           "validate outcomes:\n", valid, g_invoked, g_huge);
    for (i = 0; i < 21; i++) {
        if (g_hist[i])
            printf("  %4d %-24s %ld\n", -i, esnn_status_str((esnn_status)-i), g_hist[i]);
    }
    free(src);
    printf("%ld passed, %ld failed\n", cases - g_fail, g_fail);
    return g_fail ? 1 : 0;
}
