/* board.c - netduinoplus2 (STM32F405, Cortex-M4): USART1 at 0x40011000, 168 MHz system
 * clock in QEMU (5.95 ns per SysTick count). QEMU drops bytes the USART receives before
 * UE and RE are set, so the host waits for the banner before sending. */
#include "cortexm.h"

#define RCC_APB2ENR CM_REG(0x40023844u)
#define USART1 0x40011000u
#define USART_SR CM_REG(USART1 + 0x00u)
#define USART_DR CM_REG(USART1 + 0x04u)
#define USART_BRR CM_REG(USART1 + 0x08u)
#define USART_CR1 CM_REG(USART1 + 0x0Cu)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)

void board_init(void)
{
    RCC_APB2ENR |= 1u << 4;        /* USART1 clock (QEMU ignores it) */
    USART_BRR = 84000000u / 115200u;
    USART_CR1 = (1u << 13) | (1u << 3) | (1u << 2); /* UE, TE, RE */
}

int board_uart_getc(void)
{
    if (!(USART_SR & SR_RXNE))
        return -1;
    return (int)(USART_DR & 0xFFu);
}

void board_uart_putc(uint8_t c)
{
    while (!(USART_SR & SR_TXE)) {
    }
    USART_DR = c;
}
