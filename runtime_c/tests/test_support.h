/* test_support.h - what the C test programs share: a CHECK macro that counts passes
 * and failures (each program defines `g_pass` and `g_fail` once, e.g. in its
 * *_support.c, and ends with the "N passed, N failed" line pytest reads), and reading
 * a whole file into memory. */
#ifndef ESNN_TEST_SUPPORT_H
#define ESNN_TEST_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (cond) {                                                   \
            g_pass++;                                                 \
        } else {                                                      \
            g_fail++;                                                 \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            printf(__VA_ARGS__);                                      \
            printf("\n");                                             \
        }                                                             \
    } while (0)

/* The whole file in a malloc'd buffer of exactly its size (so ASan catches any read
 * past it), or NULL; *n receives the length. */
static inline uint8_t *esnn_test_read_file(const char *path, uint32_t *n)
{
    FILE *f = fopen(path, "rb");
    long sz;
    uint8_t *b;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (uint8_t *)malloc(sz > 0 ? (size_t)sz : 1);
    if (sz < 0 || fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    *n = (uint32_t)sz;
    return b;
}

#endif
