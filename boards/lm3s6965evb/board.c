/* board.c - lm3s6965evb (Stellaris LM3S6965, Cortex-M3): PL011 UART0 at 0x4000C000.
 * The system clock stays at its reset value: in QEMU SYSDIV 15, i.e. 80 ns per SysTick
 * count (see the Makefile's TICK_Q32). */
#include "cortexm.h"

#define UART0 0x4000C000u
#define UART_DR CM_REG(UART0 + 0x00u)
#define UART_FR CM_REG(UART0 + 0x18u)
#define UART_IBRD CM_REG(UART0 + 0x24u)
#define UART_FBRD CM_REG(UART0 + 0x28u)
#define UART_LCRH CM_REG(UART0 + 0x2Cu)
#define UART_CR CM_REG(UART0 + 0x30u)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define RCGC1 CM_REG(0x400FE104u)
#define RCGC2 CM_REG(0x400FE108u)

void board_init(void)
{
    RCGC1 |= 1u;             /* UART0 clock (a real chip needs it; QEMU ignores it) */
    RCGC2 |= 1u;             /* GPIOA */
    UART_CR = 0u;
    UART_IBRD = 6u;          /* 115200 baud from 12 MHz (ignored by QEMU) */
    UART_FBRD = 33u;
    UART_LCRH = 0x70u;       /* 8N1, FIFOs on */
    UART_CR = 0x301u;        /* UARTEN, TXE, RXE */
}

int board_uart_getc(void)
{
    if (UART_FR & FR_RXFE)
        return -1;
    return (int)(UART_DR & 0xFFu);
}

void board_uart_putc(uint8_t c)
{
    while (UART_FR & FR_TXFF) {
    }
    UART_DR = c;
}
