/* esnn_device_cobs_encode.c - Consistent Overhead Byte Stuffing, encoder (no delimiter). */
#include "esnn_device_internal.h"

uint32_t esnn_cobs_encode(const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint32_t code_at = 0, o = 1, i;
    uint8_t code = 1;
    for (i = 0; i < len; i++) {
        if (in[i] == 0u) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFFu) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
                if (i + 1u == len)  /* a full block ends the data: no empty tail block */
                    return o - 1u;
            }
        }
    }
    out[code_at] = code;
    return o;
}
