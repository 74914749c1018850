/* bench_train.c - repeated fine-tuning steps for callgrind instruction counts.
 *
 *   bench_train BLOB MODE(reversible|stored) TRAINABLE(head|bias|all) STEPS ITER
 *
 * Trains ITER pseudo-random samples (batch 1, lr 0.01, momentum 0.9); setup happens
 * once, so the difference between two ITER values is the cost of the steps alone.
 * Prints the measured scratch peak and the last loss.
 */
#include "edgesnn.h"
#include "test_support.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static esnn_trainer tr;
    esnn_train_config cfg;
    esnn_train_stats need, st;
    esnn_info info;
    esnn_diag d;
    uint32_t blob_n = 0, i, j, seed = 1u;
    long iter, k;
    uint8_t *blob, *raw, *arena, x[4096];
    esnn_status s;
    if (argc != 6) {
        fprintf(stderr, "usage: %s BLOB reversible|stored head|bias|all STEPS ITER\n", argv[0]);
        return 2;
    }
    blob = esnn_test_read_file(argv[1], &blob_n);
    if (!blob || esnn_validate(blob, blob_n, &info, &d) != ESNN_OK || info.input_numel > sizeof x) {
        fprintf(stderr, "cannot use %s\n", argv[1]);
        return 1;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = (uint8_t)(strcmp(argv[2], "stored") == 0 ? ESNN_TRAIN_STORED : ESNN_TRAIN_REVERSIBLE);
    cfg.trainable = (uint8_t)(strcmp(argv[3], "head") == 0 ? ESNN_TRAIN_HEAD
                              : strcmp(argv[3], "bias") == 0 ? ESNN_TRAIN_BIAS : ESNN_TRAIN_ALL);
    cfg.steps = (uint16_t)atoi(argv[4]);
    cfg.lr = 0.01f;
    cfg.momentum = 0.9f;
    iter = atol(argv[5]);
    s = esnn_train_arena_bytes(blob, blob_n, &cfg, &need, &d);
    if (s != ESNN_OK) {
        fprintf(stderr, "arena query: %s\n", esnn_status_str(s));
        return 1;
    }
    raw = (uint8_t *)malloc(need.arena_bytes + 16u);
    arena = raw + ((16u - (uintptr_t)raw % 16u) % 16u);
    s = esnn_train_init(&tr, blob, blob_n, &cfg, arena, need.arena_bytes, &d);
    if (s != ESNN_OK) {
        fprintf(stderr, "init: %s\n", esnn_status_str(s));
        return 1;
    }
    for (k = 0; k < iter; k++) {
        for (j = 0; j < info.input_numel; j++) {
            seed = seed * 1103515245u + 12345u;
            x[j] = (uint8_t)(seed >> 16);
        }
        s = esnn_train_sample(&tr, x, info.input_numel, (uint32_t)k % info.output_numel, &d);
        if (s != ESNN_OK) {
            fprintf(stderr, "sample: %s\n", esnn_status_str(s));
            return 1;
        }
    }
    esnn_train_get_stats(&tr, &st);
    i = st.scratch_peak;
    printf("scratch_peak %u last_loss %g\n", i, (double)st.last_loss);
    free(raw);
    free(blob);
    return 0;
}
