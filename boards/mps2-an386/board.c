/* board.c - mps2-an386 (Cortex-M4 FPGA image on MPS2): CMSDK APB UART0 at 0x40004000,
 * 25 MHz system clock (40 ns per SysTick count in QEMU). */
#include "cortexm.h"

#define UART0 0x40004000u
#define UART_DATA CM_REG(UART0 + 0x00u)
#define UART_STATE CM_REG(UART0 + 0x04u)
#define UART_CTRL CM_REG(UART0 + 0x08u)
#define UART_BAUDDIV CM_REG(UART0 + 0x10u)
#define STATE_TXFULL (1u << 0)
#define STATE_RXFULL (1u << 1)

void board_init(void)
{
    UART_BAUDDIV = 25000000u / 115200u; /* QEMU wants >= 16 and ignores the rate */
    UART_CTRL = 3u;                     /* TX and RX enable */
    (void)UART_DATA;  /* QEMU quirk: without this read the first byte arrives ~1 s late */
}

int board_uart_getc(void)
{
    if (!(UART_STATE & STATE_RXFULL))
        return -1;
    return (int)(UART_DATA & 0xFFu);
}

void board_uart_putc(uint8_t c)
{
    while (UART_STATE & STATE_TXFULL) {
    }
    UART_DATA = c;
}
