/* esnn_device_cobs_decode.c - COBS decoder; works in place (the output never overtakes
 * the input). Lenient about a redundant 0x01 block after a final 0xFF block. */
#include "esnn_device_internal.h"

int32_t esnn_cobs_decode(const uint8_t *in, uint32_t len, uint8_t *out)
{
    uint32_t i = 0, o = 0, k;
    if (len == 0u || len > 0x7FFFFFFFu)
        return -1;
    while (i < len) {
        uint32_t code = in[i++];
        if (code == 0u || i + code - 1u > len)
            return -1;
        for (k = 1; k < code; k++) {
            if (in[i] == 0u)
                return -1;
            out[o++] = in[i++];
        }
        if (code != 0xFFu && i < len)
            out[o++] = 0;
    }
    return (int32_t)o;
}
