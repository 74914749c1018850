/* infer_main.c - the inference-only build for the size report: validate and bind a
 * model that is already in flash (its bytes are not part of this binary: the model's
 * address comes from the linker, like a separately flashed model partition), read one
 * input from the UART, invoke, print the argmax. No protocol, no upload, no ticks. */
#include "cortexm.h"
#include "edgesnn.h"

#include <stddef.h>

extern const uint8_t cm_model_partition[]; /* board.ld: the model partition in ROM */

static uint8_t g_arena[BOARD_ARENA_BYTES] __attribute__((aligned(16)));

int main(void)
{
    esnn_model m;
    esnn_info info;
    static uint8_t input[1024];
    const uint8_t *blob = cm_model_partition;
    uint32_t len = (uint32_t)blob[8] | (uint32_t)blob[9] << 8 | (uint32_t)blob[10] << 16 |
                   (uint32_t)blob[11] << 24;
    board_init();
    if (esnn_validate(blob, len, &info, NULL) != ESNN_OK ||
        esnn_init(&m, blob, len, g_arena, sizeof g_arena, NULL) != ESNN_OK) {
        cm_puts("no model\r\n");
        for (;;) {
        }
    }
    cm_puts("edgesnn-" BOARD_NAME " ready infer\r\n");
    for (;;) {
        uint32_t i, cls;
        for (i = 0; i < info.input_numel && i < sizeof input; i++) {
            int c;
            while ((c = board_uart_getc()) < 0) {
            }
            input[i] = (uint8_t)c;
        }
        if (esnn_invoke(&m, input, info.input_numel, ESNN_MODE_ONESTEP, 0, NULL) == ESNN_OK &&
            esnn_output_argmax(&m, &cls) == ESNN_OK)
            cm_put_u32(cls);
        cm_puts("\r\n");
    }
}
