/* cm_io.c - blocking UART text output for banners and fault reports. */
#include "cortexm.h"

void cm_puts(const char *s)
{
    while (*s)
        board_uart_putc((uint8_t)*s++);
}

void cm_put_u32(uint32_t v)
{
    char buf[12], *p = buf + sizeof buf;
    *--p = '\0';
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    cm_puts(p);
}
