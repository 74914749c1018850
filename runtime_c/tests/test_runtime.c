/* test_runtime.c - the C runtime's unit tests: hand-computed outputs (test_kernels.c),
 * random nets against a naive reference (test_reference.c), one provoking blob per
 * status (test_validate.c), the API contract (test_api.c) and the streaming mode
 * (test_stream.c), in this order (they
 * share the RNG of test_runtime_support.c). The fuzz and bench seed blobs are written
 * by write_seeds.c.
 *
 *   test_runtime      run all tests, end with "N passed, M failed"
 */
#include "test_runtime.h"

int main(void)
{
    test_crc_and_strings();
    test_dense_if();
    test_conv2d();
    test_sumpool();
    test_add();
    test_lif();
    test_causal_neurons();
    test_causal_flags();
    test_couple_toy();
    test_couple_wrap();
    test_random_couple_nets();
    test_couple_hostile();
    test_random_nets();
    test_malformed_header();
    test_malformed_tables();
    test_malformed_models();
    test_api();
    test_argmax_ties();
    test_stream_equals_sequence();
    test_stream_long();
    test_stream_saturation();
    test_stream_errors();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
