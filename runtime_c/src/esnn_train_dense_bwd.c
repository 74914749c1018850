/* esnn_train_dense_bwd.c - gradients of a dense layer a = T*b + mult * W.x:
 * d W[c][j] += da[c] * mult * x[j] and d x[j] = sum_c W[c][j] * da[c]. */
#include "esnn_train_internal.h"

void esnn_tr_dense_bwd(const int8_t *w, uint32_t rows, uint32_t cols, const float *da,
                       const uint8_t *x, float mult, float *gw, float *dx, int acc)
{
    uint32_t c, j;
    if (gw)
        for (c = 0; c < rows; c++) {
            const float g = da[c] * mult;
            float *row = gw + c * cols;
            for (j = 0; j < cols; j++)
                row[j] += g * (float)x[j];
        }
    if (dx)
        for (j = 0; j < cols; j++) {
            float sum = 0.0f;
            for (c = 0; c < rows; c++)
                sum += (float)w[c * cols + j] * da[c];
            dx[j] = acc ? dx[j] + sum : sum;
        }
}
