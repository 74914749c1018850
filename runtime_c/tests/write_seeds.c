/* write_seeds.c - seed blobs for the fuzzer and the benchmark, from the test builder's
 * fixed-seed random models (test_runtime_support.c):
 *
 *   write_seeds --write-blob P          the random conv+pool+add+dense blob (fuzz seed)
 *   write_seeds --write-bench-blob P    an MNIST-sized conv net (bench_invoke)
 *   write_seeds --write-couple-blob P [V]   random reversible net V (0 dense, 1 conv)
 */
#include "test_runtime.h"

/* Write a built blob to `path` (the fuzz and bench seeds) and free it. */
static int save_blob(const char *path, blob_t b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b.p, 1, b.n, f) == b.n;
    if (f)
        fclose(f);
    if (ok)
        printf("wrote %s (%u bytes)\n", path, b.n);
    else
        fprintf(stderr, "cannot write %s\n", path);
    free(b.p);
    return ok ? 0 : 1;
}

static int write_blob(const char *path)
{
    return save_blob(path, base_blob());
}

/* An MNIST-sized conv net (1x28x28 -> conv8 -> pool -> conv16 -> pool -> dense 10)
 * with random weights, for bench_invoke. */
static int write_bench_blob(const char *path)
{
    tb_model m;
    blob_t b;
    int x, t1, t2, t3, t4, t5, l;
    g_rng = 0xBE7C4u;
    tb_init(&m);
    x = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 1, 28, 28);
    t1 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 8, 28, 28);
    t2 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 8, 14, 14);
    t3 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 16, 14, 14);
    t4 = tb_add_tensor(&m, ESNN_DTYPE_U8, 3, 16, 7, 7);
    t5 = tb_add_tensor(&m, ESNN_DTYPE_I32, 1, 10, 1, 1);
    l = tb_add_layer(&m, ESNN_OP_CONV2D, ESNN_NEURON_IF, x, -1, t1);
    tb_geom(&m, l, 3, 3, 1, 1, 1, 1, 1, 1);
    rand_params(&m, l, 8 * 9, 60, 3000, 13, 15);
    l = tb_add_layer(&m, ESNN_OP_SUMPOOL2D, 0, t1, -1, t2);
    tb_geom(&m, l, 2, 2, 2, 2, 0, 0, 0, 0);
    l = tb_add_layer(&m, ESNN_OP_CONV2D, ESNN_NEURON_IF, t2, -1, t3);
    tb_geom(&m, l, 3, 3, 1, 1, 1, 1, 1, 1);
    rand_params(&m, l, 16 * 8 * 9, 60, 50, 6, 8);
    l = tb_add_layer(&m, ESNN_OP_SUMPOOL2D, 0, t3, -1, t4);
    tb_geom(&m, l, 2, 2, 2, 2, 0, 0, 0, 0);
    l = tb_add_layer(&m, ESNN_OP_DENSE, 0, t4, -1, t5);
    rand_params(&m, l, 10 * 784, 60, 50, 0, 0);
    b = build(&m);
    tb_free(&m);
    return save_blob(path, b);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-bench-blob") == 0)
        return write_bench_blob(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--write-blob") == 0)
        return write_blob(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--write-couple-blob") == 0)
        return save_blob(argv[2], couple_variant(argc == 4 ? atoi(argv[3]) : 1, NULL));
    fprintf(stderr, "usage: write_seeds --write-blob P | --write-bench-blob P | "
                    "--write-couple-blob P [V]\n");
    return 2;
}
