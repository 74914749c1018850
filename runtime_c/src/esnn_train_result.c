/* esnn_train_result.c - the fine-tuned blob: fresh CRC over the working copy, then the
 * full validation a loader would do, so what leaves the trainer always loads. */
#include "esnn_train_internal.h"

esnn_status esnn_train_result(esnn_trainer *tr, const uint8_t **blob, uint32_t *len,
                              esnn_diag *diag)
{
    uint32_t crc;
    if (!tr || !blob || !len)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    *blob = NULL;
    *len = 0;
    if (!tr->ready || tr->failed)
        return esnn_fail(diag, ESNN_ERR_STATE, -1, -1, 1, 0);
    /* header offset 12: CRC-32 of bytes [16, total_length) (format.md 2) */
    crc = esnn_crc32(0, tr->blob + 16, tr->blob_len - 16u);
    esnn_wr_u32(tr->blob + 12, crc);
    {
        esnn_status s = esnn_validate(tr->blob, tr->blob_len, NULL, diag);
        if (s != ESNN_OK)
            return s;
    }
    *blob = tr->blob;
    *len = tr->blob_len;
    return esnn_ok(diag);
}
