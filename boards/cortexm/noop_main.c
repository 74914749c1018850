/* noop_main.c - the baseline for the framework cost (as TFLM measures it): the same
 * startup, fault handler and UART driver, and a main that only echoes the UART. The
 * framework cost of a build is its size minus this one's on the same board. */
#include "cortexm.h"

int main(void)
{
    board_init();
    cm_puts("edgesnn-" BOARD_NAME " ready noop\r\n");
    for (;;) {
        int c = board_uart_getc();
        if (c >= 0)
            board_uart_putc((uint8_t)c);
    }
}
