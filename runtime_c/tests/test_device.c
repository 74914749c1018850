/* test_device.c - unit tests of the device side of the serial protocol
 * (docs/protocol.md) with a RAM flash and a tx capture buffer: the protocol
 * (test_device_protocol.c) and fine-tuning (test_device_finetune.c), in this order.
 *
 *   test_device BLOB     BLOB: a valid .esnn (e.g. ../edgesnn/models/digits.esnn)
 *
 * Ends with "N passed, M failed"; exits non-zero on any failure. */
#include "test_device.h"

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
