/* bench_invoke.c - repeated inference for timing and callgrind instruction counts.
 *
 *   bench_invoke BLOB INPUT_FILE MODE(onestep|tstep) STEPS ITER
 *
 * INPUT_FILE holds one quantised input (input_numel bytes). Prints the argmax and
 * the output totals of the last run. Setup (validation, CRC) happens once, outside
 * the loop, as on a device. Also prints the wall time per inference of the loop
 * (CLOCK_MONOTONIC): the C core alone, without any Python call overhead.
 */
#define _POSIX_C_SOURCE 199309L
#include "edgesnn.h"
#include "test_support.h"
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, esnn_status s, const esnn_diag *d)
{
    fprintf(stderr, "%s: %s (layer %d, tensor %d, expected %u, actual %u)\n", what,
            esnn_status_str(s), d->layer, d->tensor, d->expected, d->actual);
    return 1;
}

int main(int argc, char **argv)
{
    uint32_t blob_n = 0, in_n = 0, need = 0, steps, i, idx = 0;
    long iter, k;
    uint8_t *blob, *input, *raw, *arena;
    esnn_mode mode;
    esnn_model m;
    esnn_diag d;
    esnn_tensor out;
    esnn_status s;
    struct timespec t0, t1;
    if (argc != 6) {
        fprintf(stderr, "usage: bench_invoke BLOB INPUT_FILE onestep|tstep STEPS ITER\n");
        return 2;
    }
    mode = strcmp(argv[3], "tstep") == 0 ? ESNN_MODE_TSTEP : ESNN_MODE_ONESTEP;
    steps = (uint32_t)strtoul(argv[4], NULL, 10);
    iter = atol(argv[5]);
    blob = esnn_test_read_file(argv[1], &blob_n);
    input = esnn_test_read_file(argv[2], &in_n);
    if (!blob || !input) {
        fprintf(stderr, "cannot read %s\n", !blob ? argv[1] : argv[2]);
        return 2;
    }
    s = esnn_arena_bytes(blob, blob_n, mode, steps, &need, &d);
    if (s != ESNN_OK)
        return fail("arena size", s, &d);
    raw = (uint8_t *)malloc(need + ESNN_ARENA_ALIGN);
    arena = raw + (ESNN_ARENA_ALIGN - ((uintptr_t)raw % ESNN_ARENA_ALIGN)) % ESNN_ARENA_ALIGN;
    s = esnn_init(&m, blob, blob_n, arena, need, &d);
    if (s != ESNN_OK)
        return fail("init", s, &d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (k = 0; k < iter; k++) {
        s = esnn_invoke(&m, input, in_n, mode, steps, &d);
        if (s != ESNN_OK)
            return fail("invoke", s, &d);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    esnn_output(&m, &out);
    esnn_output_argmax(&m, &idx);
    printf("arena %u bytes, %ld iterations, mode %s, T %u\nargmax %u\n", need, iter,
           mode == ESNN_MODE_TSTEP ? "tstep" : "onestep", m.last_steps, idx);
    if (iter > 0)
        printf("ns_per_inference %.1f\n",
               ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                   (double)iter);
    printf("totals");
    for (i = 0; i < out.numel; i++) {
        if (out.dtype == ESNN_DTYPE_U8) {
            printf(" %u", ((const uint8_t *)out.data)[i]);
        } else {
            int32_t v;
            memcpy(&v, (const uint8_t *)out.data + 4u * i, 4);
            printf(" %ld", (long)v);
        }
    }
    printf("\n");
    free(raw);
    free(blob);
    free(input);
    return 0;
}
